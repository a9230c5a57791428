"""The reader of what people type: dates and times, recurrence phrases, `#list`, `@tag`, `p1`..`p4`.

Dates are read relative to "now" on the user's clock (their zone), in the seven languages of
`lexicon.LANGUAGES`. Two readers share the work:

- A small grammar over the words of `lexicon.py` (recursive descent, one function per rule
  below) finds the phrases inside free text and reads them. A parser library would not find
  phrases in the middle of a title any better, and the grammar is short. It reads
  `today`, `tonight` (19:00), `tomorrow`, `day after tomorrow`, a weekday (the next such day,
  today included), `next <weekday>` (today excluded), `next week|month|year` (its first day),
  `in N days|weeks|months|years`, `on the 15th` (the next 15th, today included), `jan 4` and
  `4 Jan` [year] (the next such date, today included), `15Sep`, `2026-12-24`, `2026/12/24`,
  `2026/Dec/24`, `24/Dec/2026`, `2026 December 24`, `24/12[/2026]` (day first; English reads
  month first when that is a date: `12/24`), `24.12.2026` and, but in English, `24.12.`;
  a weekday written with its date is the date (`Sunday, December 7, 2014`); `friday next
  week`; `end of month`; a part of the day (`morning` 09:00, `afternoon` 15:00, `evening`
  19:00) after a day or `this`; and a time before or after any of them (`5pm`, `17:15`,
  `9h`, `8h10 PM`, `17.30 Uhr`, `9u`, `at 9`, `noon`, `midnight`; after an afternoon or
  evening, 1 to 11 is p.m.); a time alone is today. Recurrence: `daily|weekly|monthly|yearly`,
  `every [N|other] day|week|month|year`, `every <weekday>[, <weekday>...]`, `every weekday`,
  `every last <weekday>`, `every 3rd <weekday>`, `every 15th`, `every dec 25`, then any of
  `on <weekdays>`, `on the 15th`, `on dec 25`, `on the last friday`, `at <time>`, `starting
  <date>`, `until <date or month>`. Each language says the same with its own words, in either
  order where it puts the adjective after the noun (`lundi prochain`).
- `dateparser`, the field's library for dates in many languages, reads a whole phrase the
  grammar does not (`read_date` on a Todoist DATE or a filter's date: `3 December 2026`, `in
  einer Woche`). It is not the first reader because, on the contract's own examples, it
  reads `today`/`tomorrow` with the current time of day, `tonight` at 20:00, `on the 15th` in
  the past, drops the time of `morgen 17 Uhr` and `mañana a las 9`, cannot read `end of
  month`, `nächsten Montag`, `lundi prochain`, `el próximo lunes` or any recurrence, cannot
  find a phrase inside a title, and costs milliseconds a call (its first call in a language
  hundreds). It is called with its language given (no detection), and its answers cached.

The person's language is read first and English always too: where the first reads nothing
at a word, English's grammar is asked. A joining word right before the phrase read (`by`,
`am`, `pour`: the lexicon's `JOIN`) leaves the title with it, inside its span. Newer phrases:
`in 3 hours`/`in an hour` (from now), `this|next weekend` (that Saturday), `every morning|
evening` (daily at 09:00/19:00), `yesterday`, `3p`, `3:18a`, `at 1030`, `3 o'clock`; and
`the third Tuesday of September`, `last day of October`, a part of the day with its
preposition alone (`in the afternoon`, `am Abend`), ordinals in words (`fünfter Dezember`),
`um 10.10` (a time) and `am 10.10` (a date: a number with a dot or a dash says which by the
word before it), minutes to and past (`15 to noon`, `alle 3 e 20`, `15 Uhr 20`), a time
before its date (`13:30 di sabato 21 settembre`), `7 days hence`, `2 upcoming days`,
`übernächsten Freitag`, `mittwoch in 2 wochen`, `3 oclock pm`, `330 p.m.`, `3:30 p m`,
holidays (`Christmas Eve`, `Silvester`; at the end of a phrase or after a joining word), and
words of approximation before or after a time (`zirka 15 Uhr`, `15 Uhr in etwa`).

Text in double quotes, or a word after a backslash, is never read.

The work is bounded whatever the text says: a date is read from 1900 to 2100 only (another is
`OutOfRange`, with its span), a number has at most four digits, a recurrence's first occurrence
is looked for from today (or its `starting` day) for ten years at most, and dateparser is given
a short phrase only.
"""

import functools
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

from todo_api.words.grammar import (
    DATEPARSER_LONGEST,
    HORIZON,
    MARKS,
    PRIORITIES,
    SPACE_BEFORE_MARK,
    WEEKDAY_CODES,
    Due,
    Far,
    Grammar,
    within,
)
from todo_api.words.lexicon import LANGUAGES
from todo_api.words.tokens import Token, read_tokens


class OutOfRange(ValueError):
    """A date before 1900 or after 2100, at characters `start` to `end` of the text."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(f"characters {start} to {end}: a date before 1900 or after 2100")
        self.start = start
        self.end = end


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # due, recurrence, list, section, tag, priority
    value: str


@dataclass
class Reading:
    """What a text says: its title, and what was read out of it."""

    title: str
    due_date: date | None = None
    due_at: datetime | None = None
    recurrence: str | None = None
    list_name: str | None = None
    list_span: Span | None = None
    section_span: Span | None = None
    tags: list[str] = field(default_factory=list)
    priority: str | None = None
    spans: list[Span] = field(default_factory=list)


def _rule_text(parts: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in parts.items())


def _first_occurrence(
    parts: dict[str, str], clock: time | None, start: date, now: datetime
) -> datetime | None:
    """The rule's first occurrence on or after `start` (and not before now; today for a rule
    without a time), within HORIZON of that.

    dateutil starts there, not at `start`: what it would take from DTSTART (the time of day,
    and the weekday, day or month a rule without them repeats on) is written out, so a
    `starting` day long ago costs nothing, and UNTIL stops it at HORIZON.
    """
    begin = datetime.combine(start, clock or time(0))
    if clock is None:
        origin = max(begin, datetime.combine(now.date(), time(0)))
    else:
        origin = max(begin, now.replace(tzinfo=None, second=0, microsecond=0))
    # The first day the rule's BY parts allow, counted without its interval: "every other
    # monday" is next monday, and the series starts there.
    plain = {key: value for key, value in parts.items() if key not in ("INTERVAL", "UNTIL")}
    frequency = plain["FREQ"]
    if frequency == "WEEKLY" and "BYDAY" not in plain:
        plain["BYDAY"] = WEEKDAY_CODES[start.weekday()]
    if frequency == "YEARLY" and "BYMONTH" not in plain:
        plain["BYMONTH"] = str(start.month)
    if frequency in ("MONTHLY", "YEARLY") and not {"BYDAY", "BYMONTHDAY"} & plain.keys():
        plain["BYMONTHDAY"] = str(start.day)
    hour = clock or time(0)
    plain.update(BYHOUR=str(hour.hour), BYMINUTE=str(hour.minute), BYSECOND="0")
    plain["UNTIL"] = (origin + HORIZON).strftime("%Y%m%dT%H%M%S")
    found: datetime | None = rrule.rrulestr(_rule_text(plain), dtstart=origin).after(
        origin, inc=True
    )
    return found


def _moment(day: date, clock: time | None, zone: tzinfo) -> Due:
    return day if clock is None else datetime.combine(day, clock, tzinfo=zone)


def _until(until: date, clock: time | None, zone: tzinfo) -> str:
    if clock is None:
        return until.strftime("%Y%m%d")
    last = datetime.combine(until, time(23, 59, 59), tzinfo=zone).astimezone(UTC)
    return last.strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class _Found:
    kind: str  # due or recurrence
    due: Due
    rule: str | None
    end: int


def _phrase(grammar: Grammar, i: int, zone: tzinfo) -> _Found | None:
    """The date or recurrence phrase at token `i`; raises Far when it names a day outside
    FIRST_DAY..LAST_DAY (a recurrence: its start, end or first occurrence)."""
    if found_rule := grammar.rule(i):
        parts, clock, start, until, end = found_rule
        if not (within(start) and (until is None or within(until))):
            raise Far(end)
        first = _first_occurrence(parts, clock, start, grammar.now)
        if first is not None and not within(first.date()):
            raise Far(end)
        if first is not None and (until is None or first.date() <= until):
            if until is not None:
                parts["UNTIL"] = _until(until, clock, zone)
            return _Found("recurrence", _moment(first.date(), clock, zone), _rule_text(parts), end)
    if found_due := grammar.due(i):
        day, clock, end = found_due
        if not within(day):
            raise Far(end)
        return _Found("due", _moment(day, clock, zone), None, end)
    return None


def _zone(zone: tzinfo | str) -> tzinfo:
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def _language(lang: str | None) -> str:
    return lang if lang is not None and lang in LANGUAGES else "en"


def _span_end(grammar: Grammar, end: int) -> int:
    token = grammar.tokens[end - 1]
    return token.dot_end if end - 1 in grammar.dot_ends else token.end


def _grammars(tokens: tuple[Token, ...], lang: str | None, now: datetime) -> list[Grammar]:
    """The grammar of `lang`, then English's: English is always read too."""
    first = _language(lang)
    return [Grammar(tokens, code, now) for code in dict.fromkeys((first, "en"))]


def _whole(text: str, now: datetime, zone: tzinfo | str, lang: str | None) -> _Found | None:
    zone = _zone(zone)
    tokens = read_tokens(text)
    if not tokens or any(token.kind != "word" for token in tokens):
        return None
    for grammar in _grammars(tokens, lang, now.astimezone(zone)):
        try:
            found = _phrase(grammar, 0, zone)
        except Far:
            return _FAR
        if found and found.end == len(tokens):
            return found
    return None


# What `_whole` answers for a phrase outside FIRST_DAY..LAST_DAY: read, and no date.
_FAR = _Found("far", date.min, None, 0)


def read_date(text: str, now: datetime, zone: tzinfo | str, lang: str | None = "en") -> Due | None:
    """One date phrase, all of `text`: a `date` (all day), a `datetime` in `zone`, or None.

    `now` is an aware moment (the caller's clock); a weekday or a date without a year is the
    next such day on the user's clock, today included. Read by the grammar, else by dateparser.
    A date before 1900 or after 2100 is None.
    """
    found = _whole(text, now, zone, lang)
    if found is not None and found.kind == "due":
        return found.due
    if found is not None:
        return None
    phrase = " ".join(text.split())
    if not 3 <= len(phrase) <= DATEPARSER_LONGEST or phrase.replace(" ", "").isdigit():
        return None  # dateparser: "a" is a month
    zone = _zone(zone)
    local = now.astimezone(zone)
    # Its answers are kept per phrase and minute (an import reads the same phrases again).
    minute = local.replace(tzinfo=None, second=0, microsecond=0)
    return _dateparser(phrase, _language(lang), minute, zone)


def read_rule(
    text: str, now: datetime, zone: tzinfo | str, lang: str | None = "en"
) -> tuple[str, Due] | None:
    """One recurrence phrase, all of `text`: its RRULE and its first occurrence, or None."""
    found = _whole(text, now, zone, lang)
    if found is not None and found.kind == "recurrence" and found.rule:
        return found.rule, found.due
    return None


_HAS_TIME = re.compile(r"\d\s*(?::|h\b|h\d|am\b|pm\b|uhr\b|uur\b)|\b(?:noon|midnight)\b", re.I)


def prepare() -> None:
    """Load dateparser and its data for every language now (a server's start-up): the first
    phrase of a language would otherwise load them on the event loop (25 to 400 ms)."""
    import dateparser  # type: ignore[import-untyped]

    for lang in LANGUAGES:
        dateparser.parse("3 December 2026", languages=[lang])


@functools.lru_cache(maxsize=4096)
def _dateparser(text: str, lang: str, local_now: datetime, zone: tzinfo) -> Due | None:
    import dateparser  # loaded when the grammar cannot read (or by `prepare`)

    settings: Any = {
        "RELATIVE_BASE": local_now,
        "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": False,
        "STRICT_PARSING": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = dateparser.parse(text, languages=[lang], settings=settings)
        except (ValueError, OverflowError, TypeError, KeyError):
            return None
    if found is None or not within(found.date()):
        return None
    if _HAS_TIME.search(text):
        moment: datetime = found.replace(second=0, microsecond=0, tzinfo=zone)
        return moment
    day: date = found.date()
    return day


def read(text: str, now: datetime, zone: tzinfo | str = "UTC", lang: str | None = "en") -> Reading:
    """Everything `text` says: the first date or recurrence phrase, `#list`, `/section`,
    `@tags`, `pN`.

    The spans read are taken out of the title, its white space tidied; a backslash that
    protects a word is dropped, quotes are kept. Raises OutOfRange for a date before 1900 or
    after 2100.
    """
    zone = _zone(zone)
    tokens = read_tokens(text)
    grammars = _grammars(tokens, lang, now.astimezone(zone))
    reading = Reading(title="")
    i = 0
    dated = False
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "list" and reading.list_name is None:
            name = text[token.start + 1 : token.end].strip('"').strip()
            if name:
                reading.list_name = name
                reading.list_span = Span(token.start, token.end, "list", name)
                reading.spans.append(reading.list_span)
        elif token.kind == "section" and reading.section_span is None:
            name = text[token.start + 1 : token.end].strip('"').strip()
            if name:
                reading.section_span = Span(token.start, token.end, "section", name)
                reading.spans.append(reading.section_span)
        elif token.kind == "tag":
            tag = text[token.start + 1 : token.end]
            if tag not in reading.tags:
                reading.tags.append(tag)
            reading.spans.append(Span(token.start, token.end, "tag", tag))
        elif token.kind == "priority" and reading.priority is None:
            reading.priority = PRIORITIES[token.bare[1]]
            reading.spans.append(Span(token.start, token.end, "priority", reading.priority))
        elif token.kind == "word" and not dated and (read_by := _read_phrase(grammars, i, zone)):
            grammar, found = read_by
            dated = True
            if isinstance(found.due, datetime):
                reading.due_at = found.due
            else:
                reading.due_date = found.due
            reading.recurrence = found.rule
            value = found.rule or found.due.isoformat()
            end = _span_end(grammar, found.end)
            start = tokens[_joined(grammars, i)].start
            reading.spans.append(Span(start, end, found.kind, value))
            i = found.end
            continue
        i += 1
    reading.title = _title(text, tokens, reading.spans)
    return reading


def _read_phrase(grammars: list[Grammar], i: int, zone: tzinfo) -> tuple[Grammar, _Found] | None:
    """The phrase at token `i` in the person's language, else in English. A phrase opens only
    with a word of the lexicon that can open one, or a number (`15Sep`, `5pm`); English is
    asked only where one of its words opens (a number, or a comma, reads the same in both):
    the reading costs little more than one language's."""
    digits = (grammars[0].text(i) or "")[:1].isdigit()
    for grammar in grammars:
        if grammar is grammars[0] and not (digits or grammar.opens(i)):
            continue
        if grammar is not grammars[0] and (not grammar.opens(i) or grammar.text(i) == ","):
            continue
        try:
            if found := _phrase(grammar, i, zone):
                return grammar, found
        except Far as far:
            start = grammar.tokens[_joined(grammars, i)].start
            raise OutOfRange(start, _span_end(grammar, far.end)) from None
    return None


# How many joining words before a date leave with it ("pour le 12", "due by friday").
_JOINS = 2


def _joined(grammars: list[Grammar], i: int) -> int:
    """The first token of the phrase at `i` with the joining words right before it (`by`,
    `am`, `le`: a word that only ties the date to the rest), which leave the title with it."""
    for _ in range(_JOINS):
        # A word first in the text ties the date to nothing ("Il 2012/8/10"): it stays.
        if i < 2 or grammars[0].tokens[i - 1].kind != "word":
            break
        if not any(grammar.word(i - 1, "JOIN") == ("JOIN", i) for grammar in grammars):
            break
        i -= 1
    return i


def read_tags(text: str) -> tuple[str, list[str]]:
    """The `@tag` words of `text` alone (a Todoist CONTENT, whose dates Todoist has read into
    DATE already): the title without them, and the tags."""
    tokens = read_tokens(text)
    spans = [
        Span(token.start, token.end, "tag", text[token.start + 1 : token.end])
        for token in tokens
        if token.kind == "tag"
    ]
    if not spans:
        return text, []
    return _title(text, tokens, spans), list(dict.fromkeys(span.value for span in spans))


def _title(text: str, tokens: tuple[Token, ...], spans: list[Span]) -> str:
    """`text` without the spans read and the backslashes that protect a word, tidied."""
    cuts = sorted(
        [(span.start, span.end) for span in spans]
        + [
            (t.start, t.start + 1)
            for t in tokens
            if t.kind == "protected" and text[t.start] == "\\"
        ]
    )
    if not cuts:
        return " ".join(text.split())
    kept = [text[: cuts[0][0]]]
    starts = [start for start, _ in cuts[1:]] + [len(text)]
    for (_, end), following in zip(cuts, starts, strict=True):
        piece = SPACE_BEFORE_MARK.sub("", text[end:following])
        if piece[:1] in MARKS:  # "Call mom tomorrow, then": the comma joins the word before
            kept[-1] = kept[-1].rstrip()
        kept.append(piece)
    return " ".join("".join(kept).split())
