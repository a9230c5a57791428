"""A zone's `VTIMEZONE` from the zone database, written as the tz database's own VTIMEZONE files
are (vzic's): each stretch of years in which the clocks change by a rule as an `RRULE` (the last
one open-ended, as the zone's current rule goes on), and the changes that follow no rule on
their dates (`RDATE`s), from 1900 to 2100.

Written here because no maintained library writes rules: icalendar's `Timezone.from_tzinfo`
writes each kind of change as a `DTSTART` and a list of `RDATE`s, only from 1970 to 2038, and
ical.js (Thunderbird's) and vobject (dateutil's tzical) read a summer time an hour off from that.
`zoneinfo`, which `/api` reads times with, does not show a zone's changes: they are found by
asking it for each day's state (offset, DST, name), then the hour and the second of each change.
"""

import calendar
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

from todo_api.kit import zones

FIRST = datetime(1899, 12, 31, tzinfo=UTC)
LAST_YEAR = 2100  # a rule still in force in this year goes on (no UNTIL)
END = datetime(LAST_YEAR + 1, 1, 2, tzinfo=UTC)
_DAY, _HOUR, _SECOND = timedelta(days=1), timedelta(hours=1), timedelta(seconds=1)
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

State = tuple[timedelta, timedelta, str]  # UTC offset, DST, name


@dataclass(frozen=True)
class _Change:
    onset: datetime  # local time before the change (RFC 5545 §3.6.5: DTSTART), naive
    until: datetime  # the instant, in UTC
    before: State
    after: State

    @property
    def kind(self) -> tuple[timedelta, timedelta, str, bool, int, time]:
        """What one rule's changes share: offsets, name, DST, month and time of day."""
        return (
            self.before[0],
            self.after[0],
            self.after[2],
            bool(self.after[1]),
            self.onset.month,
            self.onset.time(),
        )


def _state(zone: Any, instant: datetime) -> State:
    local = instant.astimezone(zone)
    return local.utcoffset() or timedelta(0), local.dst() or timedelta(0), local.tzname() or ""


def _changes(zone: Any) -> Iterator[_Change]:
    """The zone's changes from 1900 to 2100, to the second (two within an hour count as one)."""
    day = FIRST
    state = _state(zone, day)
    while day < END:
        if _state(zone, day + _DAY) != state:
            for hour in range(24):
                start = day + hour * _HOUR
                if _state(zone, start + _HOUR) == state:
                    continue
                low, high = 0, 3600  # seconds after `start`: still `state`, changed
                while high - low > 1:
                    middle = (low + high) // 2
                    if _state(zone, start + middle * _SECOND) == state:
                        low = middle
                    else:
                        high = middle
                at = start + high * _SECOND
                after = _state(zone, at)
                onset = (at + state[0]).replace(tzinfo=None)
                yield _Change(onset, at, state, after)
                state = after
        day += _DAY


Rule = tuple[str, int, int]  # "day" and the day; "last" or "from" a day, and the weekday


def _rules(onset: datetime) -> set[Rule]:
    """The yearly rules a change's day follows: its day of the month, the last of its
    weekday, or the first of its weekday on or after a day (the Sunday on or after the 8th:
    the second Sunday)."""
    month_days = calendar.monthrange(onset.year, onset.month)[1]
    weekday = onset.weekday()
    found = {("day", onset.day, 0)}
    if onset.day + 7 > month_days:
        found.add(("last", 0, weekday))
    shortest = 28 if onset.month == 2 else month_days
    found |= {
        ("from", first, weekday)
        for first in range(max(1, onset.day - 6), onset.day + 1)
        if first + 6 <= shortest
    }
    return found


def _rrule(rule: Rule, month: int) -> dict[str, Any]:
    kind, day, weekday = rule
    recur: dict[str, Any] = {"FREQ": "YEARLY", "BYMONTH": month}
    if kind == "day":
        recur["BYMONTHDAY"] = day
    elif kind == "last":
        recur["BYDAY"] = f"-1{_WEEKDAYS[weekday]}"
    elif day % 7 == 1:
        recur["BYDAY"] = f"{day // 7 + 1}{_WEEKDAYS[weekday]}"
    else:
        recur["BYDAY"] = _WEEKDAYS[weekday]
        recur["BYMONTHDAY"] = list(range(day, day + 7))
    return recur


def _preferred(rules: set[Rule]) -> Rule:
    """The plainest of equal rules: the last weekday, an nth weekday, then any other."""
    return min(rules, key=lambda r: (r[0] != "last", r[0] != "from" or r[1] % 7 != 1, r))


def _observance(changes: list[_Change], rule: Rule | None) -> TimezoneStandard | TimezoneDaylight:
    """The observance of changes of one kind: by a rule (an RRULE from the first to the
    last), or each change on its own date (one RDATE line each: ical.js reads one value of
    an RDATE line)."""
    first, last = changes[0], changes[-1]
    part = TimezoneDaylight() if first.after[1] else TimezoneStandard()
    part.add("DTSTART", first.onset)
    if rule is not None:
        recur = _rrule(rule, first.onset.month)
        if last.onset.year < LAST_YEAR:
            # A day after the last change (the next would be a year on): dateutil's tzical
            # (vobject) reads UNTIL as a local time and would miss a change east of UTC.
            recur["UNTIL"] = last.until + _DAY
        part.add("RRULE", recur)
    elif len(changes) > 1:
        for change in changes:  # the first too: ical.js leaves DTSTART out of a set of RDATEs
            part.add("RDATE", change.onset)
    part.add("TZNAME", first.after[2])
    part.add("TZOFFSETFROM", first.before[0])
    part.add("TZOFFSETTO", first.after[0])
    return part


def _observances(changes: list[_Change]) -> Iterator[TimezoneStandard | TimezoneDaylight]:
    """Each run of changes of one kind in consecutive years that follow one rule as an
    RRULE; the other changes by what they change to, each on its own date."""
    kinds: dict[tuple[Any, ...], list[_Change]] = defaultdict(list)
    for each in changes:
        kinds[each.kind].append(each)
    alone: dict[tuple[Any, ...], list[_Change]] = defaultdict(list)
    for same in kinds.values():
        run, rules = [same[0]], _rules(same[0].onset)
        following: list[_Change | None] = [*same[1:], None]
        for change in following:
            if change is not None and change.onset.year == run[-1].onset.year + 1:
                common = rules & _rules(change.onset)
                if common:
                    run.append(change)
                    rules = common
                    continue
            if len(run) > 1:
                yield _observance(run, _preferred(rules))
            else:
                alone[run[0].kind[:4]].append(run[0])
            if change is not None:
                run, rules = [change], _rules(change.onset)
    for same in alone.values():
        yield _observance(sorted(same, key=lambda c: c.until), None)


def vtimezone(name: str) -> Timezone:
    """The VTIMEZONE of a zone of the database (its TZID the name)."""
    zone = zones.zone(name)
    start = _state(zone, FIRST)
    first = _Change((FIRST + start[0]).replace(tzinfo=None), FIRST, start, start)
    parts = [_observance([first], None), *_observances(list(_changes(zone)))]
    timezone = Timezone()
    timezone.add("TZID", name)
    for part in sorted(parts, key=lambda p: p.DTSTART):
        timezone.add_component(part)
    return timezone
