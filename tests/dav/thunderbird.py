"""Requests as Thunderbird 15x sends them to a CalDAV server (seen through a logging proxy in
front of this one): its VTODO text (Mozilla's PRODID, the zone as it writes it, CREATED,
LAST-MODIFIED and DTSTAMP, X-MOZ-GENERATION counting its changes, DUE and RECURRENCE-ID with a
TZID), new objects named `<UID>.ics` and PUT with `If-None-Match: *`, changes PUT with
`If-Match` and the ETag it holds, deletions with `If-Match` too."""

import httpx

PRODID = "-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN"
BERLIN = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "X-LIC-LOCATION:Europe/Berlin",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10",
    "END:STANDARD",
    "END:VTIMEZONE",
]


def todo(
    uid: str,
    summary: str,
    *lines: str,
    generation: int = 1,
    stamp: str = "20261120T101512Z",
) -> list[str]:
    """One VTODO as Thunderbird writes it; `lines` go after its SUMMARY (DUE, STATUS, ...)."""
    return [
        "BEGIN:VTODO",
        "CREATED:20261120T101500Z",
        f"LAST-MODIFIED:{stamp}",
        f"DTSTAMP:{stamp}",
        f"UID:{uid}",
        f"SUMMARY:{summary}",
        *lines,
        f"X-MOZ-GENERATION:{generation}",
        "END:VTODO",
    ]


def calendar(*todos: list[str]) -> bytes:
    """The VCALENDAR Thunderbird PUTs: its PRODID, the Berlin zone, the VTODOs."""
    lines = ["BEGIN:VCALENDAR", f"PRODID:{PRODID}", "VERSION:2.0", *BERLIN]
    for one in todos:
        lines += one
    return ("\r\n".join([*lines, "END:VCALENDAR"]) + "\r\n").encode()


async def create(client: httpx.AsyncClient, collection: str, uid: str, body: bytes) -> str:
    """A new object, as Thunderbird makes one: `<UID>.ics`, `If-None-Match: *`; its href."""
    href = f"{collection}{uid}.ics"
    headers = {"If-None-Match": "*", "Content-Type": "text/calendar; charset=utf-8"}
    made = await client.put(href, content=body, headers=headers)
    assert made.status_code == 201, made.text
    return href


async def modify(client: httpx.AsyncClient, href: str, etag: str, body: bytes) -> httpx.Response:
    """A change, as Thunderbird sends one: `If-Match` with the ETag it holds."""
    headers = {"If-Match": etag, "Content-Type": "text/calendar; charset=utf-8"}
    return await client.put(href, content=body, headers=headers)


async def delete(client: httpx.AsyncClient, href: str, etag: str) -> httpx.Response:
    return await client.delete(href, headers={"If-Match": etag})


async def etag_of(client: httpx.AsyncClient, href: str) -> str:
    got = await client.get(href)
    assert got.status_code == 200, got.text
    return got.headers["ETag"]
