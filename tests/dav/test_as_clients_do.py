"""CalDAV as real clients use it (the contract's "As real clients do it"), on both databases:
no two collections of a home at one href, whoever made the names; XML in every encoding a body
may come in; `Allow` and `HEAD` as RFC 9110 has them."""

import uuid

from fastapi import FastAPI
from sqlalchemy import update

from tests.dav import thunderbird
from tests.dav.helpers import (
    NS,
    DavUser,
    condition,
    dav_user,
    new_list,
    propfind,
    vtodo,
    xml,
)
from tests.lists.sharing import share
from tests.tasks.feed_helpers import read_feed
from todo_api.config import Settings
from todo_api.dav import scheduled as dav_scheduled
from todo_api.db import Database, Query
from todo_api.kit.deps import held
from todo_api.tables.dav import dav_collections

MUST_BE_NULL = "{DAV:}resource-must-be-null"


async def _hrefs(user: DavUser) -> list[str]:
    response = await propfind(user.dav, user.home, "d:displayname", depth="1")
    assert response.status_code == 207, response.text
    return [node.text or "" for node in xml(response).iterfind("d:response/d:href", NS)]


async def _name_collection(app: FastAPI, list_id: str, name: str) -> None:
    """Give a list the MKCALENDAR name `name` directly, as data made before MKCALENDAR refused
    such a name is."""
    statement = (
        update(dav_collections)
        .where(dav_collections.c.list_id == uuid.UUID(list_id))
        .values(name=name)
    )
    async with held(app, Database).transaction() as conn:
        await conn.execute(Query(statement))


async def _made_at(user: DavUser, segment: str) -> str:
    made = await user.dav.request("MKCALENDAR", f"{user.home}{segment}/")
    assert made.status_code == 201, made.text
    lists = (await user.api.get("/api/lists")).json()
    return str(next(item["id"] for item in lists if item["name"] == segment))


# --- No two collections at one href ---------------------------------------------------------


async def test_mkcalendar_at_a_lists_id_or_another_collection_is_405(
    ada: DavUser, ben: DavUser
) -> None:
    """The attack: Ben makes a calendar at Ada's list's id, then shares it with her. Every
    segment that is any list's id (his own, one shared with him, anyone's), the inbox or
    another collection of his home is refused, and no list is made."""
    private = await new_list(ada, "Private")
    own = await new_list(ben, "Own")
    shared = await new_list(ada, "Shared")
    await share(ada.api, ben.api, shared, "editor")
    named = await _made_at(ben, "named")
    before = (await ben.api.get("/api/lists")).json()
    for segment in (private, own, shared, named, "inbox", private.upper()):
        refused = await ben.dav.request("MKCALENDAR", f"{ben.home}{segment}/")
        assert refused.status_code == 405, (segment, refused.text)
        assert MUST_BE_NULL in condition(refused)
        assert "MKCALENDAR" not in refused.headers["Allow"]
    assert (await ben.api.get("/api/lists")).json() == before
    assert len(set(await _hrefs(ben))) == len(await _hrefs(ben)) == 5  # home, inbox, 3 lists


async def test_a_name_equal_to_another_lists_id_yields_it_whatever_the_order(
    app: FastAPI, ada: DavUser, ben: DavUser
) -> None:
    """Data made before the fix: Ben's calendar named with the id of Ada's private list, shared
    with her. Her own list keeps its id; his is at its own id in her home (his name still his
    in his own home), and her PUTs reach her list, whichever order she gives her lists."""
    private = await new_list(ada, "Private")
    taken = await _made_at(ben, "bait")
    await _name_collection(app, taken, private)
    await share(ben.api, ada.api, taken, "editor")
    for order in ((1, 2), (2, 1)):
        for list_id, place in zip((private, taken), order, strict=True):
            body = (
                '<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/"><d:set>'
                f"<d:prop><a:calendar-order>{place}</a:calendar-order></d:prop>"
                "</d:set></d:propertyupdate>"
            )
            segment = private if list_id == private else taken
            patched = await ada.dav.request("PROPPATCH", f"{ada.home}{segment}/", content=body)
            assert patched.status_code == 207, patched.text
        hrefs = await _hrefs(ada)
        assert len(hrefs) == len(set(hrefs)) == 4  # home, inbox, hers, his
        assert f"{ada.home}{private}/" in hrefs
        assert f"{ada.home}{taken}/" in hrefs
    put = await ada.dav.put(f"{ada.home}{private}/secret.ics", content=vtodo("s", "Secret"))
    assert put.status_code == 201, put.text
    [secret] = (await ada.api.get("/api/tasks", params={"list_id": private})).json()
    assert secret["title"] == "Secret"
    assert (await ben.api.get("/api/tasks", params={"list_id": taken})).json() == []
    assert f"{ben.home}{private}/" in await _hrefs(ben)  # his own home: his name


async def test_one_name_in_two_lists_of_a_home_stays_with_the_first(
    app: FastAPI, settings: Settings, ada: DavUser, ben: DavUser
) -> None:
    """Both made a calendar `work`; Ben shares his with Ada: in her home `work/` stays hers and
    his is at its id; in his, his stays at `work/`. Of two lists shared with her under one
    name, the first she had keeps it."""
    async with dav_user(app, settings) as cleo:
        bens_plans = await _made_at(ben, "plans")
        cleos_plans = await _made_at(cleo, "plans")
        await share(ben.api, ada.api, bens_plans, "viewer")
        await share(cleo.api, ada.api, cleos_plans, "viewer")
    hrefs = await _hrefs(ada)
    assert f"{ada.home}plans/" in hrefs
    assert f"{ada.home}{cleos_plans}/" in hrefs
    shown = await propfind(ada.dav, f"{ada.home}plans/", "d:displayname")
    assert xml(shown).findtext(".//d:displayname", namespaces=NS) == "plans"
    body = (
        '<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Ben plans'
        "</d:displayname></d:prop></d:set></d:propertyupdate>"
    )
    assert (
        await ben.dav.request("PROPPATCH", f"{ben.home}plans/", content=body)
    ).status_code == 207
    shown = await propfind(ada.dav, f"{ada.home}plans/", "d:displayname")
    assert xml(shown).findtext(".//d:displayname", namespaces=NS) == "Ben plans"
    hers = await _made_at(ada, "work")
    his = await _made_at(ben, "work")
    await share(ben.api, ada.api, his, "editor")
    hrefs = await _hrefs(ada)
    assert len(hrefs) == len(set(hrefs)) == 6  # home, inbox, two plans, two work
    assert f"{ada.home}{his}/" in hrefs
    put = await ada.dav.put(f"{ada.home}work/w.ics", content=vtodo("w", "Mine"))
    assert put.status_code == 201
    assert [t["list_id"] for t in (await ada.api.get("/api/tasks")).json()] == [hers]
    to_his = await ada.dav.put(f"{ada.home}{his}/b.ics", content=vtodo("b", "His"))
    assert to_his.status_code == 201
    assert [t["title"] for t in (await ben.api.get("/api/tasks")).json()] == ["His"]
    assert f"{ben.home}work/" in await _hrefs(ben)


# --- XML in every encoding ------------------------------------------------------------------

ENCODINGS = [
    (codec, mark)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    for mark in (False, True)
]
ENTITY = (
    '<?xml version="1.0" encoding="{name}"?>\n<!DOCTYPE c:mkcalendar [<!ENTITY n "Evil">]>\n'
    '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
    "<d:displayname>&n;</d:displayname></d:prop></d:set></c:mkcalendar>"
)


def _encoded(text: str, codec: str, mark: bool) -> bytes:
    """`text` as a client writes it in `codec`, with a byte-order mark or without."""
    name = codec.removesuffix("-le").removesuffix("-be").upper()
    return (("\ufeff" if mark else "") + text.format(name=name)).encode(codec)


async def test_a_doctype_is_refused_in_every_encoding(ada: DavUser) -> None:
    for codec, mark in ENCODINGS:
        body = _encoded(ENTITY, codec, mark)
        for method, path in (("MKCALENDAR", f"{ada.home}evil/"), ("PROPFIND", ada.home)):
            refused = await ada.dav.request(method, path, content=body)
            assert refused.status_code == 400, (codec, mark, method, refused.text)
            assert b"DTD" in refused.content
    assert (await ada.api.get("/api/lists")).json() == []
    # The same calendar without the DTD is made, whatever its encoding.
    plain = ENTITY.replace('<!DOCTYPE c:mkcalendar [<!ENTITY n "Evil">]>\n', "")
    for number, (codec, mark) in enumerate(ENCODINGS):
        body = _encoded(plain.replace("&n;", f"Plain {number}"), codec, mark)
        made = await ada.dav.request("MKCALENDAR", f"{ada.home}plain-{number}/", content=body)
        assert made.status_code == 201, (codec, mark, made.text)
    names = sorted(item["name"] for item in (await ada.api.get("/api/lists")).json())
    assert names == sorted(f"Plain {n}" for n in range(len(ENCODINGS)))


# --- Allow and HEAD -------------------------------------------------------------------------

EVERY_METHOD = [
    "OPTIONS",
    "GET",
    "HEAD",
    "PROPFIND",
    "PROPPATCH",
    "REPORT",
    "PUT",
    "POST",
    "PATCH",
    "MOVE",
    "COPY",
    "LOCK",
    "MKCOL",
    "MKCALENDAR",  # last but one: it makes the calendar at a free path
    "DELETE",  # last: it deletes the calendar or the object
]


async def test_allow_lists_exactly_what_each_resource_answers(ada: DavUser) -> None:
    """For every kind of resource: OPTIONS' Allow, and the Allow of each 405, name exactly the
    methods that do not answer 405 there."""
    errands = await new_list(ada, "Errands")
    put = await ada.dav.put(f"{ada.home}{errands}/t.ics", content=vtodo("t", "Task"))
    assert put.status_code == 201
    got = await ada.dav.get(f"{ada.home}{errands}/t.ics")
    head = await ada.dav.head(f"{ada.home}{errands}/t.ics")
    assert (head.status_code, head.headers["ETag"], head.content) == (200, got.headers["ETag"], b"")
    resources = [
        "/dav/",
        "/dav/principals/",
        "/dav/calendars/",
        f"/dav/principals/{ada.id}/",
        ada.home,
        f"{ada.home}inbox/",
        f"{ada.home}{errands}/",
        f"{ada.home}{errands}/t.ics",
        f"{ada.home}{errands}/missing.ics",
        f"{ada.home}free/",
    ]
    for path in resources:
        options = await ada.dav.options(path)
        assert options.status_code == 200
        assert options.headers["DAV"] == "1, 3, calendar-access"
        allow = [method.strip() for method in options.headers["Allow"].split(",")]
        assert "GET" not in allow or "HEAD" in allow
        for method in EVERY_METHOD:
            answer = await ada.dav.request(method, path)
            assert (answer.status_code == 405) == (method not in allow), (path, method, allow)
            if answer.status_code == 405:
                assert answer.headers["Allow"] == options.headers["Allow"], (path, method)
    unsigned = await ada.dav.options("/dav/", headers={"Authorization": ""})
    assert unsigned.headers["Allow"] == "OPTIONS, PROPFIND, PROPPATCH, REPORT"


# --- Thunderbird's move: a PUT into the new calendar, then a DELETE from the old ------------

TB_UID = "3c1f5e0e-8a7b-4f5e-9a43-2f0d1c9b7e21"
DUE = "DUE;TZID=Europe/Berlin:20261203T090000"


async def test_a_put_then_a_delete_moves_the_task(app: FastAPI, ada: DavUser, ben: DavUser) -> None:
    home = await new_list(ada, "Home")
    work = await new_list(ada, "Work")
    await share(ada.api, ben.api, work, "editor")
    await share(ada.api, ben.api, home, "editor")
    first = thunderbird.calendar(thunderbird.todo(TB_UID, "Water the plants", DUE))
    old = await thunderbird.create(ada.dav, f"{ada.home}{home}/", TB_UID, first)
    step_uid = "5d2a9c1e-0b7f-4c3e-8a61-9e4f2b7d1c05"
    step = thunderbird.calendar(
        thunderbird.todo(step_uid, "Buy soil", DUE, f"RELATED-TO;RELTYPE=PARENT:{TB_UID}")
    )
    old_step = await thunderbird.create(ada.dav, f"{ada.home}{home}/", step_uid, step)
    assert (await ada.dav.get(old_step)).status_code == 200
    [task] = [t for t in (await ada.api.get("/api/tasks")).json() if t["parent_id"] is None]
    assigned = await ada.api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": ben.id})
    assert assigned.status_code == 200
    old_etag = await thunderbird.etag_of(ada.dav, old)
    # Thunderbird's move: the item as it has it, PUT new into the other calendar ...
    moved_body = thunderbird.calendar(
        thunderbird.todo(TB_UID, "Water the plants", DUE, generation=2, stamp="20261121T080000Z")
    )
    new = await thunderbird.create(ada.dav, f"{ada.home}{work}/", TB_UID, moved_body)
    [moved] = [t for t in (await ada.api.get("/api/tasks")).json() if t["parent_id"] is None]
    assert moved["id"] == task["id"]
    assert moved["list_id"] == work
    assert moved["assignee_id"] == ben.id
    assert (moved["created_at"], moved["created_by"]) == (task["created_at"], task["created_by"])
    assert (await ada.dav.get(old)).status_code == 404
    got = await ada.dav.get(new)
    assert got.status_code == 200
    assert b"X-MOZ-GENERATION:2" in got.content
    await dav_scheduled.prune(held(app, Database))  # housekeeping meanwhile forgets nothing
    # ... then the DELETE of the old object, with the ETag it knew: done already.
    gone = await thunderbird.delete(ada.dav, old, old_etag)
    assert gone.status_code == 204
    # Its subtask followed it (as a move through /api), in the new calendar under it.
    kept = {t["title"]: t for t in (await ada.api.get("/api/tasks")).json()}
    assert (kept["Water the plants"]["id"], kept["Water the plants"]["list_id"]) == (
        task["id"],
        work,
    )
    assert (kept["Buy soil"]["parent_id"], kept["Buy soil"]["list_id"]) == (task["id"], work)
    assert (await ada.dav.get(f"{ada.home}{work}/{step_uid}.ics")).status_code == 200
    assert (await ada.dav.get(new)).status_code == 200
    assert (await thunderbird.delete(ada.dav, old, old_etag)).status_code == 404  # once
    # The other member's feed has the two tasks, where they went; nothing deleted.
    feed = await read_feed(ben.api, wait_for={task["id"]})
    assert {c["list_id"] for c in feed["changes"]} == {work}
    assert {c["id"] for c in feed["changes"]} == {t["id"] for t in kept.values()}
    assert feed["deleted"] == []


async def test_a_viewer_cannot_move_a_task_and_a_uid_stays_one_per_calendar(
    ada: DavUser, ben: DavUser
) -> None:
    team = await new_list(ben, "Team")
    await share(ben.api, ada.api, team, "viewer")
    body = thunderbird.calendar(thunderbird.todo(TB_UID, "Ben's", DUE))
    theirs = await thunderbird.create(ben.dav, f"{ben.home}{team}/", TB_UID, body)
    mine = await new_list(ada, "Mine")
    # From a list Ada only reads, her PUT elsewhere makes a task of her own; Ben's stays.
    copy = await thunderbird.create(ada.dav, f"{ada.home}{mine}/", TB_UID, body)
    [ben_task] = (await ben.api.get("/api/tasks", params={"list_id": team})).json()
    [ada_task] = (await ada.api.get("/api/tasks", params={"list_id": mine})).json()
    assert ben_task["id"] != ada_task["id"]
    assert (await ben.dav.get(theirs)).status_code == 200
    refused = await ada.dav.delete(f"{ada.home}{team}/{TB_UID}.ics")
    assert refused.status_code == 403
    assert "{DAV:}need-privileges" in condition(refused)
    # One UID per calendar: another name for it in Ada's list is refused, wherever else it is.
    clash = await ada.dav.put(f"{ada.home}{mine}/other.ics", content=body)
    assert clash.status_code == 403
    assert "{urn:ietf:params:xml:ns:caldav}no-uid-conflict" in condition(clash)
    # Her own copy is hers to move: a PUT of the UID into her inbox moves it, not Ben's.
    assert (await ada.dav.get(copy)).status_code == 200
    await thunderbird.create(ada.dav, f"{ada.home}inbox/", "elsewhere", body)
    moved = (await ada.api.get(f"/api/tasks/{ada_task['id']}")).json()
    assert moved["list_id"] is None
    kept = (await ben.api.get(f"/api/tasks/{ben_task['id']}")).json()
    assert kept["list_id"] == team


# --- Thunderbird completes one occurrence of a repeating task -------------------------------

SERIES_UID = "7e0b8f52-51f4-4a36-9d0e-6f3d0c1b2a99"
WEEKLY = ["STATUS:NEEDS-ACTION", DUE, "RRULE:FREQ=WEEKLY"]


def _occurrence(when: str, *lines: str, stamp: str = "20261203T081000Z") -> list[str]:
    """An override of the series, as Thunderbird writes one (the occurrence's DUE, its
    RECURRENCE-ID with the zone)."""
    return thunderbird.todo(
        SERIES_UID,
        "Water the plants",
        f"RECURRENCE-ID;TZID=Europe/Berlin:{when}",
        f"DUE;TZID=Europe/Berlin:{when}",
        *lines,
        generation=2,
        stamp=stamp,
    )


DONE = ["STATUS:COMPLETED", "COMPLETED:20261203T081000Z", "PERCENT-COMPLETE:100"]


async def _series(user: DavUser) -> tuple[str, str, dict[str, object]]:
    """A weekly task Thunderbird made in the inbox: its href, ETag and task."""
    body = thunderbird.calendar(thunderbird.todo(SERIES_UID, "Water the plants", *WEEKLY))
    href = await thunderbird.create(user.dav, f"{user.home}inbox/", SERIES_UID, body)
    [task] = (await user.api.get("/api/tasks")).json()
    return href, await thunderbird.etag_of(user.dav, href), task


async def test_an_override_completing_the_current_occurrence_completes_it(ada: DavUser) -> None:
    href, etag, task = await _series(ada)
    master = thunderbird.todo(SERIES_UID, "Water the plants", *WEEKLY, generation=2)
    body = thunderbird.calendar(master, _occurrence("20261203T090000", *DONE))
    completed = await thunderbird.modify(ada.dav, href, etag, body)
    assert completed.status_code == 204, completed.text
    assert "etag" not in completed.headers  # changed from what was sent: read it back
    [following] = (await ada.api.get("/api/tasks")).json()  # one task, moved on
    assert (following["id"], following["is_completed"]) == (str(task["id"]), False)
    assert following["due_at"] == "2026-12-10T08:00:00Z"  # 09:00 in Berlin, a week on
    assert following["recurrence"] == task["recurrence"]
    [done] = (await ada.api.get(f"/api/tasks/{task['id']}/completions")).json()
    assert done["occurrence"] == "2026-12-03T08:00:00Z"
    got = await ada.dav.get(href)  # the same object, with its next DUE
    assert got.status_code == 200
    assert b"STATUS:COMPLETED" not in got.content
    assert b"RRULE:FREQ=WEEKLY" in got.content
    assert b"RECURRENCE-ID" not in got.content  # the override was the completion
    assert b"DUE;TZID=Europe/Berlin:20261210T090000" in got.content


async def test_an_occurrence_completed_through_an_override_keeps_the_clients_time(
    ada: DavUser,
) -> None:
    """The override's COMPLETED is when the occurrence was done (Thunderbird, offline for a
    while, sends it later), not the server's clock."""
    href, etag, task = await _series(ada)
    master = thunderbird.todo(SERIES_UID, "Water the plants", *WEEKLY, generation=2)
    done_then = ["STATUS:COMPLETED", "COMPLETED:20261120T074500Z", "PERCENT-COMPLETE:100"]
    body = thunderbird.calendar(master, _occurrence("20261203T090000", *done_then))
    completed = await thunderbird.modify(ada.dav, href, etag, body)
    assert completed.status_code == 204, completed.text
    [done] = (await ada.api.get(f"/api/tasks/{task['id']}/completions")).json()
    assert done["completed_at"] == "2026-11-20T07:45:00Z"
    got = await ada.dav.get(href)
    assert b"\r\nPERCENT-COMPLETE:100\r\n" not in got.content  # open, at the next one


async def test_other_overrides_are_kept_as_sent(ada: DavUser) -> None:
    """An override of a later occurrence (renamed, or even completed ahead) changes nothing of
    the task, and comes back as the client sent it."""
    href, etag, task = await _series(ada)
    master = thunderbird.todo(SERIES_UID, "Water the plants", *WEEKLY, generation=3)
    later = _occurrence("20261210T090000", "LOCATION:Balcony")
    later[later.index("SUMMARY:Water the plants")] = "SUMMARY:Water the balcony plants"
    ahead = _occurrence("20261217T090000", *DONE)
    body = thunderbird.calendar(master, later, ahead)
    changed = await thunderbird.modify(ada.dav, href, etag, body)
    assert changed.status_code == 204, changed.text
    assert "etag" in changed.headers  # stored as sent
    [same] = (await ada.api.get("/api/tasks")).json()
    assert same["id"] == task["id"]
    assert same["is_completed"] is False
    assert same["due_at"] == task["due_at"]
    got = await ada.dav.get(href)
    assert got.content == body
    assert got.headers["etag"] == changed.headers["etag"]
    # After a change through /api, the overrides are still there (as the client's text).
    await ada.api.patch(f"/api/tasks/{task['id']}", json={"title": "Water all plants"})
    text = (await ada.dav.get(href)).text
    assert "SUMMARY:Water all plants" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20261210T090000" in text
    assert "SUMMARY:Water the balcony plants" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20261217T090000" in text


APPLE_REMINDER = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//iOS 18.1//EN\r\n"
    "BEGIN:VTODO\r\nUID:3C1A8E0B-5D2B-4C6F-9E1A-7A1B2C3D4E5F\r\nDTSTAMP:20261125T080000Z\r\n"
    "CREATED:20261125T080000Z\r\nLAST-MODIFIED:20261125T080000Z\r\nSUMMARY:Take out the bins\r\n"
    "DTSTART;VALUE=DATE:{day}\r\nDUE;VALUE=DATE:{day}\r\nRRULE:FREQ=WEEKLY\r\n"
    "X-APPLE-SORT-ORDER:743588300\r\n{status}END:VTODO\r\nEND:VCALENDAR\r\n"
)


async def test_apple_reminders_completing_a_repeating_reminder_keeps_its_object(
    ada: DavUser,
) -> None:
    """Apple Reminders PUTs the whole reminder with STATUS:COMPLETED, COMPLETED and
    PERCENT-COMPLETE: the same object comes back at its next date, Apple's own property kept."""
    href = f"{ada.home}inbox/3C1A8E0B-5D2B-4C6F-9E1A-7A1B2C3D4E5F.ics"
    made = await ada.dav.put(href, content=APPLE_REMINDER.format(day="20261130", status=""))
    assert made.status_code == 201, made.text
    done = "STATUS:COMPLETED\r\nCOMPLETED:20261128T190000Z\r\nPERCENT-COMPLETE:100\r\n"
    completed = await ada.dav.put(
        href,
        content=APPLE_REMINDER.format(day="20261130", status=done),
        headers={"If-Match": made.headers["etag"]},
    )
    assert completed.status_code == 204, completed.text
    got = (await ada.dav.get(href)).text
    for kept in ("DUE;VALUE=DATE:20261207", "DTSTART;VALUE=DATE:20261207", "RRULE:FREQ=WEEKLY"):
        assert kept in got
    assert "X-APPLE-SORT-ORDER:743588300" in got
    assert "STATUS:COMPLETED" not in got
    [task] = (await ada.api.get("/api/tasks")).json()
    [occurrence] = (await ada.api.get(f"/api/tasks/{task['id']}/completions")).json()
    assert occurrence == {**occurrence, "occurrence": "2026-11-30"}
    assert occurrence["completed_at"] == "2026-11-28T19:00:00Z"
