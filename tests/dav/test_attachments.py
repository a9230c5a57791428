"""A task's files in its calendar object: each an `ATTACH;FMTTYPE=…;FILENAME=…:<url>` whose URL
the app fetches with the credentials it syncs with; a file added or deleted is a new ETag (and
in the next sync); an app's PUT that sends the ATTACH lines back, or leaves them out, neither
loses nor duplicates a file. Through the `caldav` library, and as Thunderbird sends its
requests, on both databases."""

import asyncio
from typing import Any

import caldav
import httpx
from fastapi import FastAPI
from icalendar import Calendar

from tests.dav import thunderbird
from tests.dav.helpers import DavUser, basic, dav_user, propfind, sync, texts, xml
from tests.files.helpers import PNG, upload
from tests.live_helpers import serving
from tests.support import app_for, client_for, make_settings
from todo_api.config import Settings


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
