"""The VTIMEZONEs the service makes from the zone database (todo_api.ical.vtimezone): read
back as a zone (by icalendar, from the text alone), each gives the offset zoneinfo gives, from
1900 to 2100, in zones of every kind; the clocks' rules are RRULEs, the current one
open-ended. tests/dav/test_zone_readers.py reads them with ical.js, node-ical and vobject too."""

from datetime import datetime

import pytest
from icalendar import Timezone

from todo_api import ical
from todo_api.kit import zones

ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",  # winter time as negative DST
    "Europe/Moscow",
    "America/New_York",
    "America/Sao_Paulo",  # gave it up in 2019
    "America/Santiago",
    "America/Nuuk",  # changes at -1:00 local
    "Australia/Sydney",  # southern
    "Australia/Lord_Howe",  # half an hour of DST
    "Asia/Kolkata",  # none since 1945
    "Asia/Jerusalem",  # the Friday before the last Sunday
    "Asia/Tehran",
    "Africa/Casablanca",  # changes around Ramadan, date by date until 2087
    "Africa/Cairo",
    "Pacific/Apia",  # skipped a day
    "UTC",
]


@pytest.mark.parametrize("name", ZONES)
def test_the_vtimezone_gives_zoneinfos_offsets_from_1900_to_2100(name: str) -> None:
    text = ical.timezone_ical(name)
    read = Timezone.from_ical(text).to_tz(lookup_tzid=False)
    zone = zones.zone(name)
    for year in range(1900, 2101):
        for month in (1, 4, 7, 10):
            wall = datetime(year, month, 15, 9)
            assert wall.replace(tzinfo=read).utcoffset() == wall.replace(tzinfo=zone).utcoffset(), (
                wall
            )


def test_rules_are_rrules_the_current_one_open_ended() -> None:
    text = ical.timezone_ical("Europe/Berlin").decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n" in text
    assert "COMMENT" not in text  # icalendar's own said it only works from 1970 to 2038
    assert "TZOFFSETTO" in ical.timezone_ical("Asia/Kolkata").decode()
    assert "RRULE" not in ical.timezone_ical("Asia/Kolkata").decode()
