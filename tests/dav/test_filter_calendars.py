"""Saved filters as read-only calendars on CalDAV, through HTTP on both databases: found in
the home, holding what the filter's listing holds, synced by sync-collection (a task entering
or leaving the filter is a change, whatever made it enter or leave), read by multiget and
calendar-query, and refusing writes; a real client (the `caldav` library) finds and syncs one."""

import asyncio

import caldav
from fastapi import FastAPI

from tests.dav.helpers import (
    NS,
    DavUser,
    condition,
    dav_user,
    new_list,
    new_task,
    propfind,
    sync,
    sync_body,
    vtodo,
    xml,
)
from tests.lists.sharing import remove, share
from tests.live_helpers import serving
from todo_api.config import Settings

CALENDAR = "{urn:ietf:params:xml:ns:caldav}calendar"


async def new_filter(user: DavUser, name: str, query: str) -> str:
    response = await user.api.post("/api/filters", json={"name": name, "query": query})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def calendars(response: object) -> dict[str, str]:
    """{href: display name} of the calendars a PROPFIND answered."""
    found = {}
    for node in xml(response).iterfind("d:response", NS):  # type: ignore[arg-type]
        kinds = node.find("d:propstat/d:prop/d:resourcetype", NS)
        if kinds is not None and kinds.find(CALENDAR) is not None:
            name = node.findtext("d:propstat/d:prop/d:displayname", namespaces=NS) or ""
            found[node.findtext("d:href", namespaces=NS) or ""] = name
    return found


async def test_a_saved_filter_is_a_calendar_of_the_home(ada: DavUser) -> None:
    work = await new_list(ada, "Work")
    urgent = await new_filter(ada, "Urgent work", "p1 & #Work")
    coll = f"{ada.home}filters/{urgent}/"
    home = await propfind(
        ada.dav, ada.home, "d:resourcetype", "d:displayname", "cs:getctag", depth="1"
    )
    assert home.status_code == 207, home.text
    assert calendars(home) == {
        f"{ada.home}inbox/": "Inbox",
        f"{ada.home}{work}/": "Work",
        coll: "Urgent work",
    }
    folder = await propfind(
        ada.dav, f"{ada.home}filters/", "d:resourcetype", "d:displayname", depth="1"
    )
    assert calendars(folder) == {coll: "Urgent work"}
    # Read-only: the caller may read it, nothing more.
    privileges = await propfind(ada.dav, coll, "d:current-user-privilege-set")
    names = [node.tag for node in xml(privileges).iterfind(".//d:privilege/*", NS)]
    assert names
    assert all("read" in name for name in names), names


async def test_it_holds_the_filters_tasks(ada: DavUser) -> None:
    work = await new_list(ada, "Work")
    urgent = await new_filter(ada, "Urgent work", "p1 & #Work")
    coll = f"{ada.home}filters/{urgent}/"
    held = await new_task(ada, "Ship it", list_id=work, priority="high")
    await new_task(ada, "Later", list_id=work, priority="low")
    elsewhere = await new_task(ada, "Urgent at home", priority="high")
    listing = await propfind(ada.dav, coll, "d:getetag", depth="1")
    hrefs = [n.findtext("d:href", namespaces=NS) for n in xml(listing).iterfind("d:response", NS)]
    assert hrefs == [coll, f"{coll}{held}.ics"]
    got = await ada.dav.get(f"{coll}{held}.ics")
    assert got.status_code == 200, got.text
    assert b"SUMMARY:Ship it" in got.content
    assert got.headers["etag"]
    assert (await ada.dav.get(f"{coll}{elsewhere}.ics")).status_code == 404
    assert (await ada.dav.get(f"{coll}nothing.ics")).status_code == 404
    assert (await ada.api.get(f"/api/filters/{urgent}/tasks")).json()[0]["id"] == held


async def test_sync_tells_what_entered_changed_and_left(ada: DavUser) -> None:
    work = await new_list(ada, "Work")
    urgent = await new_filter(ada, "Urgent work", "p1 & #Work")
    coll = f"{ada.home}filters/{urgent}/"
    stays = await new_task(ada, "Stays", list_id=work, priority="high")
    leaves = await new_task(ada, "Leaves", list_id=work, priority="high")
    done = await new_task(ada, "Done", list_id=work, priority="high")
    deleted = await new_task(ada, "Deleted", list_id=work, priority="high")
    enters = await new_task(ada, "Enters", list_id=work, priority="low")
    first, token = await sync(ada.dav, coll)
    assert set(first) == {f"{coll}{t}.ics" for t in (stays, leaves, done, deleted)}
    assert all(value.startswith('"') for value in first.values())

    same, same_token = await sync(ada.dav, coll, token)
    assert same == {}
    assert same_token == token  # nothing changed: the same snapshot

    await ada.api.patch(f"/api/tasks/{stays}", json={"title": "Stays, renamed"})
    await ada.api.patch(f"/api/tasks/{leaves}", json={"priority": "medium"})
    await ada.api.post(f"/api/tasks/{done}/complete")
    await ada.api.delete(f"/api/tasks/{deleted}")
    await ada.api.patch(f"/api/tasks/{enters}", json={"priority": "high"})
    changes, token = await sync(ada.dav, coll, token)
    assert set(changes) == {f"{coll}{t}.ics" for t in (stays, leaves, done, deleted, enters)}
    assert changes[f"{coll}{stays}.ics"].startswith('"')
    assert changes[f"{coll}{enters}.ics"].startswith('"')
    for gone in (leaves, done, deleted):
        assert "404" in changes[f"{coll}{gone}.ics"]
    assert (await sync(ada.dav, coll, token))[0] == {}

    # Changing the query changes what the calendar holds: that is a change too.
    edited = await ada.api.patch(f"/api/filters/{urgent}", json={"query": "p2 & #Work"})
    assert edited.status_code == 200, edited.text
    changes, _ = await sync(ada.dav, coll, token)
    assert changes[f"{coll}{leaves}.ics"].startswith('"')
    assert "404" in changes[f"{coll}{stays}.ics"]
    assert "404" in changes[f"{coll}{enters}.ics"]


async def test_a_task_leaves_when_its_list_is_shared_no_more(ada: DavUser, ben: DavUser) -> None:
    theirs = await new_list(ben, "Team")
    await share(ben.api, ada.api, theirs)
    task = await new_task(ben, "Theirs, urgent", list_id=theirs, priority="high")
    mine = await new_task(ada, "Mine, urgent", priority="high")
    urgent = await new_filter(ada, "Urgent", "p1")
    coll = f"{ada.home}filters/{urgent}/"
    first, token = await sync(ada.dav, coll)
    assert set(first) == {f"{coll}{task}.ics", f"{coll}{mine}.ics"}
    await remove(ben.api, theirs, ada.id)  # the task itself does not change
    changes, _ = await sync(ada.dav, coll, token)
    assert list(changes) == [f"{coll}{task}.ics"]
    assert "404" in changes[f"{coll}{task}.ics"]
    assert (await ada.dav.get(f"{coll}{task}.ics")).status_code == 404


async def test_tokens_are_the_calendars_own(ada: DavUser, ben: DavUser) -> None:
    work = await new_list(ada, "Work")
    one = await new_filter(ada, "One", "p1")
    two = await new_filter(ada, "Two", "p2")
    _, token = await sync(ada.dav, f"{ada.home}filters/{one}/")
    _, list_token = await sync(ada.dav, f"{ada.home}{work}/")
    for other, path in [(token, two), (list_token, one), ("urn:todo-api:sync:filter:x", one)]:
        refused = await ada.dav.request(
            "REPORT", f"{ada.home}filters/{path}/", content=sync_body(other)
        )
        assert refused.status_code == 403, refused.text
        assert "{DAV:}valid-sync-token" in condition(refused)
    # A list's calendar does not take a filter's token either.
    refused = await ada.dav.request("REPORT", f"{ada.home}{work}/", content=sync_body(token))
    assert refused.status_code == 403
    # Another user's filter is not found; a deleted one neither.
    bens = await ben.dav.request("PROPFIND", f"{ben.home}filters/{one}/", headers={"Depth": "0"})
    assert bens.status_code == 404
    assert (await ada.api.delete(f"/api/filters/{one}")).status_code == 204
    gone = await ada.dav.request("PROPFIND", f"{ada.home}filters/{one}/", headers={"Depth": "0"})
    assert gone.status_code == 404


async def test_a_limit_below_the_changes_is_507(ada: DavUser) -> None:
    urgent = await new_filter(ada, "Urgent", "p1")
    for title in ("A", "B", "C"):
        await new_task(ada, title, priority="high")
    response = await ada.dav.request(
        "REPORT", f"{ada.home}filters/{urgent}/", content=sync_body("", limit=2)
    )
    assert response.status_code == 507, response.text
    assert "{DAV:}number-of-matches-within-limits" in condition(response)


async def test_multiget_and_calendar_query(ada: DavUser) -> None:
    urgent = await new_filter(ada, "Urgent", "p1")
    coll = f"{ada.home}filters/{urgent}/"
    held = await new_task(ada, "Held", priority="high", due_date="2026-12-24")
    other = await new_task(ada, "Not held", priority="low")
    body = (
        '<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
        f"<d:href>{coll}{held}.ics</d:href><d:href>{coll}{other}.ics</d:href>"
        "</c:calendar-multiget>"
    )
    got = await ada.dav.request("REPORT", coll, content=body.encode())
    assert got.status_code == 207, got.text
    answers = {n.findtext("d:href", namespaces=NS): n for n in xml(got).iterfind("d:response", NS)}
    assert "SUMMARY:Held" in (
        answers[f"{coll}{held}.ics"].findtext(".//c:calendar-data", namespaces=NS) or ""
    )
    assert "404" in (answers[f"{coll}{other}.ics"].findtext("d:status", namespaces=NS) or "")
    query = (
        '<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">'
        '<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR">'
        '<c:comp-filter name="VTODO"/></c:comp-filter></c:filter></c:calendar-query>'
    )
    found = await ada.dav.request("REPORT", coll, content=query.encode(), headers={"Depth": "1"})
    assert found.status_code == 207, found.text
    hrefs = [n.findtext("d:href", namespaces=NS) for n in xml(found).iterfind("d:response", NS)]
    assert hrefs == [f"{coll}{held}.ics"]


async def test_writes_are_refused(ada: DavUser) -> None:
    urgent = await new_filter(ada, "Urgent", "p1")
    coll = f"{ada.home}filters/{urgent}/"
    held = await new_task(ada, "Held", priority="high")
    put = await ada.dav.put(f"{coll}{held}.ics", content=vtodo(held, "Changed"))
    assert put.status_code == 403, put.text
    assert "{DAV:}need-privileges" in condition(put)
    new = await ada.dav.put(f"{coll}new.ics", content=vtodo("new-uid", "New"))
    assert new.status_code == 403
    for path in (f"{coll}{held}.ics", coll):
        deleted = await ada.dav.delete(path)
        assert deleted.status_code == 403, deleted.text
        assert "{DAV:}need-privileges" in condition(deleted)
    assert (await ada.dav.request("MKCALENDAR", f"{ada.home}filters/")).status_code == 405
    assert (await ada.dav.request("MKCALENDAR", coll)).status_code == 405
    options = await ada.dav.options(f"{coll}{held}.ics")
    assert "PUT" in options.headers["allow"]
    assert "MKCALENDAR" not in options.headers["allow"]
    # Nothing changed.
    task = (await ada.api.get(f"/api/tasks/{held}")).json()
    assert task["title"] == "Held"
    assert len((await ada.api.get("/api/tasks")).json()) == 1


async def test_the_caldav_library_finds_and_syncs_a_filter(
    app: FastAPI, settings: Settings
) -> None:
    async with dav_user(app, settings, "ada@example.com") as ada, serving(app) as base:
        urgent = await new_filter(ada, "Urgent", "p1")
        first = await new_task(ada, "First", priority="high")

        def discover() -> tuple[list[str], str, int]:
            client = caldav.DAVClient(
                url=f"{base}/.well-known/caldav", username="me", password=ada.token
            )
            found = client.principal().calendars()
            names = [c.get_display_name() for c in found]
            calendar = next(c for c in found if c.get_display_name() == "Urgent")
            objects = calendar.objects_by_sync_token(load_objects=True)
            return names, str(objects.sync_token), len(list(objects))

        names, token, count = await asyncio.to_thread(discover)
        assert names == ["Inbox", "Urgent"]
        assert count == 1
        second = await new_task(ada, "Second", priority="high")
        await ada.api.post(f"/api/tasks/{first}/complete")

        def resync() -> dict[str, str]:
            client = caldav.DAVClient(url=base, username="me", password=ada.token)
            calendar = client.calendar(url=f"{base}{ada.home}filters/{urgent}/")
            changed = calendar.objects_by_sync_token(sync_token=token, load_objects=True)
            return {str(o.url).rsplit("/", 1)[1]: o.data or "" for o in changed}

        changed = await asyncio.to_thread(resync)
        assert set(changed) == {f"{first}.ics", f"{second}.ics"}
        assert "SUMMARY:Second" in changed[f"{second}.ics"]
        assert changed[f"{first}.ics"] == ""  # gone: no data
