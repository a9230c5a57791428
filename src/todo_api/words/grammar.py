"""The grammar of what people type (reader.py reads with it): one method per rule of the
grammar over a text's tokens (tokens.py reads them and looks their words up), each answering
what it read and the next token. Its constants and patterns are the reader's too. See
reader.py's opening lines for what it reads, and why a grammar of our own rather than a parser
library."""

import re
from calendar import monthrange
from datetime import date, datetime, time, timedelta

from todo_api.words.lexicon import fold
from todo_api.words.tokens import Words

Due = date | datetime
PRIORITIES = {"1": "high", "2": "medium", "3": "low", "4": "none"}
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
TONIGHT = time(19, 0)
NOON = time(12, 0)
# The parts of the day and their times (`tomorrow morning`, `heute Abend`, `esta mañana`).
PARTS = {"MORNING": time(9, 0), "AFTERNOON": time(15, 0), "EVENING": TONIGHT}
# The dates the reader reads: one outside is refused, and nothing it does (a recurrence's
# first occurrence included) walks between a far date and now.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)
# How far after its first possible day a recurrence's first occurrence is looked for: every
# rule the grammar writes has one within eight years (29 February).
HORIZON = timedelta(days=3653)
# The longest phrase handed to dateparser: no date is written longer, and its work grows
# with the text.
DATEPARSER_LONGEST = 64

_YEAR_FIRST = re.compile(r"^(\d{4})([-/])(\d{1,2}|[^\W\d]+)\2(\d{1,2})$")
_MONTH_NAMED = re.compile(r"^(\d{1,2})/([^\W\d]+)/(\d{4})$")
_NUMERIC = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})(?:\2(\d{4}|\d{2}))?\.?$")
# A time of day in one word: 5pm, 5:30pm, 17:15, 9h, 8h10, 8h10m, 9u (Dutch); 17.30 is a time
# only before am/pm or an o'clock word (`17.30 Uhr`): alone, it may be a version or a price.
_TIME = re.compile(
    r"^(\d{1,2})(?:[:.h](\d{2}))?(am|pm|a\.m\.|p\.m\.|a|p)$|^(\d{1,2}):(\d{2})$"
    r"|^(\d{1,2})[hu](?:(\d{2})m?)?$|^(\d{1,2})\.(\d{2})$"
)
# A day and its month in one word: 15Sep, 15.Sep, 15juin.
_GLUED = re.compile(r"^(\d{1,2})\.?([^\W\d]{3,})$")
_MILITARY = re.compile(r"^\d{3,4}$")
# A date with its year and a time glued on by a dot: 05/31/2024.14:15.
_DATE_TIME = re.compile(r"^(\d{1,2}/\d{1,2}/\d{4})\.([01]?\d|2[0-3]):([0-5]\d)$")
_AMPM = re.compile(r"^(am|pm|a\.m\.|p\.m\.)$")
# am/pm written as two words: `3:30 p m`, `3 p. m.`.
_AMPM_SPLIT = re.compile(r"^([ap])\.?$")
MARKS = frozenset(",.!?;:")
SPACE_BEFORE_MARK = re.compile(r"^\s+(?=[,.!?;:])")


class Far(Exception):
    """A phrase's date is outside FIRST_DAY..LAST_DAY (the phrase ends at token `end`)."""

    def __init__(self, end: int) -> None:
        self.end = end


def within(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


class Grammar(Words):
    """The grammar's rules over one text's tokens; each returns (what it read, next index)."""

    # -- times --------------------------------------------------------------------------

    def ampm(self, i: int) -> tuple[bool, int] | None:
        """`am`, `pm`, `a.m.`, `p.m.`, or the same in two words (`p m`, `p. m.`): whether it
        is p.m., and the next token."""
        text = self.text(i)
        if not text:
            return None
        if _AMPM.match(text):
            if text.endswith("."):  # "p.m.": its last dot is the word's
                self.dot_ends.add(i)
            return text.startswith("p"), i + 1
        second = self.text(i + 1)
        if (first := _AMPM_SPLIT.match(text)) and second and second.rstrip(".") == "m":
            if second.endswith("."):
                self.dot_ends.add(i + 1)
            return first[1] == "p", i + 2
        return None

    def clock(self, i: int, *, bare: bool = False) -> tuple[time, int] | None:
        """A time of day; `bare` accepts a plain hour and an hour with a dot (after `at`, or
        after a day). Minutes before or after an hour move it: `20 past 3`, `15 to noon`,
        `mezzogiorno meno un quarto`, `alle 3 e 20`."""
        if (count := self.minutes(i)) and (
            way := self.word(count[1], "TO") or self.word(count[1], "PAST")
        ):
            # `10 to 3pm` is a range too: minutes to an hour are said as minutes (`a quarter
            # to`, `15 minutes to`) or before a named hour (`15 to noon`).
            named = self.word(way[1], "NOON") or self.word(way[1], "MIDNIGHT")
            hour = self.plain_clock(way[1], bare=True)
            if hour and (way[0] == "PAST" or count[2] or named):
                return _moved(hour[0], count[0] * (-1 if way[0] == "TO" else 1)), hour[1]
        found = self.plain_clock(i, bare=bare)
        way = found and (self.word(found[1], "MINUS") or self.word(found[1], "PLUS"))
        if found and way and (count := self.minutes(way[1])):
            return _moved(found[0], count[0] * (-1 if way[0] == "MINUS" else 1)), count[1]
        return found

    def minutes(self, i: int) -> tuple[int, int, bool] | None:
        """A count of minutes (`20`, `15 minutes`, `a quarter`, `half`), where it ends, and
        whether it was said as minutes."""
        if found := self.word(i, "QUARTER"):
            return 15, found[1], True
        if found := self.word(i, "HALF"):
            return 30, found[1], True
        if count := self.number(i, 1, 59):
            if said := self.word(count[1], "MINUTES"):
                return count[0], said[1], True
            return count[0], count[1], False
        return None

    def plain_clock(self, i: int, *, bare: bool = False) -> tuple[time, int] | None:
        text = self.text(i)
        if text and (match := _TIME.match(text)):
            if match[1]:
                hour, minute = int(match[1]), int(match[2] or 0)
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if match[3].startswith("p") else 0)
            else:
                hour = int(match[4] or match[6] or match[8])
                minute = int(match[5] or match[7] or match[9] or 0)
                if 1 <= hour <= 12 and (half := self.ampm(i + 1)):  # "9:00 AM", "8h10 PM"
                    hour = hour % 12 + (12 if half[0] else 0)
                    i = half[1] - 1
                elif oclock := self.word(i + 1, "OCLOCK"):  # "17.30 Uhr"
                    i = oclock[1] - 1
                elif match[8] and not bare:  # "17.30" alone: not a time
                    return None
            if hour < 24 and minute < 60:
                return time(hour, minute), i + 1
            return None
        if found := self.word(i, "NOON"):
            return NOON, found[1]
        if found := self.word(i, "MIDNIGHT"):
            return time(0, 0), found[1]
        if text and _MILITARY.match(text) and (half := self.ampm(i + 1)):  # "330 p.m."
            hour, minute = int(text[:-2]), int(text[-2:])
            if 1 <= hour <= 12 and minute < 60:
                return time(hour % 12 + (12 if half[0] else 0), minute), half[1]
            return None
        if number := self.number(i, 0, 24):
            if 1 <= number[0] <= 12 and (half := self.ampm(number[1])):
                return time(number[0] % 12 + (12 if half[0] else 0)), half[1]
            if oclock := self.word(number[1], "OCLOCK"):
                if number[0] >= 24:
                    return None
                if 1 <= number[0] <= 12 and (half := self.ampm(oclock[1])):  # "3 oclock pm"
                    return time(number[0] % 12 + (12 if half[0] else 0)), half[1]
                if minute_ := self.number(oclock[1], 0, 59):  # "15 uhr 20"
                    return time(number[0], minute_[0]), minute_[1]
                return time(number[0]), oclock[1]
            if bare and number[0] < 24:
                return time(number[0]), number[1]
        return None

    def at_time(self, i: int, *, bare: bool = False) -> tuple[time, int] | None:
        """A time, after `at` or not, and a word of approximation before or after it (`zirka
        15 Uhr`, `um ca. 15h`, `15 Uhr in etwa`), which leaves with it."""
        found = self.plain_at_time(i, bare=bare)
        if not found and (about := self.word(i, "ABOUT")):  # "zirka", "so ungefähr"
            about = self.word(about[1], "ABOUT") or about
            found = self.plain_at_time(about[1])
        if found and (after := self.word(found[1], "ABOUT_AFTER")):
            return found[0], after[1]
        return found

    def plain_at_time(self, i: int, *, bare: bool = False) -> tuple[time, int] | None:
        if at := self.word(i, "AT"):
            j = self.optional(at[1], "ABOUT")
            if found := self.clock(j, bare=True):
                return found
            text = self.text(j) or ""
            if _MILITARY.match(text) and int(text[:-2]) < 24 and int(text[-2:]) < 60:
                return time(int(text[:-2]), int(text[-2:])), j + 1  # "at 1030"
        return self.clock(i, bare=bare)

    # -- days ---------------------------------------------------------------------------

    def next_weekday(self, weekday: int, *, today_included: bool = True) -> date:
        ahead = (weekday - self.today.weekday()) % 7
        if ahead == 0 and not today_included:
            ahead = 7
        return self.today + timedelta(days=ahead)

    def next_day_of_month(self, day: int) -> date:
        year, month = self.today.year, self.today.month
        for _ in range(13):
            if day <= monthrange(year, month)[1]:
                candidate = date(year, month, day)
                if candidate >= self.today:
                    return candidate
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        raise ValueError(day)

    def next_date(self, month: int, day: int, year: int | None) -> date | None:
        try:
            if year is not None:
                return date(year, month, day)
            for year in range(self.today.year, self.today.year + 9):
                if day <= monthrange(year, month)[1] and date(year, month, day) >= self.today:
                    return date(year, month, day)
        except ValueError:
            pass
        return None

    def year(self, i: int) -> tuple[int | None, int]:
        j = self.comma(i)  # "jan 4, 2027"
        j = self.optional(j, "OF")  # "4 de enero de 2027"
        if found := self.number(j, 1900, 2200):
            return found
        return None, i

    def comma(self, i: int) -> int:
        return i + 1 if self.text(i) == "," else i

    def part(self, i: int, *, alone: bool = False) -> tuple[time, int] | None:
        """A part of the day: `morning` 09:00, `afternoon` 15:00, `evening` 19:00; `alone`:
        only as said with its preposition (`in the afternoon`, `am Abend`, `in serata`),
        which is read without a day too (`evening` alone may be a noun: `Evening class`)."""
        if found := self.word(i, lambda s: s.startswith("~") or (not alone and s in PARTS)):
            return PARTS[found[0].lstrip("~")], found[1]
        return None

    def month_day(self, i: int) -> tuple[date, int] | None:
        """`jan 4 [2027]`, `4 Jan`, `4. Januar`, `4 de enero`, `le 4 janvier`, `15Sep`,
        `March, 6th 2016`."""
        text = self.text(i)
        if text and (glued := _GLUED.match(text)) and (named := self.month_named(glued[2])):
            year, end = self.year(i + 1)
            if found := self.next_date(named, int(glued[1]), year):
                return found, end
            return None
        if month := self.month(i):
            j = self.optional(self.comma(month[1]), "ON")
            day = self.ordinal(j) or self.number(j, 1, 31)
            if day:
                year, end = self.year(day[1])
                if found := self.next_date(month[0], day[0], year):
                    return found, end
        day = self.ordinal(i) or self.number(i, 1, 31)
        if day:
            j = self.optional(day[1], "OF")
            if month := self.month(j):
                year, end = self.year(month[1])
                if found := self.next_date(month[0], day[0], year):
                    return found, end
        return None

    def numeric(
        self, i: int, written: str | None = None, *, named: bool = False
    ) -> tuple[date, int] | None:
        """`2026-12-24`, `2012/8/10`, `2012/Aug/10`, `8/Oct/2012`, `24/12[/2026]` (English:
        `12/24` when that is a date), `24.12.2026`, `5-5-2013` and, in a language that writes
        dates with dots, `24.12.` (`1.2` alone is a number). `named`: after a word that names
        a day (`am 10.10`, `el 17-2`), a date with a dot (but in English) or a dash needs no
        year. `written`: the date part of the word."""
        text = written or self.text(i)
        if not text:
            return None
        if match := _YEAR_FIRST.match(text):
            month = int(match[3]) if match[3].isdigit() else self.month_named(match[3])
            if month and (found := self.next_date(month, int(match[4]), int(match[1]))):
                return found, i + 1
            return None
        if (match := _MONTH_NAMED.match(text)) and (month := self.month_named(match[2])):
            if found := self.next_date(month, int(match[1]), int(match[3])):
                return found, i + 1
            return None
        if match := _NUMERIC.match(text):
            # With dots, a date has its year (`1.2.2026`) or, but in English, a last dot (`1.2.`)
            # or a word naming a day before it; with dashes, its year or that word.
            if match[2] == "." and not (
                match[4] or ((text.endswith(".") or named) and self.lang != "en")
            ):
                return None
            if match[2] == "-" and not (match[4] or named):
                return None
            first, second = int(match[1]), int(match[3])
            year = int(match[4]) if match[4] else None
            if year is not None and len(match[4]) == 2:  # "24/12/26"
                year += 2000
            orders = [(second, first)]  # day first
            if self.lang == "en" and match[2] != ".":
                orders.insert(0, (first, second))
            for month, day in orders:
                if 1 <= month <= 12 and (found := self.next_date(month, day, year)):
                    if text.endswith("."):
                        self.dot_ends.add(i)
                    return found, i + 1
        return None

    def month_named(self, word: str) -> int | None:
        """The month a word names (`aug`, `Oct`), or None."""
        for symbol in self.table.get((fold(word),), ()):
            if symbol.startswith("MON"):
                return int(symbol[3:])
        return None

    def day(self, i: int) -> tuple[date, time | None, int] | None:
        """A day, and the time the phrase implies (`tonight`)."""
        if found := self.word(i, "TONIGHT"):  # before today: "heute abend"
            return self.today, TONIGHT, found[1]
        if found := self.word(i, lambda s: "+" in s):  # a day and its part: "vanochtend"
            day_word, part_name = found[0].split("+")
            ahead = timedelta(days=day_word == "TOMORROW")
            return self.today + ahead, PARTS[part_name], found[1]
        for symbol, days in (
            ("AFTER_TOMORROW", 2),
            ("BEFORE_YESTERDAY", -2),
            ("TODAY", 0),
            ("TOMORROW", 1),
            ("YESTERDAY", -1),
        ):
            if found := self.word(i, symbol):
                return self.today + timedelta(days=days), None, found[1]
        if found := self.word(i, "EOM"):
            last = monthrange(self.today.year, self.today.month)[1]
            return self.today.replace(day=last), None, found[1]
        if numeric := self.numeric(i):
            return numeric[0], None, numeric[1]
        if (glued := _DATE_TIME.match(self.text(i) or "")) and (
            numeric := self.numeric(i, glued[1])
        ):  # "05/31/2024.14:15"
            return numeric[0], time(int(glued[2]), int(glued[3])), numeric[1]
        j = self.optional(i, "ON")
        # "am 10.10", "el 17-2" (a date read without the word is read where it starts)
        if j != i and not self.numeric(j) and (numeric := self.numeric(j, named=True)):
            return numeric[0], None, numeric[1]
        if month_day := self.month_day(j):
            return month_day[0], None, month_day[1]
        if holiday := self.holiday(i, j):
            return holiday[0], None, holiday[1]
        if nth := self.nth_of_month(j):  # "the third Tuesday of September", "last day of Oct"
            return nth[0], None, nth[1]
        if (year := self.number(i, 1900, 2100)) and (month := self.month(year[1])):
            day_ = self.ordinal(month[1]) or self.number(month[1], 1, 31)  # "2018 March 18"
            if day_ and (found_ := self.next_date(month[0], day_[0], year[0])):
                return found_, None, day_[1]
        if weekday_ := self.weekday(j) or self.word(j, lambda s: s.startswith("SWD")):
            # A weekday written with its date is the date: "Sunday, December 7, 2014",
            # "Dimanche 7 décembre 2014", "Di, 10. Januar"; a number after it is its day.
            k = self.optional(self.comma(weekday_[1]), "ON")
            if dated := self.numeric(k) or self.month_day(k):
                return dated[0], None, dated[1]
            if not self.clock(k) and (day_ := self.ordinal(k) or self.number(k, 1, 31)):
                return self.next_day_of_month(day_[0]), None, day_[1]  # "mardi 10"
        if (weekday := self.weekday(j)) and (week := self.next_week(weekday[1])):
            # "friday next week", "tuesday of next week", "Freitag nächste Woche"
            return week[0] + timedelta(days=weekday[0]), None, week[1]

        # next monday, monday next, lundi prochain, el próximo lunes, this monday, monday
        for first in ("NEXT", "THIS"):
            if word := self.word(j, first):
                if weekday := self.weekday(word[1]):
                    later = first == "NEXT"
                    return self.next_weekday(weekday[0], today_included=not later), None, weekday[1]
                if first == "NEXT" and (unit := self.unit(word[1])):
                    then = self.optional(unit[1], "ON")
                    if unit[0] == "w" and (weekday := self.weekday(then)):  # volgende week vrijdag
                        return self.next_period("w") + timedelta(days=weekday[0]), None, weekday[1]
                    return self.next_period(unit[0]), None, unit[1]
                if first == "THIS" and (part := self.part(word[1])):  # "this morning"
                    return self.today, part[0], part[1]
                if weekend := self.word(word[1], "WEEKEND"):  # "this weekend", "next weekend"
                    return self.weekend(later=first == "NEXT"), None, weekend[1]
        if j != i and (weekend := self.word(j, "WEEKEND")):  # "le week-end prochain"
            after = self.word(weekend[1], "NEXT")
            return self.weekend(later=bool(after)), None, (after or weekend)[1]
        if (after_next := self.word(j, "AFTER_NEXT")) and (weekday := self.weekday(after_next[1])):
            return self.after_next(weekday[0]), None, weekday[1]  # "übernächsten Freitag"
        if weekday := self.weekday(j):
            if after_next := self.word(weekday[1], "AFTER_NEXT"):  # "friday after next"
                return self.after_next(weekday[0]), None, after_next[1]
            if weeks := self.weeks_later(weekday[1]):  # "mittwoch in 2 wochen"
                return self.next_weekday(weekday[0]) + timedelta(weeks=weeks[0]), None, weeks[1]
            if following := self.word(weekday[1], "NEXT"):
                return self.next_weekday(weekday[0], today_included=False), None, following[1]
            return self.next_weekday(weekday[0]), None, weekday[1]
        if (unit := self.unit(j)) and (after := self.word(unit[1], "NEXT")):  # semaine prochaine
            return self.next_period(unit[0]), None, after[1]
        if (word := self.word(i, "IN")) and (counted := self.counted(word[1])):
            return counted
        if (counted := self.counted(i)) and (hence := self.word(counted[2], "HENCE")):
            return counted[0], counted[1], hence[1]  # "7 days hence"
        if upcoming := self.upcoming(j):  # "2 upcoming days", "les 2 prochaines semaines"
            return upcoming[0], None, upcoming[1]
        if j != i or self.lang not in ("en", "de", "nl"):  # "on the 15th", "le 15", "el 15"
            day = self.ordinal(j, words=j != i) or (self.number(j, 1, 31) if j != i else None)
            if day:
                return self.next_day_of_month(day[0]), None, day[1]
        elif (day := self.ordinal(j, words=False)) and not (self.text(j) or ".").endswith("."):
            return self.next_day_of_month(day[0]), None, day[1]  # "23rd"; "first" is a word
        return None

    def holiday(self, i: int, j: int) -> tuple[date, int] | None:
        """A holiday named (`Christmas Eve`, `Silvester`, `la Toussaint`) [year]: its next
        day. A name is a date after a word that ties it (`on`, `bis`, `pour`) or at the end of
        the phrase (`Call mom on Christmas Eve`, `Call mom Christmas Eve`); before other words
        it is part of the title (`Buy Christmas presents`)."""
        is_holiday = lambda s: s.startswith("FIXED")  # noqa: E731
        found = self.word(i, is_holiday) or self.word(j, is_holiday)  # "dia de Natal"
        if not found:
            return None
        month, day = (int(part) for part in found[0][5:].split("-"))
        year, end = self.year(found[1])
        tied = j != i or (i > 0 and self.word(i - 1, "JOIN") == ("JOIN", i))
        last = end >= len(self.tokens) or self.tokens[end].kind != "word"
        if not (tied or last or self.text(end) == "," or self.at_time(end, bare=False)):
            return None
        if when := self.next_date(month, day, year):
            return when, end
        return None

    def nth_of_month(self, i: int) -> tuple[date, int] | None:
        """`third tuesday of september [2014]`, `letzter Montag im März`, `last day of
        october`, `il terzo giorno di ottobre`: that day of the month named (the next such
        month without a year)."""
        if last := self.word(i, "LAST"):
            nth, k = -1, last[1]
        elif ordinal := self.ordinal(i):
            nth, k = ordinal
        else:
            return None
        weekday = self.weekday(k)
        unit = None if weekday else self.unit(k)
        if not (weekday or (unit and unit[0] == "d")):
            return None
        after = (weekday or unit or (None, k))[1]
        found = self.month_named_after(self.optional(after, "IN_MONTH"))
        if not found:
            return None
        month, years, end = found
        for candidate in years:
            last_day = monthrange(candidate, month)[1]
            if weekday:
                first = (weekday[0] - date(candidate, month, 1).weekday()) % 7 + 1
                final = last_day - (date(candidate, month, last_day).weekday() - weekday[0]) % 7
                day = final if nth == -1 else first + 7 * (nth - 1)
            else:
                day = last_day if nth == -1 else nth
            if day > last_day:
                return None
            when = date(candidate, month, day)
            if len(years) == 1 or when >= self.today:
                return when, end
        return None

    def month_named_after(self, i: int) -> tuple[int, tuple[int, ...], int] | None:
        """`September [2014]`, `this month`, `the month`, `next month`: the month, the years
        to look in (the next such month's, without a year), and where the words end."""
        if month := self.month(i):
            year, end = self.year(month[1])
            return month[0], (year,) if year else (self.today.year, self.today.year + 1), end
        which = self.word(i, "NEXT") or self.word(i, "THIS") or self.word(i, "ON")
        if which and (unit := self.unit(which[1])) and unit[0] == "m":
            first = self.next_period("m") if which[0] == "NEXT" else self.today.replace(day=1)
            return first.month, (first.year,), unit[1]
        return None

    def after_next(self, weekday: int) -> date:
        """The weekday a week after `next <weekday>`."""
        return self.next_weekday(weekday, today_included=False) + timedelta(days=7)

    def weeks_later(self, i: int) -> tuple[int, int] | None:
        """`in 2 weeks` after a weekday: the weeks, and where the words end."""
        word = self.word(i, "IN")
        count = self.number(word[1], 1, 99) if word else None
        if count and (unit := self.unit(count[1])) and unit[0] == "w":
            return count[0], unit[1]
        return None

    def upcoming(self, i: int) -> tuple[date, int] | None:
        """`2 upcoming days`, `upcoming 2 days`, `les 2 prochaines semaines`, `die nächsten 2
        Tage`: that many days (weeks...) from today."""
        if (count := self.number(i, 1, 999)) and (word := self.word(count[1], "UPCOMING")):
            j = word[1]
        elif (word := self.word(i, "UPCOMING")) and (count := self.number(word[1], 1, 999)):
            j = count[1]
        else:
            return None
        if unit := self.unit(j):
            return self.later(unit[0], count[0]), unit[1]
        return None

    def counted(self, i: int) -> tuple[date, time | None, int] | None:
        """`3 days`, `2 weeks`, `1 mon` after `in`; or `3 hours`, `30 minutes`, `an hour`,
        `un'ora`, from now (to the minute)."""
        if one_hour := self.word(i, "ONE_HOUR"):  # "tra un'ora"
            return self.from_now(60, one_hour[1])
        count = self.number(i, 1, 999)
        if count is None and (one := self.word(i, "ONE")):  # "in an hour", "in einer Stunde"
            count = 1, one[1]
        if count is None:
            return None
        if unit := self.unit(count[1]) or self.word(count[1], "COUNTEDm"):
            return self.later(unit[0][-1], count[0]), None, unit[1]
        for symbol, minutes in (("HOURS", 60), ("MINUTES", 1)):
            if found := self.word(count[1], symbol):
                return self.from_now(minutes * count[0], found[1])
        return None

    def from_now(self, minutes: int, end: int) -> tuple[date, time, int]:
        moment = self.now + timedelta(minutes=minutes)
        return moment.date(), moment.time().replace(second=0, microsecond=0), end

    def weekend(self, *, later: bool) -> date:
        """This weekend's Saturday (today's if it is one), or next week's."""
        if later:
            return self.next_period("w") + timedelta(days=5)
        return self.next_weekday(5)

    def next_week(self, i: int) -> tuple[date, int] | None:
        """`next week` (`, next week`, `of next week`, `semaine prochaine`) at `i`: its
        Monday, and where the words end."""
        k = self.optional(self.comma(i), "OF")
        if (word := self.word(k, "NEXT")) and (unit := self.unit(word[1])) and unit[0] == "w":
            return self.next_period("w"), unit[1]
        if (unit := self.unit(k)) and unit[0] == "w" and (word := self.word(unit[1], "NEXT")):
            return self.next_period("w"), word[1]
        return None

    def next_period(self, unit: str) -> date:
        today = self.today
        if unit == "d":
            return today + timedelta(days=1)
        if unit == "w":
            return today + timedelta(days=7 - today.weekday())
        if unit == "m":
            return date(today.year + today.month // 12, today.month % 12 + 1, 1)
        return date(today.year + 1, 1, 1)

    def later(self, unit: str, count: int) -> date:
        today = self.today
        if unit in ("d", "w"):
            return today + timedelta(days=count * (7 if unit == "w" else 1))
        months = today.month - 1 + count * (12 if unit == "y" else 1)
        year, month = today.year + months // 12, months % 12 + 1
        return date(year, month, min(today.day, monthrange(year, month)[1]))

    def due(self, i: int) -> tuple[date, time | None, int] | None:
        """A day and maybe a time, in either order, or a time alone (today). A part of the
        day after a day gives its time (`tomorrow morning`); after an afternoon or evening, a
        bare hour from 1 to 11 is p.m. (`tonight at 8`, `8 Uhr abends`)."""
        if found := self.day(i):
            day, implied, end = found
            if part := self.part(end):
                implied, end = part
            if clock := self.at_time(self.comma(end), bare=True):  # "30 aprile 2016, 10:00"
                if after := self.part(clock[1]):  # "le 16 vers 6h du soir"
                    implied, clock = after[0], (clock[0], after[1])
                return day, _afternoon(clock[0], implied), clock[1]
            return day, implied, end
        if (hour := self.number(i, 1, 12)) and (part := self.part(hour[1])):
            return self.today, _afternoon(time(hour[0]), part[0]), part[1]  # 6 in the evening
        if clock := self.at_time(i):
            # "13:30 di sabato 21 settembre": a time before its day, tied by "of" or not
            if found := self.day(clock[1]) or self.day(self.optional(clock[1], "OF")):
                return found[0], _afternoon(clock[0], found[1]), found[2]
            if part := self.part(clock[1]):
                return self.today, _afternoon(clock[0], part[0]), part[1]
            return self.today, clock[0], clock[1]
        if part := self.part(i, alone=True):  # "in the afternoon", "nella mattinata di lunedì"
            if found := self.day(self.optional(part[1], "OF")):
                return found[0], part[0], found[2]
            if clock := self.at_time(part[1]):  # "morgens um 8"
                return self.today, _afternoon(clock[0], part[0]), clock[1]
            return self.today, part[0], part[1]
        return None

    # -- recurrence ---------------------------------------------------------------------

    def weekdays(self, i: int) -> tuple[list[int], int] | None:
        first = self.weekday(i)
        if not first:
            return None
        days, end = [first[0]], first[1]
        while True:
            j = self.optional(end, "AND")
            j = self.optional(j, "AND") if j != end else j
            if not (more := self.weekday(j)):
                return days, end
            days.append(more[0])
            end = more[1]

    def nth_weekday(self, i: int) -> tuple[str, int] | None:
        """`last friday`, `3rd tuesday`: a BYDAY with its ordinal."""
        if (last := self.word(i, "LAST")) and (weekday := self.weekday(last[1])):
            return f"-1{WEEKDAY_CODES[weekday[0]]}", weekday[1]
        if (nth := self.ordinal(i)) and nth[0] <= 5 and (weekday := self.weekday(nth[1])):
            return f"{nth[0]}{WEEKDAY_CODES[weekday[0]]}", weekday[1]
        return None

    def rule_head(self, i: int) -> tuple[dict[str, str], int] | None:
        for symbol, frequency in (
            ("DAILY", "DAILY"),
            ("WEEKLY", "WEEKLY"),
            ("MONTHLY", "MONTHLY"),
            ("YEARLY", "YEARLY"),
        ):
            if found := self.word(i, symbol):
                return {"FREQ": frequency}, found[1]
        every = self.word(i, "EVERY")
        if not every:
            return None
        j = every[1]
        interval = None
        if other := self.word(j, "OTHER"):
            interval, j = 2, other[1]
        elif (count := self.number(j, 1, 999)) and self.unit(count[1]):
            interval, j = count[0], count[1]
        frequencies = {"d": "DAILY", "w": "WEEKLY", "m": "MONTHLY", "y": "YEARLY"}
        if unit := self.unit(j):
            parts = {"FREQ": frequencies[unit[0]]}
            if interval and interval > 1:
                parts["INTERVAL"] = str(interval)
            return parts, unit[1]
        if workday := self.word(j, "WORKDAY"):
            return {"FREQ": "WEEKLY", "BYDAY": "MO,TU,WE,TH,FR"}, workday[1]
        if interval is None and (nth := self.nth_weekday(j)):
            return {"FREQ": "MONTHLY", "BYDAY": nth[0]}, nth[1]
        if days := self.weekdays(j):
            parts = {"FREQ": "WEEKLY"}
            if interval and interval > 1:
                parts["INTERVAL"] = str(interval)
            parts["BYDAY"] = ",".join(WEEKDAY_CODES[d] for d in days[0])
            return parts, days[1]
        if interval is None and (yearly := self.month_day_parts(j)):
            return {"FREQ": "YEARLY", **yearly[0]}, yearly[1]
        last = self.word(j, "LAST") if interval is None else None
        if last and (unit := self.unit(last[1])) and unit[0] == "d":
            return {"FREQ": "MONTHLY", "BYMONTHDAY": "-1"}, unit[1]
        if interval is None and (day := self.ordinal(j)):
            return {"FREQ": "MONTHLY", "BYMONTHDAY": str(day[0])}, day[1]
        return None

    def month_day_parts(self, i: int) -> tuple[dict[str, str], int] | None:
        if month := self.month(i):
            day = self.ordinal(month[1]) or self.number(month[1], 1, 31)
            if day and day[0] <= monthrange(2024, month[0])[1]:
                return {"BYMONTH": str(month[0]), "BYMONTHDAY": str(day[0])}, day[1]
        day = self.ordinal(i) or self.number(i, 1, 31)
        if day:
            j = self.optional(day[1], "OF")
            if (month := self.month(j)) and day[0] <= monthrange(2024, month[0])[1]:
                return {"BYMONTH": str(month[0]), "BYMONTHDAY": str(day[0])}, month[1]
        return None

    def rule(self, i: int) -> tuple[dict[str, str], time | None, date, date | None, int] | None:
        """A recurrence: its RRULE parts, time of day, first day and last day."""
        clock: time | None = None
        if (every := self.word(i, "EVERY")) and (part := self.part(every[1])):
            head: tuple[dict[str, str], int] | None = {"FREQ": "DAILY"}, part[1]
            clock = part[0]  # "every morning": daily at 09:00
        else:
            head = self.rule_head(i)
        if not head:
            return None
        parts, end = head
        start, until = self.today, None
        while True:
            on = self.word(end, "ON")
            j = on[1] if on else end
            frequency = parts["FREQ"]
            if frequency == "WEEKLY" and "BYDAY" not in parts and (days := self.weekdays(j)):
                parts["BYDAY"] = ",".join(WEEKDAY_CODES[d] for d in days[0])
                end = days[1]
            elif (
                frequency == "MONTHLY"
                and not ({"BYDAY", "BYMONTHDAY"} & parts.keys())
                and ((nth := self.nth_weekday(j)) or (day := self.ordinal(j)))
            ):
                if nth:
                    parts["BYDAY"], end = nth
                elif day:
                    parts["BYMONTHDAY"], end = str(day[0]), day[1]
            elif (
                frequency == "YEARLY"
                and "BYMONTH" not in parts
                and (yearly := self.month_day_parts(j))
            ):
                parts.update(yearly[0])
                end = yearly[1]
            elif clock is None and (found_time := self.at_time(end, bare=False)):
                clock, end = found_time
            elif (word := self.word(end, "STARTING")) and (day_ := self.due(word[1])):
                start, end = day_[0], day_[2]
                clock = clock or day_[1]
            elif word := self.word(end, "UNTIL"):
                if found_day := self.due(word[1]):
                    until, end = found_day[0], found_day[2]
                elif month := self.month(word[1]):
                    year = self.today.year + (month[0] < self.today.month)
                    until = date(year, month[0], monthrange(year, month[0])[1])
                    end = month[1]
                else:
                    break
            else:
                break
        return parts, clock, start, until, end


def _moved(clock: time, minutes: int) -> time:
    """`clock` moved by some minutes, around the day (`5 to midnight` is 23:55)."""
    total = (clock.hour * 60 + clock.minute + minutes) % (24 * 60)
    return time(total // 60, total % 60)


def _afternoon(clock: time, part: time | None) -> time:
    """A time said with a part of the day: 1 to 11 after an afternoon or evening is p.m."""
    if part is not None and part.hour >= 12 and 1 <= clock.hour <= 11:
        return clock.replace(hour=clock.hour + 12)
    return clock
