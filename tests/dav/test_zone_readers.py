"""Every VTIMEZONE the service writes gives, in each reader calendar apps use, the instant `/api`
has for every due time: ical.js (Thunderbird's library) and node-ical from npm, vobject
(Radicale's, khal's) and icalendar from PyPI; in zones with and without daylight saving time,
north and south, one that gave it up, for dates in 1900, 1985, 2026 and 2045. The objects are read
as CalDAV's GET and REPORT give them and as the ics export does.

The npm readers are installed once per machine into tests/dav/ical_readers/node_modules
(ignored by git) from the committed package.json and lock file."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar

from tests.dav.helpers import NS, DavUser, npm_installed, xml

HERE = Path(__file__).parent / "ical_readers"
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",  # southern: summer time in January
    "Asia/Kolkata",  # none
    "America/Sao_Paulo",  # gave it up in 2019
    "Europe/London",
]
# 1900: Kolkata and Sao Paulo kept local mean time, whose offsets have seconds.
DAYS = [(year, month) for year in (1900, 1985, 2026, 2045) for month in (1, 7)]
QUERY = (
    b'<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
    b"<d:prop><d:getetag/><c:calendar-data/></d:prop>"
    b'<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO"/></c:comp-filter>'
    b"</c:filter></c:calendar-query>"
)


@pytest.fixture(scope="session")
def ical_readers() -> Path:
    """The folder whose node_modules holds ical.js and node-ical (installed on first use)."""
    npm_installed(HERE, "node-ical")
    return npm_installed(HERE, "ical.js")


async def _npm_due_times(folder: Path, texts: list[str]) -> dict[str, dict[str, datetime]]:
    process = await asyncio.create_subprocess_exec(
        "node",
        str(folder / "due_times.mjs"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(json.dumps(texts).encode()), 120)
    assert process.returncode == 0, err.decode()
    return {
        reader: {uid: datetime.fromisoformat(at) for uid, at in read.items()}
        for reader, read in json.loads(out).items()
    }


def _python_due_times(texts: list[str]) -> dict[str, dict[str, datetime]]:
    seen: dict[str, dict[str, datetime]] = {"vobject": {}, "icalendar": {}}
    for text in texts:
        for todo in vobject.readOne(text).vtodo_list:
            seen["vobject"][todo.uid.value] = todo.due.value.astimezone(UTC)
        for component in Calendar.from_ical(text).walk("VTODO"):
            seen["icalendar"][str(component["UID"])] = component["DUE"].dt.astimezone(UTC)
    return seen


async def _written(ada: DavUser) -> dict[str, list[str]]:
    """The calendar objects of Ada's inbox as CalDAV's GET and REPORT and the ics export give
    them."""
    inbox = f"{ada.home}inbox/"
    report = await ada.dav.request("REPORT", inbox, content=QUERY, headers={"Depth": "1"})
    assert report.status_code == 207, report.text
    reported = [node.text or "" for node in xml(report).iterfind(".//c:calendar-data", NS)]
    got = []
    for node in xml(report).iterfind("d:response/d:href", NS):
        response = await ada.dav.get(node.text or "")
        assert response.status_code == 200, response.text
        got.append(response.text)
    export = await ada.api.get("/api/export", params={"format": "ics"})
    assert export.status_code == 200, export.text
    return {"GET": got, "REPORT": reported, "export": [export.text]}


async def test_every_reader_reads_each_due_time_as_the_api_has_it(
    ada: DavUser, ical_readers: Path
) -> None:
    for zone in ZONES:
        for year, month in DAYS:
            due = datetime(year, month, 15, 9, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)
            made = await ada.api.post(
                "/api/tasks",
                json={
                    "title": f"{zone} {year}-{month}",
                    "due_at": due.isoformat(),
                    "timezone": zone,
                },
            )
            assert made.status_code == 201, made.text
    tasks = (await ada.api.get("/api/tasks", params={"limit": 100})).json()
    wanted = {t["id"]: datetime.fromisoformat(t["due_at"]) for t in tasks}
    assert len(wanted) == len(ZONES) * len(DAYS)
    for way, texts in (await _written(ada)).items():
        read = {**await _npm_due_times(ical_readers, texts), **_python_due_times(texts)}
        for reader, due_times in read.items():
            assert due_times == wanted, (way, reader)
