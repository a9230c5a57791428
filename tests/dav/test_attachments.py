"""A task's files in its calendar object: each an `ATTACH;FMTTYPE=…;FILENAME=…:<url>` whose URL
the app fetches with the credentials it syncs with; a file added or deleted is a new ETag (and
in the next sync); an app's PUT that sends the ATTACH lines back, or leaves them out, neither
loses nor duplicates a file; an app's move (a DELETE, then a PUT of the same UID elsewhere)
keeps the task's files and their bytes, which the storage's sweep leaves alone for the move
window. Through the `caldav` library, and as Thunderbird sends its requests, on both
databases."""

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import caldav
import httpx
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import select, update

from tests.dav import thunderbird
from tests.dav.helpers import (
    DavUser,
    basic,
    dav_user,
    new_list,
    propfind,
    sync,
    texts,
    vtodo,
    xml,
)
from tests.files.helpers import PNG, upload
from tests.helpers_server import FEED_WAIT_SECONDS
from tests.lists.sharing import share
from tests.live_helpers import serving
from tests.support import app_for, client_for, make_settings
from tests.tasks.feed_helpers import database, read_feed
from todo_api.config import Settings
from todo_api.dav import scheduled as dav_scheduled
from todo_api.files.scheduled import sweep
from todo_api.files.storage import storage_for
from todo_api.kit.ids import utcnow
from todo_api.tables.attachments import attachments
from todo_api.tables.dav import dav_objects


def _attached(text: bytes | str) -> list[Any]:
    [todo] = Calendar.from_ical(text).walk("VTODO")
    found = todo.get("ATTACH", [])
    return found if isinstance(found, list) else [found]


def _files_of(text: bytes | str) -> list[tuple[str, str, str]]:
    """(url, FMTTYPE, FILENAME) of each ATTACH."""
    return [(str(a), a.params["FMTTYPE"], a.params["FILENAME"]) for a in _attached(text)]


async def _file_names(user: DavUser, task_id: str) -> list[str]:
    listed = await user.api.get(f"/api/tasks/{task_id}/attachments")
    assert listed.status_code == 200, listed.text
    return sorted(file["name"] for file in listed.json())


async def test_the_caldav_library_reads_a_tasks_files(app: FastAPI, settings: Settings) -> None:
    async with dav_user(app, settings) as ada, serving(app) as base:
        made = await ada.api.post("/api/tasks", json={"title": "Taxes"})
        task_id = made.json()["id"]
        raw = await ada.api.post(  # (a multipart form would send the quotes as %22)
            f"/api/tasks/{task_id}/attachments",
            params={"name": 'notes "2026"; q:1.txt'},
            content=b"receipts\n",
            headers={"Content-Type": "text/plain"},
        )
        assert raw.status_code == 201, raw.text
        note = raw.json()
        image = await upload(ada.api, task_id, PNG, "scan.png", "image/png")
        href = f"{ada.home}inbox/{task_id}.ics"
        before_sync, token = await sync(ada.dav, f"{ada.home}inbox/", wait_for=[task_id])

        def read() -> tuple[str, list[tuple[str, str, str]]]:
            client = caldav.DAVClient(url=f"{base}/dav/", username="me", password=ada.token)
            inbox = client.principal().calendars()[0]
            [todo] = inbox.todos()
            return str(todo.url), _files_of(todo.data)

        url, files = await asyncio.to_thread(read)
        assert url.endswith(href)
        assert files == [
            (f"{base}/api/attachments/{note['id']}/content", "text/plain", note["name"]),
            (f"{base}/api/attachments/{image['id']}/content", "image/png", "scan.png"),
        ]
        assert note["name"] == 'notes "2026"; q:1.txt'  # read back whole, quotes and all
        # The URLs answer the app's own credentials (Basic, the token as its password).
        async with httpx.AsyncClient(headers=basic(ada.token)) as plain:
            got = [(await plain.get(url)) for url, _, _ in files]
            assert [r.status_code for r in got] == [200, 200]
            assert [r.content for r in got] == [b"receipts\n", PNG]
            anonymous = await httpx.AsyncClient().get(files[0][0])
            assert anonymous.status_code == 401
            assert "Basic" in anonymous.headers["WWW-Authenticate"]

        # An upload and a deletion through the API: a new ETag each time, and in the sync.
        etags = [before_sync[href]]
        extra = await upload(ada.api, task_id, b"more\n", "more.txt")
        changed, token = await sync(ada.dav, f"{ada.home}inbox/", token, wait_for=[task_id])
        etags.append(changed[href])
        assert (await ada.api.delete(f"/api/attachments/{note['id']}")).status_code == 204
        changed, token = await sync(ada.dav, f"{ada.home}inbox/", token, wait_for=[task_id])
        etags.append(changed[href])
        assert len(set(etags)) == 3
        assert (await ada.dav.get(href)).headers["ETag"] == etags[-1]
        api_etag = (await ada.api.get(f"/api/tasks/{task_id}")).headers["ETag"]
        assert api_etag == etags[-1]  # the same ETag as /api's

        # The app changes the task and saves it with its ATTACH lines: the files stay, once.
        def save() -> list[tuple[str, str, str]]:
            client = caldav.DAVClient(url=f"{base}/dav/", username="me", password=ada.token)
            todo = client.calendar(url=f"{base}{ada.home}inbox/").todos()[0]
            todo.icalendar_component["SUMMARY"] = "Taxes 2026"
            todo.save()
            return _files_of(client.calendar(url=f"{base}{ada.home}inbox/").todos()[0].data)

        saved = await asyncio.to_thread(save)
        assert [name for _, _, name in saved] == ["scan.png", "more.txt"]
        assert await _file_names(ada, task_id) == ["more.txt", "scan.png"]
        assert (await ada.api.get(f"/api/tasks/{task_id}")).json()["title"] == "Taxes 2026"
        assert extra["id"] in saved[1][0]


async def _ctag(user: DavUser, path: str) -> str:
    found = await propfind(user.dav, path, "cs:getctag")
    assert found.status_code == 207, found.text
    [ctag] = texts(xml(found), "d:response/d:propstat/d:prop/cs:getctag")
    return ctag


async def test_thunderbirds_put_keeps_the_files_whatever_attach_it_sends(ada: DavUser) -> None:
    inbox = f"{ada.home}inbox/"
    body = thunderbird.calendar(thunderbird.todo("tb-files", "Plan the trip"))
    href = await thunderbird.create(ada.dav, inbox, "tb-files", body)
    [task] = (await ada.api.get("/api/tasks")).json()
    etag = await thunderbird.etag_of(ada.dav, href)
    assert _attached((await ada.dav.get(href)).content) == []  # as sent: no files yet

    ctag = await _ctag(ada, inbox)
    ticket = await upload(ada.api, task["id"], b"%PDF-1.4\n", "ticket.pdf", "application/pdf")
    assert await _ctag(ada, inbox) != ctag  # the calendar changed: Thunderbird looks again
    # The ETag Thunderbird holds is stale now: its change is refused, and it reads again.
    stale = await thunderbird.modify(ada.dav, href, etag, body)
    assert stale.status_code == 412
    got = await ada.dav.get(href)
    [(url, kind, name)] = _files_of(got.content)
    assert (url, kind, name) == (
        f"http://test/api/attachments/{ticket['id']}/content",
        "application/pdf",
        "ticket.pdf",
    )
    assert got.headers["ETag"] != etag
    assert (await ada.dav.get(url)).content == b"%PDF-1.4\n"  # Basic, as the app fetches it

    # Thunderbird sends the ATTACH back with its change: kept as sent (its ETag answered).
    attach = f"ATTACH;FMTTYPE=application/pdf;FILENAME=ticket.pdf:{url}"
    again = thunderbird.calendar(
        thunderbird.todo("tb-files", "Plan the trip!", attach, "X-CLIENT-NOTE:kept", generation=2)
    )
    sent = await thunderbird.modify(ada.dav, href, got.headers["ETag"], again)
    assert sent.status_code == 204, sent.text
    assert "ETag" in sent.headers
    assert (await ada.dav.get(href)).content == again
    assert await _file_names(ada, task["id"]) == ["ticket.pdf"]

    # An ATTACH naming another file (a deleted one, another server's copy) adds nothing, and one
    # left out deletes nothing: the object is then written from the task (no ETag answered).
    elsewhere = "ATTACH:https://elsewhere.example/files/a.pdf"
    ghost = f"ATTACH:http://test/api/attachments/{task['id']}/content"
    third = thunderbird.calendar(
        thunderbird.todo("tb-files", "Plan the trip", elsewhere, ghost, generation=3)
    )
    changed = await thunderbird.modify(ada.dav, href, sent.headers["ETag"], third)
    assert changed.status_code == 204, changed.text
    assert "ETag" not in changed.headers
    written = (await ada.dav.get(href)).content
    assert [str(value) for value in _attached(written)] == [
        "https://elsewhere.example/files/a.pdf",  # the app's own link, kept
        url,
    ]
    assert await _file_names(ada, task["id"]) == ["ticket.pdf"]
    fourth = thunderbird.calendar(thunderbird.todo("tb-files", "Plan", generation=4))
    etag = await thunderbird.etag_of(ada.dav, href)
    assert (await thunderbird.modify(ada.dav, href, etag, fourth)).status_code == 204
    assert [u for u, _, _ in _files_of((await ada.dav.get(href)).content)] == [url]
    assert await _file_names(ada, task["id"]) == ["ticket.pdf"]


async def test_the_urls_are_under_public_url(settings: Settings) -> None:
    public = make_settings(
        settings.database_url or "", settings.data_dir, public_url="https://tasks.example.com"
    )
    async with app_for(public) as app, dav_user(app, public) as ada:
        task_id = (await ada.api.post("/api/tasks", json={"title": "Public"})).json()["id"]
        made = await upload(ada.api, task_id)
        async with client_for(app) as dav:
            dav.headers.update(basic(ada.token))
            got = await dav.get(f"{ada.home}inbox/{task_id}.ics")
        assert [url for url, _, _ in _files_of(got.content)] == [
            f"https://tasks.example.com/api/attachments/{made['id']}/content"
        ]


async def _read(user: DavUser, attachment_id: str) -> dict[str, Any]:
    got = await user.api.get(f"/api/attachments/{attachment_id}")
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


async def _files_in_feed(user: DavUser, since: str, ids: set[str]) -> dict[str, Any]:
    """A page of the feed from `since` once it carries the files `ids` (on PostgreSQL the feed
    may hold back a change for a while: tests.tasks.feed_helpers.read_feed)."""
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        page = await read_feed(user.api, since)
        if ids <= {file["id"] for file in page["attachments"]} or time.monotonic() > deadline:
            return page
        await asyncio.sleep(0.05)


async def test_a_calendar_apps_move_by_delete_keeps_the_tasks_files(ada: DavUser) -> None:
    """Some apps move a task between calendars by a DELETE, then a PUT of the same UID: the
    task comes back with its files as they were (ids, names, bytes, the comment one is on),
    listed by its object where it went and in the change feed as there."""
    home, work = await new_list(ada, "Home"), await new_list(ada, "Work")
    put = await ada.dav.put(f"{ada.home}{home}/trip.ics", content=vtodo("trip", "Trip"))
    assert put.status_code == 201, put.text
    [task] = (await ada.api.get("/api/tasks")).json()
    ticket = await upload(ada.api, task["id"], b"%PDF-1.4\n", "ticket.pdf", "application/pdf")
    scan = await upload(ada.api, task["id"], PNG, "scan.png", "image/png")
    said = await ada.api.post(
        f"/api/tasks/{task['id']}/comments",
        json={"body": "Scanned", "attachment_ids": [scan["id"]]},
    )
    assert said.status_code == 201, said.text
    before = [await _read(ada, ticket["id"]), await _read(ada, scan["id"])]
    assert before[1]["comment_id"] == said.json()["id"]
    token = (await read_feed(ada.api, wait_for=[ticket["id"], scan["id"]]))["next"]
    held = (await ada.dav.get(f"{ada.home}{home}/trip.ics")).content  # the app's copy

    assert (await ada.dav.delete(f"{ada.home}{home}/trip.ics")).status_code == 204
    assert (await ada.api.get(f"/api/attachments/{ticket['id']}")).status_code == 404
    again = await ada.dav.put(f"{ada.home}{work}/trip.ics", content=held)
    assert again.status_code == 201, again.text
    assert "ETag" in again.headers  # kept as sent: its ATTACH lines name the task's files

    assert [await _read(ada, ticket["id"]), await _read(ada, scan["id"])] == before
    contents = [await ada.api.get(f"/api/attachments/{f['id']}/content") for f in before]
    assert [c.content for c in contents] == [b"%PDF-1.4\n", PNG]
    got = await ada.dav.get(f"{ada.home}{work}/trip.ics")
    assert got.status_code == 200, got.text
    assert _files_of(got.content) == [
        (f"http://test/api/attachments/{ticket['id']}/content", "application/pdf", "ticket.pdf"),
        (f"http://test/api/attachments/{scan['id']}/content", "image/png", "scan.png"),
    ]
    # In the feed, a client that synced before the move finds them as they are, not deleted.
    page = await _files_in_feed(ada, token, {ticket["id"], scan["id"]})
    assert sorted(page["attachments"], key=lambda f: f["id"]) == before
    assert not {ticket["id"], scan["id"]} & set(page["deleted_attachments"])


async def test_a_moved_tasks_files_by_someone_gone_meanwhile_stay_gone(
    app: FastAPI, settings: Settings, ada: DavUser
) -> None:
    """A member puts a file of Ada's on their comment and uploads one of their own, a calendar
    app deletes the task, the member's account goes, then the app's PUT moves the task: Ada's
    file comes back on the task (its comment did not), the member's does not."""
    home, work = await new_list(ada, "Home"), await new_list(ada, "Work")
    put = await ada.dav.put(f"{ada.home}{home}/plan.ics", content=vtodo("plan", "Plan"))
    assert put.status_code == 201, put.text
    [task] = (await ada.api.get("/api/tasks")).json()
    mine = await upload(ada.api, task["id"], b"Ada's\n", "ada.txt")
    async with dav_user(app, settings, "cyd@example.com") as cyd:
        await share(ada.api, cyd.api, home, "editor")
        await upload(cyd.api, task["id"], b"Cyd's\n", "cyd.txt")
        said = await cyd.api.post(
            f"/api/tasks/{task['id']}/comments",
            json={"body": "Mine", "attachment_ids": [mine["id"]]},
        )
        assert said.status_code == 201, said.text
        assert (await ada.dav.delete(f"{ada.home}{home}/plan.ics")).status_code == 204
        gone = await cyd.api.request("DELETE", "/api/auth/me", json={"confirm": cyd.email})
        assert gone.status_code == 204, gone.text
    again = await ada.dav.put(f"{ada.home}{work}/plan.ics", content=vtodo("plan", "Plan"))
    assert again.status_code == 201, again.text
    back = await ada.api.get(f"/api/tasks/{task['id']}/attachments")
    assert back.status_code == 200, back.text
    assert [(f["id"], f["comment_id"]) for f in back.json()] == [(mine["id"], None)]
    assert (await ada.api.get(f"/api/attachments/{mine['id']}/content")).content == b"Ada's\n"


async def test_a_calendar_apps_move_into_another_owners_list_holds_their_quota(
    settings: Settings, tmp_path: Path
) -> None:
    """Either way an app moves a task with files into a list of another owner (a PUT where it
    goes, then the DELETE; or the DELETE first), past that owner's quota the PUT is 413 and
    the task is not theirs."""
    small = make_settings(
        settings.database_url or "",
        settings.data_dir,
        attachment_quota_bytes=1000,
        attachment_storage=f"file://{tmp_path}",
    )
    async with app_for(small) as app, dav_user(app, small) as ada, dav_user(app, small) as ben:
        shared = await new_list(ben, "Ben's")
        await share(ben.api, ada.api, shared, "editor")
        bens = await ben.api.post("/api/tasks", json={"title": "Ben's own"})
        await upload(ben.api, bens.json()["id"], b"b" * 600, "b.bin")
        home = await new_list(ada, "Home")
        for uid in ("put-first", "delete-first"):
            put = await ada.dav.put(f"{ada.home}{home}/{uid}.ics", content=vtodo(uid, uid))
            assert put.status_code == 201, put.text
        for task in (await ada.api.get("/api/tasks")).json():
            await upload(ada.api, task["id"], b"a" * 500, "a.bin")

        moved = await ada.dav.put(
            f"{ada.home}{shared}/put-first.ics", content=vtodo("put-first", "put-first")
        )
        assert moved.status_code == 413, moved.text
        assert (await ada.dav.delete(f"{ada.home}{home}/delete-first.ics")).status_code == 204
        moved = await ada.dav.put(
            f"{ada.home}{shared}/delete-first.ics", content=vtodo("delete-first", "delete-first")
        )
        assert moved.status_code == 413, moved.text
        in_shared = await ada.api.get("/api/tasks", params={"list_id": shared})
        assert in_shared.json() == []


async def test_the_sweep_keeps_a_deleted_tasks_bytes_for_the_move_window(
    ada: DavUser, settings: Settings
) -> None:
    """The bytes of a task an app deleted stay while its move may come (however old they look
    to the storage's sweep), and go with the rest once the note of it is forgotten."""
    put = await ada.dav.put(f"{ada.home}inbox/kept.ics", content=vtodo("kept", "Kept"))
    assert put.status_code == 201, put.text
    [task] = (await ada.api.get("/api/tasks")).json()
    await upload(ada.api, task["id"], b"on the task\n", "task.txt")
    on_comment = await upload(ada.api, task["id"], b"on a comment\n", "comment.txt")
    said = await ada.api.post(
        f"/api/tasks/{task['id']}/comments",
        json={"body": "See", "attachment_ids": [on_comment["id"]]},
    )
    assert said.status_code == 201, said.text
    storage = storage_for(settings)
    async with database(settings) as db:
        async with db.connection() as conn:
            of_task = select(attachments.c.storage_key).where(
                attachments.c.task_id == uuid.UUID(task["id"])
            )
            keys = {row.storage_key for row in (await conn.execute(of_task)).rows}
        assert len(keys) == 2
        assert (await ada.dav.delete(f"{ada.home}inbox/kept.ics")).status_code == 204

        async def swept() -> set[str]:  # a sweep a day on (the bytes look old), what is left
            await sweep(db, storage, now=utcnow() + timedelta(days=1, hours=1))
            return keys & {key async for key, _ in storage.listing()}

        try:
            assert await swept() == keys  # the note names them: nothing removed
            await dav_scheduled.prune(db)  # within the window, the note stays
            assert await swept() == keys
            async with db.transaction() as conn:
                await conn.execute(
                    update(dav_objects)
                    .where(dav_objects.c.name == "kept.ics")
                    .values(deleted_at=utcnow() - timedelta(minutes=11))
                )
            await dav_scheduled.prune(db)  # the window is over: the note forgets them
            assert await swept() == set()
        finally:
            await storage.close()
