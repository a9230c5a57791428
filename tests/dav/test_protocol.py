"""CalDAV through HTTP, on both databases: discovery, who may see what, objects with ETags,
errors in WebDAV's shape, and what a task keeps of the calendar object a client gave."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from icalendar import Calendar

from tests.dav.helpers import (
    NS,
    DavUser,
    basic,
    condition,
    new_list,
    propfind,
    sync,
    texts,
    vtodo,
    xml,
)
from tests.lists.sharing import share
from tests.support import client_for
from tests.tasks.feed_helpers import database
from todo_api.config import Settings

# --- Discovery and who ----------------------------------------------------------------------


async def test_discovery_leads_from_the_well_known_address_to_the_calendars(
    ada: DavUser,
) -> None:
    moved = await ada.dav.request("PROPFIND", "/.well-known/caldav")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/dav/"
    root = await propfind(ada.dav, "/dav/", "d:current-user-principal")
    assert root.status_code == 207
    principal = texts(xml(root), ".//d:current-user-principal/d:href")
    assert principal == [f"/dav/principals/{ada.id}/"]
    found = xml(
        await propfind(ada.dav, principal[0], "c:calendar-home-set", "c:calendar-user-address-set")
    )
    assert texts(found, ".//c:calendar-home-set/d:href") == [ada.home]
    assert texts(found, ".//c:calendar-user-address-set/d:href") == [f"mailto:{ada.email}"]
    options = await ada.dav.options("/dav/")
    assert options.headers["DAV"] == "1, 3, calendar-access"
    assert "REPORT" in options.headers["Allow"]


async def test_the_home_holds_the_inbox_and_every_list_the_user_sees(
    ada: DavUser, ben: DavUser
) -> None:
    own = await new_list(ada, "Errands")
    theirs = await new_list(ben, "Team")
    await share(ben.api, ada.api, theirs, "viewer")
    response = await propfind(
        ada.dav,
        ada.home,
        "d:displayname",
        "d:resourcetype",
        "cs:getctag",
        "d:sync-token",
        "c:supported-calendar-component-set",
        "d:current-user-privilege-set",
        depth="1",
    )
    assert response.status_code == 207
    root = xml(response)
    by_href = {
        node.findtext("d:href", namespaces=NS): node for node in root.iterfind("d:response", NS)
    }
    assert set(by_href) == {
        ada.home,
        f"{ada.home}inbox/",
        f"{ada.home}{own}/",
        f"{ada.home}{theirs}/",
    }
    names = {h: n.findtext(".//d:displayname", namespaces=NS) for h, n in by_href.items()}
    assert names[f"{ada.home}inbox/"] == "Inbox"
    assert names[f"{ada.home}{own}/"] == "Errands"
    team = by_href[f"{ada.home}{theirs}/"]
    assert team.find(".//d:resourcetype/c:calendar", NS) is not None
    assert team.find(".//c:supported-calendar-component-set/c:comp", NS).get("name") == "VTODO"
    privileges = {p.tag.split("}")[1] for p in team.iterfind(".//d:privilege/*", NS)}
    assert "read" in privileges
    assert not privileges & {"write", "write-content", "bind", "unbind"}
    own_privileges = {
        p.tag.split("}")[1] for p in by_href[f"{ada.home}{own}/"].iterfind(".//d:privilege/*", NS)
    }
    assert {"write-content", "bind", "unbind"} <= own_privileges


async def test_without_credentials_or_with_wrong_ones_it_asks_for_basic(
    app: FastAPI, ada: DavUser
) -> None:
    async with client_for(app) as nobody:
        for headers in ({}, basic("not-a-token"), {"Authorization": "Basic !!!"}):
            response = await nobody.request("PROPFIND", "/dav/", headers=headers)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"].startswith('Basic realm="todo-api"')
        bearer = {"Authorization": f"Bearer {ada.token}"}
        assert (await nobody.request("PROPFIND", "/dav/", headers=bearer)).status_code == 207


async def test_another_users_paths_are_not_found(ada: DavUser, ben: DavUser) -> None:
    errands = await new_list(ben, "Errands")
    await ben.dav.put(f"{ben.home}inbox/x.ics", content=vtodo("x", "Secret"))
    for path in (
        f"/dav/principals/{ben.id}/",
        ben.home,
        f"{ben.home}inbox/",
        f"{ben.home}{errands}/",
        f"{ben.home}inbox/x.ics",
    ):
        assert (await propfind(ada.dav, path, "d:displayname")).status_code == 404
        assert (await ada.dav.get(path)).status_code == 404
    assert (await ada.dav.put(f"{ben.home}inbox/y.ics", content=vtodo("y", "Y"))).status_code == 404
    assert (await ada.dav.get(f"{ada.home}{errands}/x.ics")).status_code == 404


async def test_depth_infinity_is_refused(ada: DavUser) -> None:
    response = await propfind(ada.dav, ada.home, "d:displayname", depth="infinity")
    assert response.status_code == 403
    assert "{DAV:}propfind-finite-depth" in condition(response)


# --- Safe XML -------------------------------------------------------------------------------

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol4;</d:displayname></d:prop></d:propfind>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:propfind>"""


async def test_hostile_xml_is_refused(ada: DavUser) -> None:
    deep = b'<d:propfind xmlns:d="DAV:">' + b"<d:x>" * 5000 + b"</d:x>" * 5000 + b"</d:propfind>"
    for body in (LAUGHS, XXE, deep, b"<d:propfind xmlns:d='DAV:'><unclosed>"):
        response = await ada.dav.request("PROPFIND", ada.home, content=body)
        assert response.status_code == 400
        assert b"root:" not in response.content
    huge = (
        b'<d:propfind xmlns:d="DAV:"><d:prop>' + b"<d:a/>" * 2_000_000 + b"</d:prop></d:propfind>"
    )
    response = await ada.dav.request("PROPFIND", ada.home, content=huge)
    assert response.status_code == 413
    assert xml(response).tag == "{DAV:}error"


# --- Objects --------------------------------------------------------------------------------

UNKNOWN = [
    "X-APPLE-SORT-ORDER:123456",
    "X-MOZ-GENERATION:3",
    "LOCATION:Market street\\, 4",
    "URL:https://example.com/list?a=1,2",
    "CLASS:PRIVATE",
    "GEO:48.85;2.35",
    "PERCENT-COMPLETE:40",
    "EXDATE;TZID=America/New_York:20261231T080000",
    "X-LONG-ONE:" + "y" * 150,
]


def props_of(body: bytes) -> dict[str, list[str]]:
    """Each property of the VTODO: its values, unfolded, parameters aside."""
    todo = next(c for c in Calendar.from_ical(body).subcomponents if c.name == "VTODO")
    found: dict[str, list[str]] = {}
    for name, value in todo.property_items(recursive=False):
        if name not in ("BEGIN", "END"):
            text = value.to_ical()
            found.setdefault(name, []).append(text.decode() if isinstance(text, bytes) else text)
    return found


async def test_an_object_comes_back_as_sent_then_keeps_what_the_mapping_does_not_cover(
    ada: DavUser,
) -> None:
    path = f"{ada.home}inbox/client-name.ics"
    body = vtodo(
        "client-uid-1",
        "Buy bread",
        "DESCRIPTION:Sourdough",
        "PRIORITY:5",
        "CATEGORIES:food,shop",
        "DUE;TZID=Europe/Berlin:20261224T090000",
        "RRULE:FREQ=WEEKLY;BYDAY=TH",
        *UNKNOWN,
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:Bread!",
        "TRIGGER;RELATED=END:-PT30M",
        "X-WR-ALARMUID:alarm-1",
        "END:VALARM",
        "BEGIN:VALARM",
        "ACTION:AUDIO",
        "TRIGGER:-PT2H",
        "END:VALARM",
    )
    created = await ada.dav.put(path, content=body, headers={"If-None-Match": "*"})
    assert created.status_code == 201, created.text
    got = await ada.dav.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/calendar")
    assert got.content == body
    assert got.headers["etag"] == created.headers["etag"]

    task = (await ada.api.get("/api/tasks")).json()[0]
    assert task["title"] == "Buy bread"
    assert task["description"] == "Sourdough"
    assert task["priority"] == "medium"
    assert task["tags"] == ["food", "shop"]
    assert task["timezone"] == "Europe/Berlin"
    assert task["due_at"] == "2026-12-24T08:00:00Z"
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=TH"
    assert [r["before_due"] for r in task["reminders"]] == ["PT30M"]

    changed = await ada.api.patch(
        f"/api/tasks/{task['id']}", json={"title": "Buy rye bread", "priority": "high"}
    )
    assert changed.status_code == 200
    again = await ada.dav.get(path)
    assert again.headers["etag"] != created.headers["etag"]
    assert again.headers["etag"] == changed.headers["etag"]
    sent, now = props_of(body), props_of(again.content)
    for line in UNKNOWN:
        name = line.split(":")[0].split(";")[0]
        assert now[name] == sent[name], name
    assert now["SUMMARY"] == ["Buy rye bread"]
    assert now["PRIORITY"] == ["1"]
    assert now["UID"] == ["client-uid-1"]
    assert now["RRULE"] == ["FREQ=WEEKLY;BYDAY=TH"]
    calendar = Calendar.from_ical(again.content)
    assert {tz["TZID"] for tz in calendar.walk("VTIMEZONE")} == {
        "Europe/Berlin",
        "America/New_York",
    }
    alarms = calendar.walk("VALARM")
    assert {str(a.get("X-WR-ALARMUID")) for a in alarms} >= {"alarm-1"}
    assert {str(a["ACTION"]) for a in alarms} == {"DISPLAY", "AUDIO"}


async def test_etags_race_with_the_api(ada: DavUser) -> None:
    path = f"{ada.home}inbox/race.ics"
    first = await ada.dav.put(path, content=vtodo("race", "One"))
    etag = first.headers["etag"]
    task_id = (await ada.api.get("/api/tasks")).json()[0]["id"]
    assert (await ada.api.patch(f"/api/tasks/{task_id}", json={"title": "Two"})).status_code == 200
    stale = await ada.dav.put(path, content=vtodo("race", "Three"), headers={"If-Match": etag})
    assert stale.status_code == 412
    current = (await ada.dav.get(path)).headers["etag"]
    fresh = await ada.dav.put(path, content=vtodo("race", "Three"), headers={"If-Match": current})
    assert fresh.status_code == 204
    api_stale = await ada.api.patch(
        f"/api/tasks/{task_id}", json={"title": "Four"}, headers={"If-Match": current}
    )
    assert api_stale.status_code == 412
    exists = await ada.dav.put(path, content=vtodo("race", "Five"), headers={"If-None-Match": "*"})
    assert exists.status_code == 412
    gone = await ada.dav.delete(path, headers={"If-Match": current})
    assert gone.status_code == 412
    deleted = await ada.dav.delete(path, headers={"If-Match": fresh.headers["etag"]})
    assert deleted.status_code == 204
    assert (await ada.api.get(f"/api/tasks/{task_id}")).status_code == 404


@pytest.mark.parametrize(
    ("body", "precondition"),
    [
        (b"this is not a calendar", "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"),
        (
            vtodo("tz", "Zone", "DUE;TZID=Mars/Olympus:20261224T090000"),
            "{urn:ietf:params:xml:ns:caldav}valid-calendar-data",
        ),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e\r\n"
            b"DTSTART:20261224T090000Z\r\nSUMMARY:Party\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "{urn:ietf:params:xml:ns:caldav}supported-calendar-component",
        ),
        (
            vtodo("a", "One").replace(
                b"END:VCALENDAR",
                b"BEGIN:VTODO\r\nUID:b\r\nSUMMARY:Two\r\nEND:VTODO\r\nEND:VCALENDAR",
            ),
            "{urn:ietf:params:xml:ns:caldav}valid-calendar-object-resource",
        ),
        (vtodo("long", "x" * 201), "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"),
        (
            vtodo("bell", "Bell", "X-BELL:a\x07b"),
            "{urn:ietf:params:xml:ns:caldav}valid-calendar-data",
        ),
        (vtodo("two", "One", "SUMMARY:Two"), "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"),
        (vtodo("u" * 256, "Long UID"), "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"),
        (
            vtodo("big", "Big", "DESCRIPTION:" + "z" * 300_000),
            "{urn:ietf:params:xml:ns:caldav}max-resource-size",
        ),
    ],
)
async def test_unacceptable_objects_are_refused_with_the_precondition(
    ada: DavUser, body: bytes, precondition: str
) -> None:
    response = await ada.dav.put(f"{ada.home}inbox/bad.ics", content=body)
    assert response.status_code == 403, response.text
    assert precondition in condition(response)
    assert (await ada.api.get("/api/tasks")).json() == []


async def test_names_longer_than_255_characters_are_refused(ada: DavUser) -> None:
    response = await ada.dav.put(f"{ada.home}inbox/{'n' * 252}.ics", content=vtodo("a", "A"))
    assert response.status_code == 403
    assert "at most 255" in response.text
    assert (await ada.api.get("/api/tasks")).json() == []
    fits = await ada.dav.put(f"{ada.home}inbox/{'n' * 251}.ics", content=vtodo("a", "A"))
    assert fits.status_code == 201
    calendar = await ada.dav.request("MKCALENDAR", f"{ada.home}{'c' * 256}/")
    assert calendar.status_code == 403
    assert (await ada.api.get("/api/lists")).json() == []


async def test_a_uid_is_one_object_per_calendar(ada: DavUser) -> None:
    assert (
        await ada.dav.put(f"{ada.home}inbox/a.ics", content=vtodo("same", "A"))
    ).status_code == 201
    response = await ada.dav.put(f"{ada.home}inbox/b.ics", content=vtodo("same", "B"))
    assert response.status_code == 403
    assert "{urn:ietf:params:xml:ns:caldav}no-uid-conflict" in condition(response)


async def _collection(user: DavUser, where: str) -> str:
    return f"{user.home}{'inbox' if where == 'inbox' else await new_list(user, 'Errands')}/"


async def _puts(user: DavUser, puts: list[tuple[str, bytes]]) -> list[httpx.Response]:
    """New objects PUT at once (If-None-Match: *), as a client retrying after a timeout."""
    headers = {"If-None-Match": "*"}
    return list(
        await asyncio.gather(
            *(user.dav.put(href, content=body, headers=headers) for href, body in puts)
        )
    )


async def _objects(user: DavUser, coll: str) -> list[str]:
    response = await propfind(user.dav, coll, "d:getetag", depth="1")
    assert response.status_code == 207
    return [href for href in texts(xml(response), "d:response/d:href") if href != coll]


@pytest.mark.parametrize("where", ["inbox", "list"])
async def test_puts_at_once_of_one_new_name_make_one_object(ada: DavUser, where: str) -> None:
    coll = await _collection(ada, where)
    answers = await _puts(ada, [(f"{coll}a.ics", vtodo(f"uid-{n}", f"A {n}")) for n in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 412, 412, 412]
    assert await _objects(ada, coll) == [f"{coll}a.ics"]


@pytest.mark.parametrize("where", ["inbox", "list"])
async def test_puts_at_once_of_one_new_uid_make_one_object(ada: DavUser, where: str) -> None:
    coll = await _collection(ada, where)
    answers = await _puts(ada, [(f"{coll}{n}.ics", vtodo("same", f"Same {n}")) for n in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 403, 403, 403]
    for response in answers:
        if response.status_code == 403:
            assert "{urn:ietf:params:xml:ns:caldav}no-uid-conflict" in condition(response)
    assert len(await _objects(ada, coll)) == 1


async def test_puts_at_once_moving_one_deleted_uid_back_make_one_object(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    assert (await ada.dav.put(f"{inbox}gone.ics", content=vtodo("back", "Back"))).status_code == 201
    assert (await ada.dav.delete(f"{inbox}gone.ics")).status_code == 204
    # Each would bring back the same task (the same id): one does, the others find its UID.
    answers = await _puts(ada, [(f"{inbox}{n}.ics", vtodo("back", f"Back {n}")) for n in range(4)])
    assert sorted(r.status_code for r in answers) == [201, 403, 403, 403]
    assert len(await _objects(ada, inbox)) == 1
    assert len((await ada.api.get("/api/tasks")).json()) == 1


async def test_a_viewer_reads_and_may_not_write(ada: DavUser, ben: DavUser) -> None:
    team = await new_list(ben, "Team")
    await ben.dav.put(f"{ben.home}{team}/t.ics", content=vtodo("t", "Shared"))
    await share(ben.api, ada.api, team, "viewer")
    assert (await ada.dav.get(f"{ada.home}{team}/t.ics")).status_code == 200
    for response in (
        await ada.dav.put(f"{ada.home}{team}/t.ics", content=vtodo("t", "Changed")),
        await ada.dav.put(f"{ada.home}{team}/n.ics", content=vtodo("n", "New")),
        await ada.dav.delete(f"{ada.home}{team}/t.ics"),
    ):
        assert response.status_code == 403
        assert "{DAV:}need-privileges" in condition(response)
    titles = [t["title"] for t in (await ben.api.get("/api/tasks")).json()]
    assert titles == ["Shared"]


async def test_an_editor_writes_with_their_own_name(ada: DavUser, ben: DavUser) -> None:
    team = await new_list(ben, "Team")
    await share(ben.api, ada.api, team, "editor")
    put = await ada.dav.put(f"{ada.home}{team}/mine.ics", content=vtodo("mine", "By Ada"))
    assert put.status_code == 201
    task = (await ben.api.get("/api/tasks")).json()[0]
    assert task["created_by"] == ada.id
    assert task["user_id"] == ben.id


async def test_a_delete_then_a_put_elsewhere_moves_the_task(ada: DavUser) -> None:
    errands = await new_list(ada, "Errands")
    await ada.dav.put(f"{ada.home}inbox/m.ics", content=vtodo("move-me", "Move"))
    task = (await ada.api.get("/api/tasks")).json()[0]
    await ada.api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": ada.id})
    assert (await ada.dav.delete(f"{ada.home}inbox/m.ics")).status_code == 204
    put = await ada.dav.put(f"{ada.home}{errands}/m.ics", content=vtodo("move-me", "Move"))
    assert put.status_code == 201
    [moved] = (await ada.api.get("/api/tasks")).json()
    assert moved["id"] == task["id"]
    assert moved["list_id"] == errands
    assert moved["assignee_id"] == ada.id
    assert moved["created_at"] == task["created_at"]
    assert moved["created_by"] == task["created_by"]


async def test_completing_a_recurring_task_brings_the_object_back_at_its_next_due(
    ada: DavUser,
) -> None:
    path = f"{ada.home}inbox/weekly.ics"
    body = vtodo(
        "weekly", "Water plants", "DUE:20261203T090000Z", "RRULE:FREQ=WEEKLY", "X-OWN:kept"
    )
    await ada.dav.put(path, content=body)
    [task] = (await ada.api.get("/api/tasks")).json()
    done = body.replace(b"SUMMARY", b"STATUS:COMPLETED\r\nSUMMARY")
    completed = await ada.dav.put(path, content=done)
    assert completed.status_code == 204
    assert "etag" not in completed.headers  # not stored as sent: the client reads it back
    got = props_of((await ada.dav.get(path)).content)
    assert got.get("STATUS", ["NEEDS-ACTION"]) == ["NEEDS-ACTION"]
    assert (got["UID"], got["DUE"], got["RRULE"]) == (
        ["weekly"],
        ["20261210T090000Z"],
        ["FREQ=WEEKLY"],
    )
    assert got["X-OWN"] == ["kept"]
    [moved] = (await ada.api.get("/api/tasks")).json()  # one task, moved on
    assert (moved["id"], moved["is_completed"]) == (task["id"], False)
    [done_one] = (await ada.api.get(f"/api/tasks/{task['id']}/completions")).json()
    assert done_one["occurrence"] == "2026-12-03T09:00:00Z"


# --- Collections ----------------------------------------------------------------------------

MKCALENDAR = b"""<?xml version="1.0"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"
  xmlns:a="http://apple.com/ns/ical/"><d:set><d:prop><d:displayname>Garden</d:displayname>
  <a:calendar-color>#22AA44FF</a:calendar-color></d:prop></d:set></c:mkcalendar>"""


async def test_mkcalendar_proppatch_and_delete_change_the_list(ada: DavUser, ben: DavUser) -> None:
    made = await ada.dav.request("MKCALENDAR", f"{ada.home}garden/", content=MKCALENDAR)
    assert made.status_code == 201
    [garden] = (await ada.api.get("/api/lists")).json()
    assert garden["name"] == "Garden"
    assert garden["color"] == "#22aa44"
    again = await ada.dav.request("MKCALENDAR", f"{ada.home}garden/", content=MKCALENDAR)
    assert again.status_code == 405
    taken = await ada.dav.request("MKCALENDAR", f"{ada.home}other/", content=MKCALENDAR)
    assert taken.status_code == 403
    rename = (
        b'<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Yard</d:displayname>'
        b"</d:prop></d:set></d:propertyupdate>"
    )
    await share(ada.api, ben.api, garden["id"], "editor")
    refused = await ben.dav.request("PROPPATCH", f"{ben.home}garden/", content=rename)
    assert refused.status_code == 207
    assert "403" in xml(refused).findtext(".//d:status", namespaces=NS)
    renamed = await ada.dav.request("PROPPATCH", f"{ada.home}garden/", content=rename)
    assert renamed.status_code == 207
    assert "200" in xml(renamed).findtext(".//d:status", namespaces=NS)
    assert (await ada.api.get(f"/api/lists/{garden['id']}")).json()["name"] == "Yard"
    assert (await ben.dav.delete(f"{ben.home}garden/")).status_code == 403
    assert (await ada.dav.delete(f"{ada.home}inbox/")).status_code == 403
    assert (await ada.dav.delete(f"{ada.home}garden/")).status_code == 204
    assert (await ada.api.get("/api/lists")).json() == []
    assert (await propfind(ben.dav, f"{ben.home}garden/", "d:displayname")).status_code == 404


async def test_a_calendar_for_events_or_journals_alone_is_refused(ada: DavUser) -> None:
    body = (
        b'<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
        b'<c:supported-calendar-component-set><c:comp name="VJOURNAL"/>'
        b"</c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"
    )
    refused = await ada.dav.request("MKCALENDAR", f"{ada.home}notes/", content=body)
    assert refused.status_code == 403
    assert "{urn:ietf:params:xml:ns:caldav}supported-calendar-component" in condition(refused)
    assert (await ada.api.get("/api/lists")).json() == []
    tasks = body.replace(b'name="VJOURNAL"/>', b'name="VJOURNAL"/><c:comp name="VTODO"/>')
    made = await ada.dav.request("MKCALENDAR", f"{ada.home}notes/", content=tasks)
    assert made.status_code == 201


async def test_free_busy_of_tasks_is_free(ada: DavUser) -> None:
    await ada.dav.put(
        f"{ada.home}inbox/due.ics", content=vtodo("due", "Due", "DUE:20270105T100000Z")
    )
    body = (
        b'<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav">'
        b'<c:time-range start="20270101T000000Z" end="20270201T000000Z"/></c:free-busy-query>'
    )
    answered = await ada.dav.request("REPORT", f"{ada.home}inbox/", content=body)
    assert answered.status_code == 200
    assert answered.headers["content-type"].startswith("text/calendar")
    [period] = Calendar.from_ical(answered.content).walk("VFREEBUSY")
    assert period["DTSTART"].to_ical() == b"20270101T000000Z"
    assert period["DTEND"].to_ical() == b"20270201T000000Z"
    assert "FREEBUSY" not in period
    no_range = b'<c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"/>'
    assert (
        await ada.dav.request("REPORT", f"{ada.home}inbox/", content=no_range)
    ).status_code == 400


async def test_principal_search_finds_the_caller_only(ada: DavUser, ben: DavUser) -> None:
    def search(match: str | None) -> bytes:
        by_name = (
            f"<d:property-search><d:prop><d:displayname/></d:prop><d:match>{match}</d:match>"
            "</d:property-search>"
            if match is not None
            else ""
        )
        return (
            '<d:principal-property-search xmlns:d="DAV:" '
            f'xmlns:c="urn:ietf:params:xml:ns:caldav">{by_name}'
            "<d:prop><c:calendar-home-set/><d:displayname/></d:prop>"
            "</d:principal-property-search>"
        ).encode()

    for match in (None, "ADA+", "example.com"):
        found = await ada.dav.request("REPORT", "/dav/", content=search(match))
        assert found.status_code == 207
        assert texts(xml(found), "d:response/d:href") == [f"/dav/principals/{ada.id}/"]
        assert texts(xml(found), ".//c:calendar-home-set/d:href") == [ada.home]
    # Ben's search never shows Ada.
    found = await ben.dav.request("REPORT", "/dav/principals/", content=search("ada"))
    assert texts(xml(found), "d:response/d:href") == []


def proppatch_body(sets: str, removes: str = "") -> bytes:
    remove = f"<d:remove><d:prop>{removes}</d:prop></d:remove>" if removes else ""
    return (
        '<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/" '
        f'xmlns:x="urn:example"><d:set><d:prop>{sets}</d:prop></d:set>{remove}'
        "</d:propertyupdate>"
    ).encode()


def statuses(response: httpx.Response) -> dict[str, int]:
    """Each property a PROPPATCH answer names, with its status code."""
    assert response.status_code == 207, response.text
    found = {}
    for propstat in xml(response).iterfind("d:response/d:propstat", NS):
        code = int((propstat.findtext("d:status", namespaces=NS) or "").split()[1])
        for prop in propstat.iterfind("d:prop/*", NS):
            found[prop.tag.rpartition("}")[2]] = code
    return found


async def test_proppatch_is_all_or_nothing(ada: DavUser, ben: DavUser) -> None:
    one = await new_list(ada, "One")
    two = await new_list(ada, "Two")
    await ada.api.patch(f"/api/lists/{two}", json={"color": "#112233"})
    lists_before = (await ada.api.get("/api/lists")).json()
    change = (
        "<d:displayname>Zwei</d:displayname><a:calendar-color>#445566FF</a:calendar-color>"
        "<a:calendar-order>1</a:calendar-order>"
    )
    # An unknown property, a protected one, a removal that cannot be done: nothing is applied.
    for extra, removes, failing in (
        ("<x:mood>calm</x:mood>", "", "mood"),
        ("<d:resourcetype/>", "", "resourcetype"),
        ("", "<d:displayname/>", "displayname"),
    ):
        answered = await ada.dav.request(
            "PROPPATCH", f"{ada.home}{two}/", content=proppatch_body(change + extra, removes)
        )
        expected = {"displayname": 424, "calendar-color": 424, "calendar-order": 424}
        assert statuses(answered) == {**expected, failing: 403}
        assert (await ada.api.get("/api/lists")).json() == lists_before
    # A member may place a shared list but not rename it: neither happens.
    await share(ada.api, ben.api, one, "editor")
    await new_list(ben, "Ben's own")
    ben_before = (await ben.api.get("/api/lists")).json()
    assert [item["name"] for item in ben_before] == ["One", "Ben's own"]
    answered = await ben.dav.request(
        "PROPPATCH",
        f"{ben.home}{one}/",
        content=proppatch_body(
            "<a:calendar-order>2</a:calendar-order><d:displayname>Mine</d:displayname>"
        ),
    )
    assert statuses(answered) == {"calendar-order": 424, "displayname": 403}
    assert (await ben.api.get("/api/lists")).json() == ben_before
    # Every property can be done: all are.
    answered = await ada.dav.request(
        "PROPPATCH", f"{ada.home}{two}/", content=proppatch_body(change)
    )
    assert statuses(answered) == {"displayname": 200, "calendar-color": 200, "calendar-order": 200}
    after = (await ada.api.get("/api/lists")).json()
    assert [(item["name"], item["color"]) for item in after] == [
        ("Zwei", "#445566"),
        ("One", None),
    ]


def zone_block(tzid: str, standard: str, daylight: str) -> list[str]:
    """A VTIMEZONE as Outlook writes one: yearly rules from 1601."""
    return [
        "BEGIN:VTIMEZONE",
        f"TZID:{tzid}",
        "BEGIN:STANDARD",
        "DTSTART:16011104T020000",
        "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
        f"TZOFFSETFROM:{daylight}",
        f"TZOFFSETTO:{standard}",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010311T020000",
        "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
        f"TZOFFSETFROM:{standard}",
        f"TZOFFSETTO:{daylight}",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
    ]


def zoned(uid: str, tzid: str, *lines: str, offsets: tuple[str, str] = ("+0100", "+0200")) -> bytes:
    body = vtodo(uid, "Zoned", f"DUE;TZID={tzid}:20261224T090000", *lines)
    block = "\r\n".join(zone_block(tzid, *offsets)) + "\r\n"
    return body.replace(b"BEGIN:VTODO", block.encode() + b"BEGIN:VTODO")


@pytest.mark.parametrize(
    ("tzid", "offsets", "zone", "due_at"),
    [
        ("W. Europe Standard Time", ("+0100", "+0200"), "Europe/Berlin", "2026-12-24T08:00:00Z"),
        ("Eastern Standard Time", ("-0500", "-0400"), "America/New_York", "2026-12-24T14:00:00Z"),
        (
            "/mozilla.org/20050126_1/Europe/Berlin",
            ("+0100", "+0200"),
            "Europe/Berlin",
            "2026-12-24T08:00:00Z",
        ),
        (
            "/freeassociation.sourceforge.net/America/Argentina/Buenos_Aires",
            ("-0300", "-0300"),
            "America/Argentina/Buenos_Aires",
            "2026-12-24T12:00:00Z",
        ),
    ],
)
async def test_a_windows_or_prefixed_tzid_is_read_as_the_iana_zone_it_names(
    ada: DavUser, tzid: str, offsets: tuple[str, str], zone: str, due_at: str
) -> None:
    path = f"{ada.home}inbox/zoned.ics"
    body = zoned("zoned", tzid, f"DTSTART;TZID={tzid}:20261220T080000", offsets=offsets)
    stored = await ada.dav.put(path, content=body)
    assert stored.status_code == 201, stored.text
    [task] = (await ada.api.get("/api/tasks")).json()
    assert (task["timezone"], task["due_at"]) == (zone, due_at)
    assert (await ada.dav.get(path)).content == body  # as sent, until it changes
    changed = await ada.api.patch(f"/api/tasks/{task['id']}", json={"title": "Changed"})
    assert changed.status_code == 200
    written = Calendar.from_ical((await ada.dav.get(path)).content)
    [todo] = written.walk("VTODO")
    assert todo["DUE"].params["TZID"] == zone
    assert todo["DUE"].to_ical() == b"20261224T090000"
    # DTSTART is the task's start, read in the zone its TZID names and written in it.
    assert todo["DTSTART"].params["TZID"] == zone
    assert todo["DTSTART"].to_ical() == b"20261220T080000"
    assert [str(z["TZID"]) for z in written.walk("VTIMEZONE")] == [zone]


async def test_a_tzid_naming_no_known_zone_is_refused(ada: DavUser) -> None:
    for tzid in ("My Own Zone", "Custom/Berlin", "/example.com/Nowhere/Atlantis"):
        refused = await ada.dav.put(f"{ada.home}inbox/own.ics", content=zoned("own", tzid))
        assert refused.status_code == 403, tzid
        assert "{urn:ietf:params:xml:ns:caldav}valid-calendar-data" in condition(refused)
    assert (await ada.api.get("/api/tasks")).json() == []


REFUSED_UID = "refused-by-the-database"
TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER dav_objects_refuse BEFORE INSERT ON dav_objects "
        f"WHEN NEW.uid = '{REFUSED_UID}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION dav_objects_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
        "CREATE TRIGGER dav_objects_refuse BEFORE INSERT ON dav_objects FOR EACH ROW "
        f"WHEN (NEW.uid = '{REFUSED_UID}') EXECUTE FUNCTION dav_objects_refuse()",
    ],
}
UNTRIGGER = {
    "sqlite": ["DROP TRIGGER dav_objects_refuse"],
    "postgresql": [
        "DROP TRIGGER dav_objects_refuse ON dav_objects",
        "DROP FUNCTION dav_objects_refuse()",
    ],
}


async def test_a_put_stores_the_task_and_its_object_together_or_neither(
    app: FastAPI, settings: Settings, ada: DavUser
) -> None:
    # The object's row is refused after the task was written (as a crash or a lost
    # connection there would leave it): the task is not kept either.
    async with database(settings) as db, db.connection() as conn:
        for statement in TRIGGER[conn.name]:
            await conn.run_sql(statement)
        try:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=basic(ada.token)
            ) as dav:
                failed = await dav.put(f"{ada.home}inbox/x.ics", content=vtodo(REFUSED_UID, "X"))
                assert failed.status_code >= 400
                made = await ada.dav.put(f"{ada.home}inbox/y.ics", content=vtodo("y", "Y"))
                assert made.status_code == 201
                changed = await dav.put(
                    f"{ada.home}inbox/y.ics", content=vtodo(REFUSED_UID, "Changed")
                )
                assert changed.status_code >= 400
        finally:
            for statement in UNTRIGGER[conn.name]:
                await conn.run_sql(statement)
    assert [task["title"] for task in (await ada.api.get("/api/tasks")).json()] == ["Y"]
    assert (await ada.dav.get(f"{ada.home}inbox/x.ics")).status_code == 404
    assert b"SUMMARY:Y" in (await ada.dav.get(f"{ada.home}inbox/y.ics")).content


async def test_calendar_order_is_a_number_set_and_read_back(ada: DavUser) -> None:
    one = await new_list(ada, "One")
    two = await new_list(ada, "Two")

    async def orders() -> dict[str, int]:
        listing = await propfind(ada.dav, ada.home, "d:displayname", "a:calendar-order", depth="1")
        found = {}
        for node in xml(listing).iterfind("d:response", NS):
            name = node.findtext(".//d:displayname", namespaces=NS) or ""
            order = node.findtext(".//{http://apple.com/ns/ical/}calendar-order")
            if order:  # the home has none
                found[name] = int(order)
        return found

    before = await orders()
    assert before["Inbox"] < before["One"] < before["Two"]
    for number in (12, 34):
        answered = await ada.dav.request(
            "PROPPATCH",
            f"{ada.home}{two}/",
            content=proppatch_body(f"<a:calendar-order>{number}</a:calendar-order>"),
        )
        assert statuses(answered) == {"calendar-order": 200}
        now = await orders()
        assert now["Two"] == number
        assert now["Inbox"] < now["Two"] < now["One"]  # lists sort by it
        assert [item["id"] for item in (await ada.api.get("/api/lists")).json()] == [two, one]
    # Not a number: refused, and nothing else changes.
    answered = await ada.dav.request(
        "PROPPATCH",
        f"{ada.home}{one}/",
        content=proppatch_body(
            "<a:calendar-order>first</a:calendar-order><d:displayname>Uno</d:displayname>"
        ),
    )
    assert statuses(answered) == {"calendar-order": 409, "displayname": 424}
    assert (await orders())["One"] == now["One"]


async def test_a_task_a_calendar_app_deleted_and_restored_is_the_same_object(
    ada: DavUser,
) -> None:
    path = f"{ada.home}inbox/chosen-name.ics"
    created = await ada.dav.put(path, content=vtodo("chosen-uid-7", "Mow"))
    assert created.status_code == 201, created.text
    task = (await ada.api.get("/api/tasks")).json()[0]
    inbox = f"{ada.home}inbox/"
    _, token = await sync(ada.dav, inbox, wait_for=["chosen-name"])
    assert (await ada.dav.delete(path)).status_code == 204
    assert (await ada.dav.get(path)).status_code == 404
    assert (await ada.api.get(f"/api/tasks/{task['id']}")).status_code == 404
    gone, token = await sync(ada.dav, inbox, token, wait_for=["chosen-name"])
    assert "404" in gone[path]

    assert (await ada.api.post(f"/api/tasks/{task['id']}/restore")).status_code == 200
    back, _ = await sync(ada.dav, inbox, token, wait_for=["chosen-name"])
    assert back[path].startswith('"')  # its ETag: there again
    got = await ada.dav.get(path)  # the same address, the same UID
    assert got.status_code == 200, got.text
    [todo] = Calendar.from_ical(got.content).walk("VTODO")
    assert str(todo["UID"]) == "chosen-uid-7"
    assert str(todo["SUMMARY"]) == "Mow"
