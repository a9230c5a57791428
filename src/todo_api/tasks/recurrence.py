"""Recurring tasks: the subset of RFC 5545 RRULE the service takes, and the next due date.

Taken: FREQ=DAILY|WEEKLY|MONTHLY|YEARLY (required), INTERVAL, BYDAY (weekdays, no ordinals),
and one of COUNT or UNTIL. Rules are read on the wall clock of the task's zone: a task due at
09:00 in Berlin recurs at 09:00 Berlin time whatever the offset that day, and BYDAY names the
weekday there; an all-day task recurs by date. A local time that falls in a gap is read with the
offset before the gap, a repeated one is its first occurrence (RFC 5545, as `zoneinfo` reads
fold=0). COUNT counts the occurrences left, this one included: the next occurrence carries COUNT
one lower. UNTIL bounds a timed task's instants, and an all-day task's dates by its UTC date.
"""

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
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
# A rule written on a task must give a date after its due date within this long.
HORIZON = timedelta(days=3653)  # ten years, leap days included


_DAY = "(MO|TU|WE|TH|FR|SA|SU)"
_UNTIL_DATE = "(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|1[0-9]|2[0-8])"
_UNTIL_TIME = "(T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z)?"
# For the OpenAPI document: the rules as the service writes them (what it answers, and what a
# client is best to send). Every rule this pattern admits is taken, given a due date it follows
# (INTERVAL up to 9 keeps a yearly rule within the ten-year horizon). The service also reads
# other spellings: lower case, the parts in any order, INTERVAL and COUNT up to 1000.
RULE_PATTERN = (
    "^(RRULE:)?FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)"
    "(;INTERVAL=[1-9])?"
    f"(;BYDAY={_DAY}(,{_DAY}){{0,6}})?"
    f"(;COUNT=[1-9][0-9]{{0,2}}|;UNTIL={_UNTIL_DATE}{_UNTIL_TIME})?$"
)


class InvalidRule(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    frequency: str
    interval: int = 1
    weekdays: tuple[str, ...] = ()
    count: int | None = None
    until: datetime | None = None

    def __str__(self) -> str:
        parts = [f"FREQ={self.frequency}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.weekdays:
            parts.append(f"BYDAY={','.join(self.weekdays)}")
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until.strftime('%Y%m%dT%H%M%SZ')}")
        return ";".join(parts)


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
    unsupported = set(values) - {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"}
    if unsupported:
        raise InvalidRule(f"{', '.join(sorted(unsupported))} is not supported")
    frequency = values.get("FREQ")
    if frequency not in FREQUENCIES:
        raise InvalidRule("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in values and "UNTIL" in values:
        raise InvalidRule("COUNT and UNTIL cannot both be given")
    weekdays = tuple(dict.fromkeys(values["BYDAY"].split(","))) if "BYDAY" in values else ()
    if any(day not in WEEKDAYS for day in weekdays):
        raise InvalidRule("BYDAY takes weekdays: MO, TU, WE, TH, FR, SA, SU")
    return Rule(
        frequency=frequency,
        interval=_number(values, "INTERVAL") or 1,
        weekdays=weekdays,
        count=_number(values, "COUNT"),
        until=_until(values["UNTIL"]) if "UNTIL" in values else None,
    )


def _number(values: dict[str, str], name: str) -> int | None:
    if name not in values:
        return None
    text = values[name]
    # ASCII digits only: str.isdigit() is also true for "²" and "٣".
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_NUMBER:
        raise InvalidRule(f"{name} must be a whole number from 1 to {MAX_NUMBER}")
    return int(text)


def _until(value: str) -> datetime:
    for layout in ("%Y%m%dT%H%M%SZ", "%Y%m%d"):
        try:
            parsed = datetime.strptime(value, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        # A date alone means up to the end of that day.
        return parsed if "T" in value else datetime.combine(parsed.date(), time.max, UTC)
    raise InvalidRule("UNTIL must be a date (20261231) or a UTC time (20261231T235959Z)")


def next_occurrence(rule: Rule, due: Due, zone: tzinfo = UTC) -> tuple[Due, Rule] | None:
    """The due time (or date) after `due`, read in `zone`, and the rule the next task
    carries; None when the rule ends."""
    if rule.count == 1:
        return None
    following = _following(rule, due, zone)
    if following is None or not _within_until(rule, following):
        return None
    remaining = rule.count - 1 if rule.count is not None else None
    return following, replace(rule, count=remaining)


def recurs_soon(rule: Rule, due: Due, zone: tzinfo = UTC) -> bool:
    """Whether the rule's pattern (FREQ, INTERVAL, BYDAY) gives a date after `due` within
    HORIZON. COUNT and UNTIL are left aside here (see `leaves_an_occurrence`): the last task of
    a series carries a rule they end, and that series is finished, not broken."""
    start = _wall_clock(due, zone)
    if start is None:  # beyond the years a local time can be written in
        return True
    following = _next_date(rule, start)
    if following is None:
        return False
    try:
        return following <= start + HORIZON
    except OverflowError:  # the horizon lies past year 9999, and the date before it
        return True


def leaves_an_occurrence(rule: Rule, due: Due, zone: tzinfo = UTC) -> bool:
    """Whether COUNT and UNTIL leave an occurrence after `due` (COUNT=1 leaves none, nor
    does an UNTIL before the pattern's next date): a rule a client writes must."""
    return next_occurrence(rule, due, zone) is not None


def _all_day(due: Due) -> bool:
    return not isinstance(due, datetime)


def _wall_clock(due: Due, zone: tzinfo) -> datetime | None:
    """The naive local time the rule is read from: a date's midnight, or the instant on the
    zone's clock (None when that lies outside years 1 to 9999)."""
    if not isinstance(due, datetime):
        return datetime.combine(due, time.min)
    try:
        return _aware(due).astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return None


def _following(rule: Rule, due: Due, zone: tzinfo) -> Due | None:
    start = _wall_clock(due, zone)
    local = _next_date(rule, start) if start is not None else None
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


def _aware(moment: datetime) -> datetime:
    """The first and last instants come from asyncpg without a zone (PostgreSQL keeps them as
    -infinity and infinity): they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _next_date(rule: Rule, after: datetime) -> datetime | None:
    """The pattern's first date after `after` (the series' start, a naive local time), or
    None before year 9999 ends. The search is bounded: it never walks period after period
    finding nothing."""
    if rule.frequency == "DAILY" and rule.weekdays:
        # For DAILY, BYDAY only keeps some of the days INTERVAL apart (dateutil would walk them
        # to year 9999 when none matches). Their weekdays repeat within seven steps, so the
        # first seven after the start decide.
        wanted = {WEEKDAYS[day].weekday for day in rule.weekdays}
        days = rrule.rrule(rrule.DAILY, dtstart=after, interval=rule.interval, count=8)
        return next((day for day in islice(days, 1, None) if day.weekday() in wanted), None)
    # Every other pattern gives a date within a few periods: WEEKLY, MONTHLY and YEARLY with
    # BYDAY in every period; MONTHLY on a day some months lack within 12 periods; YEARLY on
    # 29 February within a few. So dateutil's own search is short.
    series = rrule.rrule(
        FREQUENCIES[rule.frequency],
        dtstart=after,
        interval=rule.interval,
        byweekday=[WEEKDAYS[day] for day in rule.weekdays] or None,
    )
    following: datetime | None = series.after(after)
    return following
