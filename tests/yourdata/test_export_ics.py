"""The export as iCalendar (`GET /api/export?format=ics`): the same tasks as the JSON export,
one VCALENDAR of VTODOs by the CalDAV mapping (a task's files as its ATTACH lines, under
PUBLIC_URL or the request's base), one VTIMEZONE per zone used; read by `icalendar` and
`vobject`; and a round trip through the ics import keeps the tasks."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
import vobject
from icalendar import Calendar

from tests.files.helpers import PNG, upload
from tests.lists.sharing import share
from tests.support import app_for, assert_error, client_for, make_settings, token_for
from tests.yourdata.helpers import counts, export, import_file
from todo_api.config import Settings

# What the service stamps anew on each task it makes.
STAMPS = ("DTSTAMP", "CREATED", "LAST-MODIFIED", "SEQUENCE")


async def _ics_export(client: httpx.AsyncClient) -> bytes:
    response = await client.get("/api/export", params={"format": "ics"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert disposition.endswith('.ics"')
    return response.content


async def _post(client: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    made: dict[str, Any] = response.json()
    return made


async def _fill(client: httpx.AsyncClient) -> None:
    """An account with a bit of everything a client sets, in three zones."""
    work = await _post(client, "/api/lists", name="Work", color="#ff8800")
    report = await _post(
        client,
        "/api/tasks",
        title="Quarterly report",
        description="Numbers from finance,\nthen the charts; a \\ too",
        list_id=work["id"],
        priority="high",
        due_at="2031-03-31T15:00:00Z",
        timezone="Europe/Berlin",
        tags=["finance", "q1"],
        reminders=[{"before_due": "PT30M"}, {"at": "2031-03-30T08:00:00Z"}],
    )
    await _post(client, "/api/tasks", title="Gather numbers", parent_id=report["id"])
    charts = await _post(client, "/api/tasks", title="Draw charts", parent_id=report["id"])
    await _post(
        client,
        "/api/tasks",
        title="Stand-up",
        list_id=work["id"],
        due_at="2031-01-06T14:30:00Z",
        timezone="America/New_York",
        recurrence="FREQ=WEEKLY;BYDAY=MO,WE",
        reminders=[{"before_due": "PT10M"}],
    )
    await _post(
        client,
        "/api/tasks",
        title="Berlin again",
        due_at="2031-07-01T08:00:00Z",
        timezone="Europe/Berlin",
    )
    await _post(
        client,
        "/api/tasks",
        title="Water plants",
        due_date="2031-02-01",
        recurrence="FREQ=DAILY;INTERVAL=3",
        priority="low",
        reminders=[{"before_due": "PT1H"}],
    )
    done = await _post(client, "/api/tasks", title="Renew passport", priority="medium")
    await _post(client, "/api/tasks", title="Call the bank", tags=["phone"])
    await _post(client, f"/api/tasks/{done['id']}/complete")
    await _post(client, f"/api/tasks/{charts['id']}/complete")


def _todos(body: bytes) -> dict[str, Any]:
    (calendar,) = Calendar.from_ical(body, multiple=True)
    return {str(todo["UID"]): todo for todo in calendar.walk("VTODO")}


async def test_the_ics_export_is_the_users_tasks_with_each_zone_once(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as kim, person() as lee:
        await _fill(kim)
        theirs = await _post(lee, "/api/lists", name="Lee's")
        await share(lee, kim, theirs["id"], "editor")
        # In Lee's list, so Lee's: in neither of Kim's exports.
        await _post(kim, "/api/tasks", title="Elsewhere", list_id=theirs["id"])
        await _post(lee, "/api/tasks", title="Lee's own", timezone="Asia/Tokyo")

        body = await _ics_export(kim)
        document = await export(kim)
        todos = _todos(body)
        assert set(todos) == {task["id"] for task in document["tasks"]}
        assert {str(t["SUMMARY"]) for t in todos.values()} == {
            t["title"] for t in document["tasks"]
        }

        calendar = Calendar.from_ical(body)
        zones = [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
        assert sorted(zones) == ["America/New_York", "Europe/Berlin"]
        # Each before the first task that uses it.
        text = body.decode()
        for zone in zones:
            assert text.index(f"TZID:{zone}") < text.index(f"TZID={zone}")
        by_title = {str(t["SUMMARY"]): t for t in todos.values()}
        report = by_title["Quarterly report"]
        assert str(report["DUE"].params["TZID"]) == "Europe/Berlin"
        assert report["DUE"].dt.isoformat() == "2031-03-31T17:00:00+02:00"
        assert str(by_title["Draw charts"]["RELATED-TO"]) == str(report["UID"])
        assert str(by_title["Draw charts"]["STATUS"]) == "COMPLETED"
        assert by_title["Water plants"]["DUE"].params["VALUE"] == "DATE"

        # vobject (Radicale's and khal's parser) reads it the same way.
        parsed = vobject.readOne(text)
        assert {str(todo.uid.value) for todo in parsed.vtodo_list} == set(todos)
        stand_up = next(t for t in parsed.vtodo_list if t.summary.value == "Stand-up")
        assert stand_up.due.value == datetime.fromisoformat("2031-01-06T14:30:00+00:00")
        assert stand_up.due.value.utcoffset().total_seconds() == -5 * 3600
        assert stand_up.rrule.value == "FREQ=WEEKLY;BYDAY=MO,WE"


async def test_an_empty_account_is_an_empty_calendar(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        body = await _ics_export(client)
        calendar = Calendar.from_ical(body)
        assert calendar.subcomponents == []
        assert str(calendar["VERSION"]) == "2.0"


@pytest.mark.parametrize("value", ["xml", "ICS", ""])
async def test_an_unknown_format_is_refused_naming_it(
    person: Callable[..., httpx.AsyncClient], value: str
) -> None:
    async with person() as client:
        answer = await client.get("/api/export", params={"format": value})
        details = assert_error(answer, 400, "VALIDATION_ERROR")["details"]
        assert [detail["field"] for detail in details] == ["format"]


async def test_what_a_calendar_app_gave_comes_out_as_caldav_writes_it(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        me = (await client.get("/api/auth/me")).json()
        sent = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\n"
            "BEGIN:VTODO\r\nUID:B1A2C3D4-APPLE\r\nDTSTAMP:20310101T100000Z\r\n"
            "SUMMARY:Pick up the suit\r\nX-APPLE-SORT-ORDER:42\r\nLOCATION:Tailor\r\n"
            "PERCENT-COMPLETE:10\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        )
        path = f"/dav/calendars/{me['id']}/inbox/suit.ics"
        put = await client.put(path, content=sent, headers={"Content-Type": "text/calendar"})
        assert put.status_code == 201, put.text
        (task,) = (await client.get("/api/tasks")).json()
        changed = await client.put(f"/api/tasks/{task['id']}", json={"title": "Pick up suit"})
        assert changed.status_code == 200, changed.text

        served = await client.get(path)
        assert served.status_code == 200, served.text
        (dav_todo,) = Calendar.from_ical(served.content).walk("VTODO")
        exported = _todos(await _ics_export(client))
        assert list(exported) == ["B1A2C3D4-APPLE"]
        assert exported["B1A2C3D4-APPLE"].to_ical() == dav_todo.to_ical()
        assert str(dav_todo["X-APPLE-SORT-ORDER"]) == "42"
        assert str(dav_todo["LOCATION"]) == "Tailor"
        assert str(dav_todo["SUMMARY"]) == "Pick up suit"


def _comparable(body: bytes) -> dict[str, bytes]:
    """Each VTODO by its UID, without what the service stamps when it makes a task."""
    found = {}
    for uid, todo in _todos(body).items():
        for name in STAMPS:
            todo.pop(name, None)
        found[uid] = todo.to_ical()
    return found


def _task_content(task: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    completed = task["completed_at"]
    return {
        **{
            name: task[name]
            for name in (
                "title",
                "description",
                "is_completed",
                "priority",
                "due_at",
                "due_date",
                "timezone",
                "tags",
                "recurrence",
            )
        },
        # iCalendar's times are to the second.
        "completed_at": completed and datetime.fromisoformat(completed).replace(microsecond=0),
        "reminders": [{k: v for k, v in r.items() if k != "id"} for r in task["reminders"]],
        "parent": titles.get(task["parent_id"]),
    }


async def test_an_ics_round_trip_keeps_the_tasks(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as first, person() as second:
        await _fill(first)
        exported = await _ics_export(first)
        answer = await import_file(second, "ics", exported, content_type="text/calendar")
        assert answer.status_code == 200, answer.text
        assert counts(answer) == {"lists": 1, "tasks": 8, "skipped": []}
        # One calendar: every task in one new list (the JSON export keeps lists).
        (made,) = (await second.get("/api/lists")).json()
        assert made["name"] == "Imported calendar"

        again = await _ics_export(second)
        assert _comparable(again) == _comparable(exported)

        before, after = await export(first), await export(second)

        def contents(document: dict[str, Any]) -> list[dict[str, Any]]:
            titles = {task["id"]: task["title"] for task in document["tasks"]}
            found = [_task_content(task, titles) for task in document["tasks"]]
            return sorted(found, key=lambda item: item["title"])

        assert contents(after) == contents(before)


WINDOWS_ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\n"
    "DTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\n"
    "DTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
)


def _outlook_task(uid: str, day: int) -> str:
    return (
        f"BEGIN:VTODO\r\nUID:{uid}\r\nSUMMARY:Claim {day}\r\n"
        f"DTSTART;TZID=W. Europe Standard Time:203107{day:02}T090000\r\n"
        f"DUE;TZID=W. Europe Standard Time:203107{day:02}T170000\r\nEND:VTODO\r\n"
    )


async def test_a_zone_a_client_named_its_own_way_is_written_once_and_read_back(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """Outlook names zones the Windows way: DUE and DTSTART are read in the IANA zone it names,
    which the export writes once for all the tasks naming it (a TZID names one VTIMEZONE in a
    calendar) and another importer resolves; the wall times stay the file's."""
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n"
        + WINDOWS_ZONE
        + "".join(_outlook_task(f"o{day}", day) for day in (14, 15, 16))
        + "END:VCALENDAR\r\n"
    )
    async with person() as first, person() as second:
        answer = await import_file(first, "ics", body.encode(), content_type="text/calendar")
        assert answer.status_code == 200, answer.text
        exported = await _ics_export(first)
        calendar = Calendar.from_ical(exported)
        zones = [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")]
        assert zones == ["Europe/Berlin"]
        for todo in calendar.walk("VTODO"):
            start = todo["DTSTART"].dt
            assert start.hour == 9
            assert start.utcoffset().total_seconds() == 2 * 3600  # the file's zone, in summer
        parsed = vobject.readOne(exported.decode())
        assert {todo.dtstart.value.utcoffset().total_seconds() for todo in parsed.vtodo_list} == {
            2 * 3600
        }

        again = await import_file(second, "ics", exported, content_type="text/calendar")
        assert again.status_code == 200, again.text
        assert _comparable(await _ics_export(second)) == _comparable(exported)


def _custom_zone_calendar(name: str, offset: str, zone: str = "Customized Time Zone") -> str:
    """Outlook's way with a zone of the user's own: always named "Customized Time Zone"."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n"
        f"X-WR-CALNAME:{name}\r\n"
        f"BEGIN:VTIMEZONE\r\nTZID:{zone}\r\nBEGIN:STANDARD\r\n"
        f"DTSTART:16010101T000000\r\nTZOFFSETFROM:{offset}\r\nTZOFFSETTO:{offset}\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n"
        f"BEGIN:VTODO\r\nUID:{name}\r\nSUMMARY:{name}\r\n"
        f"DTSTART;TZID={zone}:20310714T090000\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )


async def test_two_zones_a_client_gave_one_name_keep_their_own_times(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    """One TZID, two different VTIMEZONEs (two calendars): the export writes the second under
    a free name, and each task's kept time still reads in its own zone."""
    zone = "Customized Time Zone"
    body = _custom_zone_calendar("East", "+0500") + _custom_zone_calendar("West", "-0300")
    async with person() as client:
        answer = await import_file(client, "ics", body.encode(), content_type="text/calendar")
        assert answer.status_code == 200, answer.text
        exported = await _ics_export(client)
    calendar = Calendar.from_ical(exported)
    zones = sorted(str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE"))
    assert zones == [zone, f"{zone} (2)"]
    # Read from the file itself (icalendar would take the zone it heard of first by that name).
    offsets = {
        str(zone["TZID"]): zone.walk("STANDARD")[0]["TZOFFSETTO"].td.total_seconds() / 3600
        for zone in calendar.walk("VTIMEZONE")
    }
    named = {
        str(todo["SUMMARY"]): offsets[str(todo["DTSTART"].params["TZID"])]
        for todo in calendar.walk("VTODO")
    }
    assert named == {"East": 5, "West": -3}


async def test_a_tasks_section_is_in_the_ics_export_as_caldav_writes_it(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        home = (await client.post("/api/lists", json={"name": "Home"})).json()
        made = await client.post(f"/api/lists/{home['id']}/sections", json={"name": "Dairy"})
        body = {"title": "Milk", "list_id": home["id"], "section_id": made.json()["id"]}
        assert (await client.post("/api/tasks", json=body)).status_code == 201
        assert (await client.post("/api/tasks", json={"title": "Bread"})).status_code == 201
        calendar = Calendar.from_ical(await _ics_export(client))
        sections = {str(t["SUMMARY"]): t.get("X-TODO-API-SECTION") for t in calendar.walk("VTODO")}
        assert sections == {"Milk": "Dairy", "Bread": None}


def _attach_lines(todo: Any) -> list[tuple[str, str, str]]:
    """(url, FMTTYPE, FILENAME) of each ATTACH of a VTODO."""
    found = todo.get("ATTACH", [])
    values = found if isinstance(found, list) else [found]
    return [(str(a), a.params["FMTTYPE"], a.params["FILENAME"]) for a in values]


async def test_a_tasks_files_are_its_attach_lines_as_caldav_writes_them(
    person: Callable[..., httpx.AsyncClient],
) -> None:
    async with person() as client:
        me = (await client.get("/api/auth/me")).json()
        plain = await _post(client, "/api/tasks", title="Taxes")
        note = await upload(client, plain["id"], b"receipts\n", "notes; q:1, 2026.txt")
        scan = await upload(client, plain["id"], PNG, "scan.png", "image/png")
        # A task a calendar app gave (what it gave is kept: written through icalendar).
        sent = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14.4//EN\r\n"
            "BEGIN:VTODO\r\nUID:SUIT-APPLE\r\nDTSTAMP:20310101T100000Z\r\n"
            "SUMMARY:Pick up the suit\r\nLOCATION:Tailor\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
        )
        suit_path = f"/dav/calendars/{me['id']}/inbox/suit.ics"
        put = await client.put(suit_path, content=sent, headers={"Content-Type": "text/calendar"})
        assert put.status_code == 201, put.text
        suit = next(t for t in (await client.get("/api/tasks")).json() if t["title"] != "Taxes")
        ticket = await upload(client, suit["id"], b"%PDF-1.4\n", "ticket.pdf", "application/pdf")
        await _post(client, "/api/tasks", title="No files")

        exported = {str(t["SUMMARY"]): t for t in _todos(await _ics_export(client)).values()}
        base = "http://test/api/attachments"
        assert _attach_lines(exported["Taxes"]) == [
            (f"{base}/{note['id']}/content", "text/plain", note["name"]),
            (f"{base}/{scan['id']}/content", "image/png", "scan.png"),
        ]
        assert _attach_lines(exported["Pick up the suit"]) == [
            (f"{base}/{ticket['id']}/content", "application/pdf", "ticket.pdf")
        ]
        assert "ATTACH" not in exported["No files"]
        # Each VTODO as CalDAV serves it, the ATTACH lines and all.
        for title, path in [
            ("Taxes", f"/dav/calendars/{me['id']}/inbox/{plain['id']}.ics"),
            ("Pick up the suit", suit_path),
        ]:
            served = await client.get(path)
            assert served.status_code == 200, served.text
            (dav_todo,) = Calendar.from_ical(served.content).walk("VTODO")
            assert exported[title].to_ical() == dav_todo.to_ical()


async def test_the_exports_file_urls_are_under_public_url(settings: Settings) -> None:
    public = make_settings(
        settings.database_url or "", settings.data_dir, public_url="https://tasks.example.com/"
    )
    async with app_for(public) as app, client_for(app, token_for(public)) as client:
        task = await _post(client, "/api/tasks", title="Public")
        made = await upload(client, task["id"])
        (todo,) = _todos(await _ics_export(client)).values()
        assert [url for url, _, _ in _attach_lines(todo)] == [
            f"https://tasks.example.com/api/attachments/{made['id']}/content"
        ]
