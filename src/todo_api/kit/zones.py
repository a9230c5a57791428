"""Time zones: IANA names as the `tzdata` package spells them, and the days they divide time into.

A zone is stored as its name (links such as `Asia/Calcutta` kept as given) and read with
`zoneinfo`, whose local times follow RFC 5545 when the clocks change: a time in the gap is read
with the offset before the gap, a repeated time is its first occurrence (PEP 495's fold=0).
"""

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from todo_api.tables.users import DEFAULT_ZONE, ZONE_MAX_LENGTH

__all__ = [
    "DEFAULT_ZONE",
    "FIRST_INSTANT",
    "LAST_INSTANT",
    "ZONE_MAX_LENGTH",
    "ZoneName",
    "day_bounds",
    "known_zones",
    "start_of",
    "zone",
]

FIRST_INSTANT = datetime.min.replace(tzinfo=UTC)
LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


# In the zone database's files, not locations: `Factory` (a placeholder for "not set yet").
NOT_LOCATIONS = frozenset({"Factory"})


@functools.cache
def known_zones() -> frozenset[str]:
    """The IANA database's zone and link names, as the `tzdata` package lists them: the same
    on every machine. Not the host's zone directory, which also holds `localtime` (the host's
    own zone, so two instances could read a date differently) and `posixrules`. Read once,
    and only names: no path or file is ever opened from what a client sent."""
    listed = resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
    return frozenset(listed.split()) - NOT_LOCATIONS


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone of a stored (so known) name."""
    return zoneinfo.ZoneInfo(name)


def _known(value: str) -> str:
    if value not in known_zones():
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin or UTC")
    return value


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin or UTC")
    return value


# A zone in a request body: a known name, exactly as the database spells it.
ZoneName = Annotated[
    str,
    BeforeValidator(_text),
    AfterValidator(_known),
    Field(
        description="An IANA time zone name (links such as Asia/Calcutta are kept as given)",
        examples=["Europe/Berlin"],
        json_schema_extra={"minLength": 1, "maxLength": ZONE_MAX_LENGTH},
    ),
]


def start_of(day: date, zone_name: str) -> datetime:
    """The instant `day` starts in the zone, in UTC (clamped to the first and last instants
    a timestamp holds). A day that starts in a gap (clocks jumping at midnight) starts when
    the gap ends, as RFC 5545 reads a time in a gap."""
    local = datetime.combine(day, time.min, zone(zone_name))
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return FIRST_INSTANT if day.year == 1 else LAST_INSTANT


def day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The instants `day` starts and the next day starts in the zone (the second excluded)."""
    following = day + timedelta(days=1) if day < date.max else None
    end = start_of(following, zone_name) if following is not None else LAST_INSTANT
    return start_of(day, zone_name), end
