"""Recurring tasks: RFC 5545 RRULEs with FREQ=DAILY, WEEKLY, MONTHLY or YEARLY, and the next
due date.

Taken: every part RFC 5545 defines for those frequencies (INTERVAL, BYMONTH, BYWEEKNO,
BYYEARDAY, BYMONTHDAY, BYDAY with ordinals such as -1FR, BYHOUR, BYMINUTE, BYSECOND, BYSETPOS,
WKST, and one of COUNT or UNTIL), in the combinations it allows. BYHOUR, BYMINUTE and BYSECOND
take one value each: a task recurs once a day at most, and several values would repeat it
within a day, as the sub-daily frequencies (refused) do.

The occurrences are dateutil's for the rule started (DTSTART) at the series' start: the local
date and time of its first due time on the wall clock of the task's zone (an all-day task: its
first date, which it recurs by). So a task due at 09:00 in Berlin recurs at 09:00 Berlin time
whatever the offset that day. A local time in a gap is read with the offset before the gap for
that occurrence only, and a repeated one is its first occurrence (RFC 5545, as `zoneinfo`
reads fold=0). COUNT counts the occurrences left, this one included: the next occurrence carries
COUNT one lower. UNTIL bounds a timed task's instants, and an all-day task's dates by its UTC
date. The next occurrence is the first within ten years (HORIZON): a rule with none there ends
its series, and a rule written on a task must have one.

The search costs milliseconds whatever the rule. dateutil looks for an occurrence period after
period until year 9999 ends, so it would walk to then for a rule that matches nothing (31
February). It starts here at the period before the current due time (the series' start carried
forward by whole intervals, the parts dateutil would take from DTSTART written out), and runs on
a calendar moved by whole years to the last years before 9999 that have the same weekdays and
leap years as those searched: dateutil's own end of time is then a few decades away.
"""

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil import rrule

# A due time (timed task: an aware instant) or a due date (all-day task).
Due = datetime | date

FREQUENCIES: dict[str, Any] = {
    "DAILY": rrule.DAILY,
    "WEEKLY": rrule.WEEKLY,
    "MONTHLY": rrule.MONTHLY,
    "YEARLY": rrule.YEARLY,
}
SUB_DAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
WEEKDAYS = {
    "MO": rrule.MO,
    "TU": rrule.TU,
    "WE": rrule.WE,
    "TH": rrule.TH,
    "FR": rrule.FR,
    "SA": rrule.SA,
    "SU": rrule.SU,
}
MAX_NUMBER = 1000
# The next occurrence falls within this long after the due time, or the series ends.
HORIZON = timedelta(days=3653)  # ten years, leap days included

# The BYxxx lists of numbers: (first, last) values, and whether negative ones count from the end.
NUMBER_LISTS: dict[str, tuple[int, int, bool]] = {
    "BYMONTH": (1, 12, False),
    "BYWEEKNO": (1, 53, True),
    "BYYEARDAY": (1, 366, True),
    "BYMONTHDAY": (1, 31, True),
    "BYHOUR": (0, 23, False),
    "BYMINUTE": (0, 59, False),
    "BYSECOND": (0, 59, False),
    "BYSETPOS": (1, 366, True),
}
# The order the service writes a rule's parts in (what it answers).
ORDER = (
    "FREQ",
    "INTERVAL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "WKST",
    "COUNT",
    "UNTIL",
)
# Where RFC 5545 allows a part for the frequencies taken (section 3.3.10, its table and notes).
ONLY_FOR = {
    "BYWEEKNO": ("YEARLY",),
    "BYYEARDAY": ("YEARLY",),
    "BYMONTHDAY": ("DAILY", "MONTHLY", "YEARLY"),
}
_BY_DAY = re.compile(r"([+-]?)([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_LAST_YEAR = 9999


_DAY = "(MO|TU|WE|TH|FR|SA|SU)"
_ORDINAL_DAY = f"(-?([1-9]|[1-4][0-9]|5[0-3]))?{_DAY}"
_UNTIL_DATE = "(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])"
_UNTIL_TIME = "(T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z)?"


def _listed(item: str) -> str:
    return f"{item}(,{item}){{0,9}}"


# For the OpenAPI document: the rules as the service writes them (what it answers, and what a
# client is best to send). The service also reads other spellings: lower case, the parts in any
# order, `+` before numbers, zeros before them, INTERVAL and COUNT up to 1000, longer lists. A rule
# of this shape is taken when RFC 5545 allows its parts together and it gives an occurrence
# within ten years after the task's due time.
RULE_PATTERN = (
    "^(RRULE:)?FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)"
    "(;INTERVAL=[1-9][0-9]{0,2})?"
    f"(;BYMONTH={_listed('([1-9]|1[0-2])')})?"
    f"(;BYWEEKNO={_listed('-?([1-9]|[1-4][0-9]|5[0-3])')})?"
    f"(;BYYEARDAY={_listed('-?[1-9][0-9]{0,2}')})?"
    f"(;BYMONTHDAY={_listed('-?([1-9]|[12][0-9]|3[01])')})?"
    f"(;BYDAY={_listed(_ORDINAL_DAY)})?"
    "(;BYHOUR=([0-9]|1[0-9]|2[0-3]))?"
    "(;BYMINUTE=[1-5]?[0-9])?"
    "(;BYSECOND=[1-5]?[0-9])?"
    f"(;BYSETPOS={_listed('-?[1-9][0-9]{0,2}')})?"
    f"(;WKST={_DAY})?"
    f"(;COUNT=[1-9][0-9]{{0,2}}|;UNTIL={_UNTIL_DATE}{_UNTIL_TIME})?$"
)


class InvalidRule(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    frequency: str
    interval: int = 1
    # BYMONTH, BYWEEKNO, ... BYSETPOS (NUMBER_LISTS), each in the order given, without repeats.
    numbers: tuple[tuple[str, tuple[int, ...]], ...] = ()
    # BYDAY: "MO", "-1FR", "2TU".
    weekdays: tuple[str, ...] = ()
    week_start: str | None = None
    count: int | None = None
    until: datetime | None = None

    def listed(self, name: str) -> tuple[int, ...]:
        return dict(self.numbers).get(name, ())

    def __str__(self) -> str:
        parts = {"FREQ": self.frequency}
        if self.interval != 1:
            parts["INTERVAL"] = str(self.interval)
        for name, values in self.numbers:
            parts[name] = ",".join(map(str, values))
        if self.weekdays:
            parts["BYDAY"] = ",".join(self.weekdays)
        if self.week_start is not None:
            parts["WKST"] = self.week_start
        if self.count is not None:
            parts["COUNT"] = str(self.count)
        if self.until is not None:
            # Four digits of year: strftime writes year 1 as "1", no date RFC 5545 reads.
            until = self.until
            parts["UNTIL"] = f"{until.year:04}{until:%m%dT%H%M%SZ}"
        return ";".join(f"{name}={parts[name]}" for name in ORDER if name in parts)


def parse(text: str) -> Rule:
    """The rule in `text` (a leading `RRULE:` is accepted), or InvalidRule naming the problem."""
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    values: dict[str, str] = {}
    for part in filter(None, body.split(";")):
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or not value.strip():
            raise InvalidRule(f"{part!r} is not NAME=VALUE")
        if name in values:
            raise InvalidRule(f"{name} is given twice")
        values[name] = value.strip().upper()
    unknown = sorted(set(values) - set(ORDER))
    if unknown:
        names = ", ".join(unknown)
        raise InvalidRule(
            f"{names} is not an RRULE part" if len(unknown) == 1 else f"{names} are not RRULE parts"
        )
    frequency = values.get("FREQ")
    if frequency in SUB_DAILY:
        raise InvalidRule(
            f"FREQ={frequency} is not taken: a task recurs at most once a day "
            "(FREQ=DAILY, WEEKLY, MONTHLY or YEARLY)"
        )
    if frequency not in FREQUENCIES:
        raise InvalidRule("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in values and "UNTIL" in values:
        raise InvalidRule("COUNT and UNTIL cannot both be given")
    numbers = tuple((name, _numbers(name, values[name])) for name in NUMBER_LISTS if name in values)
    rule = Rule(
        frequency=frequency,
        interval=_number(values, "INTERVAL") or 1,
        numbers=numbers,
        weekdays=_weekdays(values["BYDAY"]) if "BYDAY" in values else (),
        week_start=_week_start(values["WKST"]) if "WKST" in values else None,
        count=_number(values, "COUNT"),
        until=_until(values["UNTIL"]) if "UNTIL" in values else None,
    )
    _check_combination(rule)
    return rule


def _number(values: dict[str, str], name: str) -> int | None:
    if name not in values:
        return None
    text = values[name]
    # ASCII digits only: str.isdigit() is also true for "²" and "٣".
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_NUMBER:
        raise InvalidRule(f"{name} must be a whole number from 1 to {MAX_NUMBER}")
    return int(text)


def _numbers(name: str, text: str) -> tuple[int, ...]:
    low, high, signed = NUMBER_LISTS[name]
    allowed = f"{low} to {high}" + (f", or -{high} to -1" if signed else "")
    found = []
    for item in text.split(","):
        digits = item[1:] if item[:1] in "+-" and signed else item
        if not (digits.isascii() and digits.isdigit() and low <= int(digits) <= high):
            raise InvalidRule(f"{name} takes numbers from {allowed}")
        found.append(-int(digits) if item[:1] == "-" else int(digits))
    return tuple(dict.fromkeys(found))


def _weekdays(text: str) -> tuple[str, ...]:
    found = []
    for item in text.split(","):
        match = _BY_DAY.fullmatch(item)
        ordinal = match.group(2) if match else None
        if match is None or (ordinal is not None and not 1 <= int(ordinal) <= 53):
            raise InvalidRule(
                "BYDAY takes weekdays (MO, TU, WE, TH, FR, SA, SU), each perhaps after an "
                "ordinal from 1 to 53 or -53 to -1 (2MO, -1FR)"
            )
        sign = "-" if match.group(1) == "-" else ""
        found.append(f"{sign}{int(ordinal)}{match.group(3)}" if ordinal else match.group(3))
    return tuple(dict.fromkeys(found))


def _week_start(text: str) -> str:
    if text not in WEEKDAYS:
        raise InvalidRule("WKST takes a weekday: MO, TU, WE, TH, FR, SA, SU")
    return text


def _until(value: str) -> datetime:
    for layout in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            parsed = datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        # A date alone means up to the end of that day.
        return parsed if "T" in value else datetime.combine(parsed.date(), time.max, UTC)
    raise InvalidRule("UNTIL must be a date (20261231) or a UTC time (20261231T235959Z)")


def _check_combination(rule: Rule) -> None:
    """What RFC 5545 (3.3.10) says a rule of this frequency must not hold, and the service's
    own limit of one occurrence a day."""
    given = {name for name, _ in rule.numbers}
    for name, frequencies in ONLY_FOR.items():
        if name in given and rule.frequency not in frequencies:
            raise InvalidRule(f"{name} cannot be given with FREQ={rule.frequency}")
    if any(not day.isalpha() for day in rule.weekdays):
        if rule.frequency not in ("MONTHLY", "YEARLY"):
            raise InvalidRule("BYDAY takes ordinals (-1FR) only with FREQ=MONTHLY or YEARLY")
        if "BYWEEKNO" in given:
            raise InvalidRule("BYDAY takes no ordinals (-1FR) with BYWEEKNO")
        # Counted within the month (RFC 5545): there is never a sixth Monday, and dateutil
        # fails on one rather than find nothing.
        in_a_month = rule.frequency == "MONTHLY" or "BYMONTH" in given
        if in_a_month and any(abs(int(day[:-2] or 0)) > 5 for day in rule.weekdays):
            raise InvalidRule("BYDAY ordinals count within a month here: from -5 to 5")
    if "BYSETPOS" in given and not (given - {"BYSETPOS"} or rule.weekdays):
        raise InvalidRule("BYSETPOS needs another BYxxx part to pick from")
    positions = set(rule.listed("BYSETPOS"))
    if rule.frequency == "DAILY" and positions and not {1, -1} & positions:
        raise InvalidRule("BYSETPOS picks from one occurrence a day with FREQ=DAILY: 1 or -1")
    for name in ("BYHOUR", "BYMINUTE", "BYSECOND"):
        if len(rule.listed(name)) > 1:
            raise InvalidRule(
                f"{name} takes one value: a task recurs at most once a day, at one time"
            )


# --- the next occurrence --------------------------------------------------------------------


def next_occurrence(
    rule: Rule, due: Due, zone: tzinfo = UTC, start: datetime | None = None
) -> tuple[Due, Rule] | None:
    """The due time (or date) after `due`, read in `zone` in the series that `start` (the
    series' local start; None: `due` itself) began, and the rule the next task carries; None
    when the rule ends."""
    if rule.count == 1:
        return None
    following = _following(rule, due, zone, start)
    if following is None or not _within_until(rule, following):
        return None
    remaining = rule.count - 1 if rule.count is not None else None
    return following, replace(rule, count=remaining)


def recurs_soon(rule: Rule, due: Due, zone: tzinfo = UTC, start: datetime | None = None) -> bool:
    """Whether the rule's pattern (all but COUNT and UNTIL) gives a date after `due` within
    HORIZON. COUNT and UNTIL are left aside here (see `leaves_an_occurrence`): the last task of
    a series carries a rule they end, and that series is finished, not broken."""
    wall = wall_clock(due, zone)
    if wall is None:  # beyond the years a local time can be written in
        return True
    return _next_local(rule, wall, _all_day(due), start) is not None


def leaves_an_occurrence(
    rule: Rule, due: Due, zone: tzinfo = UTC, start: datetime | None = None
) -> bool:
    """Whether COUNT and UNTIL leave an occurrence after `due` (COUNT=1 leaves none, nor
    does an UNTIL before the pattern's next date): a rule a client writes must."""
    return next_occurrence(rule, due, zone, start) is not None


def wall_clock(due: Due, zone: tzinfo) -> datetime | None:
    """The naive local time a series is read on: a date's midnight, or the instant on the
    zone's clock (None when that lies outside years 1 to 9999)."""
    if not isinstance(due, datetime):
        return datetime.combine(due, time.min)
    try:
        return aware(due).astimezone(zone).replace(tzinfo=None, fold=0)
    except OverflowError:
        return None


def _all_day(due: Due) -> bool:
    return not isinstance(due, datetime)


def _following(rule: Rule, due: Due, zone: tzinfo, start: datetime | None) -> Due | None:
    wall = wall_clock(due, zone)
    local = _next_local(rule, wall, _all_day(due), start) if wall is not None else None
    if local is None:
        return None
    if _all_day(due):
        return local.date()
    try:  # fold=0: a time in a gap takes the offset before it, a repeated one comes first
        return local.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return None


def _within_until(rule: Rule, following: Due) -> bool:
    if rule.until is None:
        return True
    if isinstance(following, datetime):
        return following <= rule.until
    return following <= rule.until.date()


def aware(moment: datetime) -> datetime:
    """The first and last instants come from asyncpg without a zone (PostgreSQL keeps them as
    -infinity and infinity): they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _next_local(
    rule: Rule, wall: datetime, all_day: bool, start: datetime | None
) -> datetime | None:
    """The series' first local date-time after `wall` (an all-day task: after its day) and
    within HORIZON of it, the series started at `start` (None: at `wall`)."""
    if start is None or start > wall:
        start = wall
    after = datetime.combine(wall.date(), time.max) if all_day else wall
    try:
        horizon = wall + HORIZON
    except OverflowError:
        horizon = datetime.max
    parts = _dateutil_parts(rule, start)
    try:
        first = _period_before(rule, parts["wkst"], start, after)
    except OverflowError:  # the series' first week began before year 1: from its start
        first = start
    found = _search(parts, first, after, horizon)
    return found if found is not None and found <= horizon else None


def _dateutil_parts(rule: Rule, start: datetime) -> dict[str, Any]:
    """dateutil's arguments for the rule, with what it would take from DTSTART (the time of
    day, and the day of the week, month or year when no part names days) written out, so that
    any period's start can stand for DTSTART."""
    parts: dict[str, Any] = {
        "freq": FREQUENCIES[rule.frequency],
        "interval": rule.interval,
        "wkst": WEEKDAYS[rule.week_start or "MO"].weekday,
        "byhour": rule.listed("BYHOUR") or start.hour,
        "byminute": rule.listed("BYMINUTE") or start.minute,
        "bysecond": rule.listed("BYSECOND") or start.second,
        "bymonth": rule.listed("BYMONTH") or None,
        "byweekno": rule.listed("BYWEEKNO") or None,
        "byyearday": rule.listed("BYYEARDAY") or None,
        "bymonthday": rule.listed("BYMONTHDAY") or None,
        "bysetpos": rule.listed("BYSETPOS") or None,
        "byweekday": [_weekday(day) for day in rule.weekdays] or None,
    }
    if not any(parts[name] for name in ("byweekno", "byyearday", "bymonthday", "byweekday")):
        if rule.frequency == "YEARLY":
            parts["bymonth"] = parts["bymonth"] or start.month
            parts["bymonthday"] = start.day
        elif rule.frequency == "MONTHLY":
            parts["bymonthday"] = start.day
        elif rule.frequency == "WEEKLY":
            parts["byweekday"] = start.weekday()
    if rule.frequency == "DAILY":
        # One occurrence a day: BYSETPOS keeps it (parse takes only 1 and -1 here). And each
        # day INTERVAL=1 keeps is a day of the year that the BYxxx parts keep, which dateutil
        # finds a year at a time rather than a day at a time.
        parts["bysetpos"] = None
        if rule.interval == 1:
            parts["freq"] = rrule.YEARLY
            if not parts["bymonthday"]:
                parts["byweekday"] = parts["byweekday"] or tuple(range(7))
    return parts


def _weekday(text: str) -> rrule.weekday:
    ordinal = text[:-2]
    return WEEKDAYS[text[-2:]](int(ordinal)) if ordinal else WEEKDAYS[text[-2:]]


def _period_before(rule: Rule, week_start: int, start: datetime, after: datetime) -> datetime:
    """The start (midnight) of the series' last period that begins by `after`: the period of
    `start` carried forward by whole intervals; `start` itself while that is its first."""
    first = _period_of(rule.frequency, start.date(), week_start)
    last = _period_of(rule.frequency, after.date(), week_start)
    if rule.frequency == "DAILY":
        elapsed = (last - first).days
    elif rule.frequency == "WEEKLY":
        elapsed = (last - first).days // 7
    elif rule.frequency == "MONTHLY":
        elapsed = (last.year - first.year) * 12 + last.month - first.month
    else:
        elapsed = last.year - first.year
    steps = max(elapsed, 0) // rule.interval * rule.interval
    if steps == 0:  # dateutil's first week runs from DTSTART only (BYSETPOS picks from it)
        return start
    if rule.frequency in ("DAILY", "WEEKLY"):
        days = steps * (7 if rule.frequency == "WEEKLY" else 1)
        return datetime.combine(first + timedelta(days=days), time.min)
    months = steps * (12 if rule.frequency == "YEARLY" else 1) + first.month - 1
    return datetime(first.year + months // 12, months % 12 + 1, 1)


def _period_of(frequency: str, day: date, week_start: int) -> date:
    """The first day of the period (of FREQ) that holds `day`."""
    if frequency == "WEEKLY":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if frequency == "MONTHLY":
        return day.replace(day=1)
    if frequency == "YEARLY":
        return day.replace(month=1, day=1)
    return day


def _search(
    parts: dict[str, Any], first: datetime, after: datetime, horizon: datetime
) -> datetime | None:
    """dateutil's first occurrence after `after` for the rule started at `first`, looked for
    up to `horizon` (and then some), on a calendar moved to end soon after it."""
    earliest, latest = max(first.year - 1, 1), min(horizon.year + 1, _LAST_YEAR)
    shift = _calendar_shift(earliest, latest)
    series = rrule.rrule(dtstart=_moved(first, shift), **parts)
    try:
        found: datetime | None = series.after(_moved(after, shift))
    except (ValueError, OverflowError):  # the series runs past year 9999 before one comes
        return None
    if found is None or found.year - shift > latest:
        return None
    return _moved(found, -shift)


def _calendar_shift(earliest: int, latest: int) -> int:
    """The most years to add to the years `earliest` to `latest` that keeps them within year
    9999 and on the same calendar (the same weekdays and leap years; any 400 years do)."""
    years = range(latest - earliest + 1)
    for target in range(_LAST_YEAR - (latest - earliest), earliest, -1):
        if date(target, 1, 1).weekday() == date(earliest, 1, 1).weekday() and all(
            calendar.isleap(target + year) == calendar.isleap(earliest + year) for year in years
        ):
            return target - earliest
    return 0


def _moved(moment: datetime, years: int) -> datetime:
    return moment.replace(year=moment.year + years)
