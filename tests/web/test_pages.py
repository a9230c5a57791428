"""The web app's pages through HTTP, on both databases: signing in and out (the sign-in is one
of the account's, ended by every ending), the lists, quick add, completing, a task's page, and
what keeps them safe (CSRF tokens, the cookie refused on /api, text shown as text)."""

import html
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from PIL import Image

from tests.accounts.helpers import PASSWORD, bearer, sign_up, two_factor_on
from tests.oauth.helpers import form_fields
from tests.support import app_factory, client_for
from todo_api.config import Settings
from todo_api.web.common.shown import EN_DASH

XSS_TITLES = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


@pytest.fixture
async def app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path, email_verification="off") as make:
        yield make()


class Account:
    """An account: the API's client with its token, and a browser of its own (cookies)."""

    def __init__(self, api: httpx.AsyncClient, browser: httpx.AsyncClient, body: Any) -> None:
        self.api, self.browser = api, browser
        self.email: str = body["user"]["email"]
        self.headers = bearer(body["access_token"])

    async def sign_in(self, password: str = PASSWORD) -> httpx.Response:
        page = await self.browser.get("/app/signin")
        assert page.status_code == 200, page.text
        return await self.browser.post(
            "/app/signin",
            data={**form_fields(page.text), "email": self.email, "password": password},
        )

    async def post(self, page_path: str, action: str, **fields: str) -> httpx.Response:
        """Press a form's button on the page at `page_path` (its CSRF token along)."""
        page = await self.browser.get(page_path)
        assert page.status_code == 200, page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        return await self.browser.post(action, data={"csrf_token": token[1], **fields})

    async def tasks(self, **params: str) -> list[dict[str, Any]]:
        listed = await self.api.get("/api/tasks", params=params, headers=self.headers)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()
        return found

    async def sessions(self) -> list[dict[str, Any]]:
        listed = await self.api.get("/api/auth/sessions", headers=self.headers)
        assert listed.status_code == 200, listed.text
        found: list[dict[str, Any]] = listed.json()
        return found


@pytest.fixture
async def account(app: FastAPI) -> AsyncIterator[Account]:
    async with client_for(app) as api, client_for(app) as browser:
        yield Account(api, browser, await sign_up(api))


@pytest.fixture
async def signed_in(account: Account) -> Account:
    answer = await account.sign_in()
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/app/"
    return account


async def test_a_browser_at_the_root_goes_to_the_app_and_others_get_what_it_said(
    app: FastAPI,
) -> None:
    async with client_for(app) as client:
        browser = await client.get("/", headers={"Accept": "text/html,*/*;q=0.8"})
        assert browser.status_code == 303
        assert browser.headers["location"] == "/app/"
        other = await client.get("/", headers={"Accept": "application/json"})
        assert other.status_code == 200
        assert other.json()["name"] == "todo-api"


async def test_a_browser_not_signed_in_is_sent_to_sign_in(account: Account) -> None:
    for path in ("/app/", "/app/today", "/app/upcoming"):
        page = await account.browser.get(path)
        assert page.status_code == 303, path
        assert page.headers["location"] == "/app/signin"


async def test_a_wrong_password_signs_no_one_in(account: Account) -> None:
    refused = await account.sign_in(password="not the password at all")
    assert refused.status_code == 401
    assert "Incorrect email or password." in refused.text
    assert (await account.browser.get("/app/")).status_code == 303


async def test_signing_in_shows_the_inbox_and_the_lists_with_their_open_counts(
    signed_in: Account,
) -> None:
    made = await signed_in.api.post("/api/lists", json={"name": "Home"}, headers=signed_in.headers)
    assert made.status_code == 201, made.text
    home = made.json()["id"]
    for title in ("Water the plants", "Fix the tap"):
        task = {"title": title, "list_id": home}
        created = await signed_in.api.post("/api/tasks", json=task, headers=signed_in.headers)
        assert created.status_code == 201
    inbox = await signed_in.browser.get("/app/")
    assert inbox.status_code == 200
    assert '<nav aria-label="Lists">' in inbox.text
    assert f'href="/app/lists/{home}">Home <span class="count">2 open</span>' in inbox.text
    assert "No open tasks here." in inbox.text
    listed = await signed_in.browser.get(f"/app/lists/{home}")
    assert "Water the plants" in listed.text
    assert 'aria-label="Complete Fix the tap"' in listed.text
    # The sign-in is one of the account's.
    assert len(await signed_in.sessions()) == 2


async def test_quick_add_puts_the_task_in_the_list_in_view_and_the_checkbox_completes_it(
    signed_in: Account,
) -> None:
    made = await signed_in.api.post("/api/lists", json={"name": "Work"}, headers=signed_in.headers)
    work = made.json()["id"]
    page = f"/app/lists/{work}"
    added = await signed_in.post(
        page, "/app/quick", text="Send the report tomorrow @office p1", list_id=work, back=page
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == page
    [task] = await signed_in.tasks()
    assert (task["title"], task["list_id"], task["priority"]) == ("Send the report", work, "high")
    assert task["tags"] == ["office"]
    assert task["due_date"] is not None
    shown = await signed_in.browser.get(page)
    assert f'href="/app/tasks/{task["id"]}">Send the report</a>' in shown.text
    assert "@office" in shown.text

    done = await signed_in.post(page, f"/app/tasks/{task['id']}/complete", back=page)
    assert done.status_code == 303
    assert done.headers["location"] == f"{page}?undo={task['id']}"  # offering `Undo`
    assert (await signed_in.tasks())[0]["is_completed"] is True
    assert "Send the report" not in (await signed_in.browser.get(page)).text


async def test_quick_add_and_its_preview_read_the_persons_own_language(
    signed_in: Account,
) -> None:
    """A German profile in an English browser: German first, English too."""
    changed = await signed_in.api.patch(
        "/api/auth/me", json={"language": "de"}, headers=signed_in.headers
    )
    assert changed.status_code == 200, changed.text
    signed_in.browser.headers["Accept-Language"] = "en-US,en;q=0.9"
    text = "Steuererklärung abgeben morgen um 10 Uhr"
    preview = await signed_in.post("/app/", "/app/quick/preview", text=text)
    assert preview.status_code == 200, preview.text
    assert '<mark class="read-due" aria-describedby="read-due">morgen um 10 Uhr</mark>' in (
        preview.text
    )
    added = await signed_in.post("/app/", "/app/quick", text=text, back="/app/")
    assert added.status_code == 303, added.text
    added = await signed_in.post("/app/", "/app/quick", text="Zahnarzt tomorrow", back="/app/")
    assert added.status_code == 303, added.text
    tasks = sorted(await signed_in.tasks(), key=lambda task: task["title"])
    assert [task["title"] for task in tasks] == ["Steuererklärung abgeben", "Zahnarzt"]
    assert tasks[0]["due_at"] is not None
    assert tasks[1]["due_date"] is not None


async def test_quick_add_puts_a_task_in_the_section_named_of_the_list_in_view(
    signed_in: Account,
) -> None:
    changed = await signed_in.api.patch(
        "/api/auth/me", json={"language": "de"}, headers=signed_in.headers
    )
    assert changed.status_code == 200, changed.text
    home = await signed_in.api.post("/api/lists", json={"name": "Home"}, headers=signed_in.headers)
    list_id = home.json()["id"]
    made = await signed_in.api.post(
        f"/api/lists/{list_id}/sections", json={"name": "Dairy"}, headers=signed_in.headers
    )
    page = f"/app/lists/{list_id}"
    preview = await signed_in.post(page, "/app/quick/preview", text="Milk /dairy", list_id=list_id)
    assert preview.status_code == 200, preview.text
    assert '<mark class="read-section" aria-describedby="read-section">/dairy</mark>' in (
        preview.text
    )
    assert '<span hidden id="read-section">Abschnitt</span>' in preview.text
    added = await signed_in.post(page, "/app/quick", text="Milk /dairy", list_id=list_id, back=page)
    assert added.status_code == 303, added.text
    [task] = await signed_in.tasks()
    assert (task["title"], task["section_id"]) == ("Milk", made.json()["id"])
    refused = await signed_in.post(
        page, "/app/quick", text="Eggs /Fridge", list_id=list_id, back=page
    )
    assert refused.status_code == 400
    assert "/Fridge (characters 5 to 12) is no section" in refused.text


async def test_repeat_in_words_reads_the_persons_language_and_english(
    signed_in: Account,
) -> None:
    changed = await signed_in.api.patch(
        "/api/auth/me", json={"language": "de"}, headers=signed_in.headers
    )
    assert changed.status_code == 200, changed.text
    signed_in.browser.headers["Accept-Language"] = "fr"
    made = await signed_in.api.post(
        "/api/tasks", json={"title": "Gym", "due_date": "2030-01-07"}, headers=signed_in.headers
    )
    page = f"/app/tasks/{made.json()['id']}"
    for words, rule in (
        ("jeden Montag", "FREQ=WEEKLY;BYDAY=MO"),
        ("every friday", "FREQ=WEEKLY;BYDAY=FR"),
    ):
        saved = await signed_in.post(page, page, repeat_words=words)
        assert saved.status_code == 303, saved.text
        [task] = await signed_in.tasks()
        assert task["recurrence"] == rule, words


async def test_quick_add_goes_to_the_list_the_text_names(signed_in: Account) -> None:
    made = await signed_in.api.post("/api/lists", json={"name": "Home"}, headers=signed_in.headers)
    added = await signed_in.post("/app/", "/app/quick", text="Buy milk #Home", back="/app/")
    assert added.status_code == 303, added.text
    [task] = await signed_in.tasks()
    assert task["list_id"] == made.json()["id"]


async def test_quick_add_that_cannot_be_read_says_why(signed_in: Account) -> None:
    refused = await signed_in.post("/app/", "/app/quick", text="Buy milk #Nowhere", back="/app/")
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert "There is no list named “Nowhere”." in refused.text  # with the offer (below)
    assert "<h1>Inbox</h1>" in refused.text
    from_today = await signed_in.post(
        "/app/today", "/app/quick", text="tomorrow p1", back="/app/today"
    )
    assert from_today.status_code == 400
    assert "<h1>Today</h1>" in from_today.text  # shown again where it was typed
    assert 'value="tomorrow p1"' in from_today.text
    assert await signed_in.tasks() == []


async def test_a_list_not_there_is_made_or_the_task_added_where_it_is(
    signed_in: Account,
) -> None:
    """The offer's two buttons, without JavaScript: the list made with the task in it, or
    the task in the list in view with the words kept in its title."""
    offered = await signed_in.post("/app/", "/app/quick", text="Buy milk #Groceries", back="/app/")
    assert offered.status_code == 400
    assert 'name="unknown_list" value="make"' in offered.text
    assert "Add to Inbox" in offered.text
    made = await signed_in.post(
        "/app/", "/app/quick", text="Buy milk #Groceries", back="/app/", unknown_list="make"
    )
    assert made.status_code == 303, made.text
    lists = (await signed_in.api.get("/api/lists", headers=signed_in.headers)).json()
    assert [item["name"] for item in lists] == ["Groceries"]
    here = await signed_in.post(
        "/app/", "/app/quick", text="Read #Someday", back="/app/", unknown_list="here"
    )
    assert here.status_code == 303, here.text
    found = {task["title"]: task["list_id"] for task in await signed_in.tasks()}
    assert found == {"Buy milk": lists[0]["id"], "Read #Someday": None}


async def test_quick_add_completed_before_it_was_sent_is_made_completed(
    signed_in: Account,
) -> None:
    """A task added and completed offline (static/offline.js) is one post, made completed."""
    added = await signed_in.post("/app/", "/app/quick", text="Post it", back="/app/", completed="1")
    assert added.status_code == 303, added.text
    [task] = await signed_in.tasks()
    assert (task["title"], task["is_completed"]) == ("Post it", True)


async def test_htmx_completing_a_task_swaps_its_row_for_undo(signed_in: Account) -> None:
    created = await signed_in.api.post(
        "/api/tasks", json={"title": "Call mum"}, headers=signed_in.headers
    )
    task_id = created.json()["id"]
    page = await signed_in.browser.get("/app/")
    token = form_fields(page.text)["csrf_token"]
    done = await signed_in.browser.post(
        f"/app/tasks/{task_id}/complete",
        data={"csrf_token": token, "back": "/app/"},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200
    assert "Completed Call mum" in done.text
    assert f'action="/app/tasks/{task_id}/reopen"' in done.text
    assert (await signed_in.tasks())[0]["is_completed"] is True


async def test_undo_after_completing_a_repeating_task_puts_its_occurrence_back(
    signed_in: Account,
) -> None:
    created = await signed_in.api.post(
        "/api/tasks",
        json={"title": "Water", "due_at": "2030-01-07T09:00:00Z", "recurrence": "FREQ=WEEKLY"},
        headers=signed_in.headers,
    )
    task_id = created.json()["id"]
    page = await signed_in.browser.get("/app/")
    token = form_fields(page.text)["csrf_token"]
    htmx = {"HX-Request": "true"}
    fields = {"csrf_token": token, "back": "/app/"}
    done = await signed_in.browser.post(f"/app/tasks/{task_id}/complete", data=fields, headers=htmx)
    assert "Completed Water" in done.text
    assert 'name="occurrence" value="1"' in done.text
    [moved] = await signed_in.tasks()
    assert (moved["id"], moved["due_at"]) == (task_id, "2030-01-14T09:00:00Z")

    undone = await signed_in.browser.post(
        f"/app/tasks/{task_id}/reopen", data={**fields, "occurrence": "1"}, headers=htmx
    )
    assert undone.status_code == 200, undone.text
    [back] = await signed_in.tasks()
    assert (back["due_at"], back["is_completed"]) == ("2030-01-07T09:00:00Z", False)

    # Without JavaScript: the page it goes back to offers the same `Undo`.
    again = await signed_in.post("/app/", f"/app/tasks/{task_id}/complete", back="/app/")
    assert again.headers["location"] == f"/app/?undo={task_id}"
    offered = await signed_in.browser.get(again.headers["location"])
    assert "Completed Water" in offered.text
    assert 'name="occurrence" value="1"' in offered.text


async def test_undo_after_a_repeating_tasks_last_occurrence_reopens_it_there(
    signed_in: Account,
) -> None:
    body = {"title": "Once more", "due_date": "2030-01-07", "recurrence": "FREQ=DAILY;COUNT=2"}
    created = await signed_in.api.post("/api/tasks", json=body, headers=signed_in.headers)
    task_id = created.json()["id"]
    first = await signed_in.api.post(f"/api/tasks/{task_id}/complete", headers=signed_in.headers)
    assert first.json()["recurrence"] == "FREQ=DAILY;COUNT=1"  # the last occurrence next
    page = await signed_in.browser.get("/app/")
    fields = {"csrf_token": form_fields(page.text)["csrf_token"], "back": "/app/"}
    htmx = {"HX-Request": "true"}
    done = await signed_in.browser.post(f"/app/tasks/{task_id}/complete", data=fields, headers=htmx)
    assert 'name="occurrence" value="1"' in done.text  # completed for good: Undo all the same
    await signed_in.browser.post(
        f"/app/tasks/{task_id}/reopen", data={**fields, "occurrence": "1"}, headers=htmx
    )
    [back] = await signed_in.tasks()
    assert (back["is_completed"], back["due_date"]) == (False, "2030-01-08")


async def test_undo_of_a_bulk_completion_puts_a_repeating_tasks_occurrence_back(
    signed_in: Account,
) -> None:
    made = [
        await signed_in.api.post("/api/tasks", json=body, headers=signed_in.headers)
        for body in (
            {"title": "Plain"},
            {"title": "Water", "due_at": "2030-01-07T09:00:00Z", "recurrence": "FREQ=WEEKLY"},
        )
    ]
    ids = [response.json()["id"] for response in made]
    page = await signed_in.browser.get("/app/")
    token = form_fields(page.text)["csrf_token"]
    done = await signed_in.browser.post(
        "/app/bulk",
        data={"csrf_token": token, "back": "/app/", "action": "complete", "task": ids},
    )
    assert done.status_code == 200, done.text
    [undo] = re.findall(r'name="undo" value="([^"]*)"', done.text)
    undone = await signed_in.browser.post(
        "/app/bulk", data={"csrf_token": token, "back": "/app/", "undo": html.unescape(undo)}
    )
    assert undone.status_code == 303, undone.text
    tasks = {task["title"]: task for task in await signed_in.tasks()}
    assert tasks["Plain"]["is_completed"] is False
    assert (tasks["Water"]["due_at"], tasks["Water"]["is_completed"]) == (
        "2030-01-07T09:00:00Z",
        False,
    )
    listed = await signed_in.api.get(f"/api/tasks/{ids[1]}/completions", headers=signed_in.headers)
    assert listed.json() == []


async def test_a_form_without_this_browsers_token_is_refused_and_changes_nothing(
    signed_in: Account, app: FastAPI
) -> None:
    created = await signed_in.api.post(
        "/api/tasks", json={"title": "Keep me"}, headers=signed_in.headers
    )
    task_id = created.json()["id"]
    page = await signed_in.browser.get("/app/")
    token = form_fields(page.text)["csrf_token"]
    async with client_for(app) as elsewhere:  # another browser's token is not this one's
        other = form_fields((await elsewhere.get("/app/signin")).text)["csrf_token"]
    for fields in ({}, {"csrf_token": other}, {"csrf_token": token + "x"}):
        for action in ("/app/quick", f"/app/tasks/{task_id}/complete", f"/app/tasks/{task_id}"):
            refused = await signed_in.browser.post(action, data={"text": "Sneaky", **fields})
            assert refused.status_code == 403, (action, fields)
            assert "nothing was changed" in refused.text
        signed_out = await signed_in.browser.post("/app/signout", data=fields)
        assert signed_out.status_code == 403
    [task] = await signed_in.tasks()
    assert (task["title"], task["is_completed"]) == ("Keep me", False)
    assert (await signed_in.browser.get("/app/")).status_code == 200  # still signed in


async def test_a_form_token_belongs_to_the_sign_in_that_showed_the_form(
    signed_in: Account, app: FastAPI
) -> None:
    """A token taken from one sign-in's page is refused with another sign-in's cookie, even
    one that holds the same browser key; and a sign-in made anew refuses the pages shown
    before it. Two tabs of one sign-in share it."""
    token = form_fields((await signed_in.browser.get("/app/")).text)["csrf_token"]
    key = signed_in.browser.cookies["todo_app_browser"]
    async with client_for(app) as api, client_for(app) as theirs:
        other = Account(api, theirs, await sign_up(api))
        assert (await other.sign_in()).status_code == 303
        theirs.cookies.set("todo_app_browser", key)  # the same browser key, another sign-in
        refused = await theirs.post("/app/quick", data={"text": "Sneaky", "csrf_token": token})
        assert refused.status_code == 403, refused.text
        assert await other.tasks() == []
        # Their own page's token works with their cookie.
        assert (await other.post("/app/", "/app/quick", text="Mine")).status_code == 303

    second_tab = form_fields((await signed_in.browser.get("/app/")).text)["csrf_token"]
    assert (await signed_in.sign_in()).status_code == 303  # signed in again: a new sign-in
    for before in (token, second_tab):
        stale = await signed_in.browser.post("/app/quick", data={"text": "x", "csrf_token": before})
        assert stale.status_code == 403
    assert await signed_in.tasks() == []
    tab_one = form_fields((await signed_in.browser.get("/app/")).text)["csrf_token"]
    tab_two = form_fields((await signed_in.browser.get("/app/")).text)["csrf_token"]
    for title, fresh in (("One", tab_one), ("Two", tab_two)):
        added = await signed_in.browser.post(
            "/app/quick", data={"text": title, "csrf_token": fresh}
        )
        assert added.status_code == 303, added.text
    assert sorted(task["title"] for task in await signed_in.tasks()) == ["One", "Two"]


async def test_api_dav_and_mcp_never_take_the_apps_cookie(signed_in: Account) -> None:
    cookies = {"Cookie": "; ".join(f"{k}={v}" for k, v in signed_in.browser.cookies.items())}
    async with httpx.AsyncClient(
        transport=signed_in.browser._transport, base_url="http://test"
    ) as bare:
        for method, path in (("GET", "/api/tasks"), ("GET", "/api/auth/me")):
            refused = await bare.request(method, path, headers=cookies)
            assert refused.status_code == 401, path
        dav = await bare.request("PROPFIND", "/dav/", headers=cookies)
        assert dav.status_code == 401
        mcp = await bare.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={**cookies, "Accept": "application/json, text/event-stream"},
        )
        assert mcp.status_code == 401


async def test_sign_out_ends_the_sign_in(signed_in: Account) -> None:
    kept = dict(signed_in.browser.cookies.items())
    assert len(await signed_in.sessions()) == 2
    signed_out = await signed_in.post("/app/", "/app/signout")
    assert signed_out.status_code == 200
    assert "You are signed out." in signed_out.text
    assert len(await signed_in.sessions()) == 1
    # The cookie kept from before names a sign-in that has ended.
    for name, value in kept.items():
        signed_in.browser.cookies.set(name, value)
    again = await signed_in.browser.get("/app/")
    assert again.status_code == 401
    assert "Your sign-in has ended. Sign in again." in again.text


@pytest.mark.parametrize("ending", ["one", "all"])
async def test_a_sign_in_ended_elsewhere_asks_to_sign_in_again(
    signed_in: Account, ending: str
) -> None:
    if ending == "one":
        [browser] = [item for item in await signed_in.sessions() if not item["current"]]
        ended = await signed_in.api.delete(
            f"/api/auth/sessions/{browser['id']}", headers=signed_in.headers
        )
    else:
        ended = await signed_in.api.post("/api/auth/logout-all", headers=signed_in.headers)
    assert ended.status_code == 204
    page = await signed_in.browser.get("/app/")
    assert page.status_code == 401
    assert "Your sign-in has ended. Sign in again." in page.text
    assert 'name="password"' in page.text
    # Nothing of the person stays on the device: said once, with the cookie gone.
    assert page.headers["clear-site-data"] == '"cache", "storage"'
    assert "clear-site-data" not in (await signed_in.browser.get("/app/")).headers
    refused = await signed_in.browser.post("/app/quick", data={"text": "x"})
    assert refused.status_code in (401, 403)
    assert await signed_in.tasks() == []


async def test_a_files_bytes_and_thumbnail_are_asked_for_again_each_time(
    signed_in: Account,
) -> None:
    """Under /app a file's content and thumbnail are the sign-in's, as the pages are: never
    kept by a shared cache, and revalidated (their ETag) before each use, so none opens from
    the browser's cache once the sign-in has ended."""
    made = await signed_in.api.post(
        "/api/tasks", json={"title": "Paint the roof"}, headers=signed_in.headers
    )
    task_id = made.json()["id"]
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(image, "PNG")
    for name, body, kind in (
        ("notes.txt", b"notes", "text/plain"),
        ("roof.png", image.getvalue(), "image/png"),
    ):
        added = await signed_in.api.post(
            f"/api/tasks/{task_id}/attachments",
            params={"name": name},
            content=body,
            headers={**signed_in.headers, "Content-Type": kind},
        )
        assert added.status_code == 201, added.text
        one = f"/app/attachments/{added.json()['id']}"
        parts = ("content", "thumbnail") if kind == "image/png" else ("content",)
        for part in parts:
            first = await signed_in.browser.get(f"{one}/{part}")
            assert first.status_code == 200, (name, part)
            assert first.headers["cache-control"] == "private, no-cache", (name, part)
            again = await signed_in.browser.get(
                f"{one}/{part}", headers={"If-None-Match": first.headers["etag"]}
            )
            assert again.status_code == 304, (name, part)
            assert again.headers["cache-control"] == "private, no-cache", (name, part)


async def test_a_form_sent_again_with_its_key_and_another_body_gets_a_page_saying_so(
    signed_in: Account,
) -> None:
    """The app's forms take an Idempotency-Key as the API does (static/offline.js sends each
    change made offline so): the same key again with other fields is a page (409) in the
    person's language, not the API's JSON, and changes nothing."""
    language = await signed_in.api.patch(
        "/api/auth/me", json={"language": "de"}, headers=signed_in.headers
    )
    assert language.status_code == 200, language.text
    token = form_fields((await signed_in.browser.get("/app/")).text)["csrf_token"]
    key = {"Idempotency-Key": "one-change-1"}
    for text in ("Buy bread", "Buy bread"):  # the first, then its replay
        sent = await signed_in.browser.post(
            "/app/quick", data={"csrf_token": token, "text": text}, headers=key
        )
        assert sent.status_code == 303, sent.text
    other = await signed_in.browser.post(
        "/app/quick", data={"csrf_token": token, "text": "Sell bread"}, headers=key
    )
    assert other.status_code == 409, other.text
    assert other.headers["content-type"].startswith("text/html")
    assert "<h1>Schon gesendet</h1>" in other.text
    assert "Jetzt wurde nichts geändert." in other.text
    assert [task["title"] for task in await signed_in.tasks()] == ["Buy bread"]


async def test_an_account_with_two_factor_is_asked_for_its_code(account: Account) -> None:
    totp = pyotp.TOTP(await two_factor_on(account.api, **account.headers))
    asked = await account.sign_in()
    assert asked.status_code == 200
    assert 'autocomplete="one-time-code"' in asked.text
    assert (await account.browser.get("/app/")).status_code == 303  # not signed in yet
    fields = form_fields(asked.text)
    wrong = await account.browser.post("/app/signin", data={**fields, "code": "000000"})
    assert wrong.status_code == 401
    next_code = totp.at(time.time() + 30)  # the one enabling it took is used
    right = await account.browser.post("/app/signin", data={**fields, "code": next_code})
    assert right.status_code == 303, right.text
    assert (await account.browser.get("/app/")).status_code == 200


async def test_a_tasks_page_edits_and_deletes_it(signed_in: Account) -> None:
    created = await signed_in.api.post(
        "/api/tasks", json={"title": "Draft", "priority": "low"}, headers=signed_in.headers
    )
    task_id = created.json()["id"]
    page = f"/app/tasks/{task_id}"
    shown = await signed_in.browser.get(page)
    assert shown.status_code == 200
    assert 'value="Draft"' in shown.text
    saved = await signed_in.post(
        page, page, title="Final", description="Two pages", due="2030-05-01", priority="high"
    )
    assert saved.status_code == 303, saved.text
    [task] = await signed_in.tasks()
    assert (task["title"], task["description"], task["due_date"], task["priority"]) == (
        "Final",
        "Two pages",
        "2030-05-01",
        "high",
    )
    emptied = await signed_in.post(page, page, title="", priority="high")
    assert emptied.status_code == 400
    assert 'role="alert"' in emptied.text
    deleted = await signed_in.post(page, f"{page}/delete")
    assert deleted.status_code == 303
    assert await signed_in.tasks() == []
    assert (await signed_in.browser.get(page)).status_code == 404


async def test_a_save_after_a_file_was_added_is_no_conflict(signed_in: Account) -> None:
    """A file added (or deleted) makes the task a new version (its calendar object lists its
    files); the form that showed the version before saves over it, as nothing it shows
    changed. A change to what it shows is still a conflict."""
    created = await signed_in.api.post(
        "/api/tasks", json={"title": "Draft"}, headers=signed_in.headers
    )
    task_id = created.json()["id"]
    page = f"/app/tasks/{task_id}"
    shown = await signed_in.browser.get(page)
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'name="(csrf_token|version|base)" value="([^"]*)"', shown.text
        )
    }
    added = await signed_in.api.post(
        f"/api/tasks/{task_id}/attachments",
        params={"name": "notes.txt"},
        content=b"notes",
        headers={**signed_in.headers, "Content-Type": "text/plain"},
    )
    assert added.status_code == 201, added.text
    fields = {**json.loads(fields["base"]), **fields}  # the form as it showed the task
    saved = await signed_in.browser.post(page, data={**fields, "title": "Final"})
    assert saved.status_code == 303, saved.text
    [task] = await signed_in.tasks()
    assert task["title"] == "Final"
    renamed = await signed_in.api.patch(
        f"/api/tasks/{task_id}", json={"title": "Theirs"}, headers=signed_in.headers
    )
    assert renamed.status_code == 200
    refused = await signed_in.browser.post(page, data={**fields, "title": "Mine"})
    assert refused.status_code == 409


async def test_the_web_apps_import_takes_the_zip_with_files(signed_in: Account) -> None:
    made = await signed_in.api.post("/api/tasks", json={"title": "Map"}, headers=signed_in.headers)
    task_id = made.json()["id"]
    added = await signed_in.api.post(
        f"/api/tasks/{task_id}/attachments",
        params={"name": "route.txt"},
        content=b"north, then east",
        headers={**signed_in.headers, "Content-Type": "text/plain"},
    )
    assert added.status_code == 201, added.text
    exported = await signed_in.api.get(
        "/api/export", params={"with_files": "true"}, headers=signed_in.headers
    )
    assert exported.status_code == 200
    page = await signed_in.browser.get("/app/settings/data")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = await signed_in.browser.post(
        "/app/settings/data/import",
        data={"csrf_token": token[1], "source": "todo-api"},
        files={"file": ("export.zip", exported.content, "application/zip")},
    )
    assert answer.status_code == 200, answer.text
    copy = next(t for t in await signed_in.tasks() if t["id"] != task_id)
    files = await signed_in.api.get(
        f"/api/tasks/{copy['id']}/attachments", headers=signed_in.headers
    )
    [file] = files.json()
    content = await signed_in.api.get(file["url"], headers=signed_in.headers)
    assert (file["name"], content.content) == ("route.txt", b"north, then east")


async def test_the_data_page_downloads_everything_with_the_files(signed_in: Account) -> None:
    made = await signed_in.api.post("/api/tasks", json={"title": "Map"}, headers=signed_in.headers)
    task_id = made.json()["id"]
    added = await signed_in.api.post(
        f"/api/tasks/{task_id}/attachments",
        params={"name": "route.txt"},
        content=b"north, then east",
        headers={**signed_in.headers, "Content-Type": "text/plain"},
    )
    assert added.status_code == 201, added.text
    file_id = added.json()["id"]
    page = await signed_in.browser.get("/app/settings/data")
    assert page.status_code == 200, page.text
    link = re.search(
        r'<a href="([^"]+)" download>Download everything with your files \(zip\)</a>', page.text
    )
    assert link is not None
    got = await signed_in.browser.get(html.unescape(link[1]))  # a plain link: no JavaScript
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    assert re.fullmatch(
        r'attachment; filename="todo-api-export-[\d-]+\.zip"', got.headers["content-disposition"]
    )
    with zipfile.ZipFile(io.BytesIO(got.content)) as archive:
        document = json.loads(archive.read("todo-api-export.json"))
        assert archive.read(f"files/{file_id}/route.txt") == b"north, then east"
    assert [f["id"] for f in document["attachments"]] == [file_id]
    # Files go with the JSON document only; the iCalendar file names them (ATTACH).
    refused = await signed_in.browser.get(
        "/app/settings/data/export", params={"format": "ics", "with_files": "true"}
    )
    assert refused.status_code == 404
    calendar = await signed_in.browser.get("/app/settings/data/export", params={"format": "ics"})
    assert calendar.status_code == 200, calendar.text
    assert (
        f"ATTACH;FILENAME=route.txt;FMTTYPE=text/plain:http://test/api/attachments/{file_id}/content"
        in calendar.text.replace("\r\n ", "")
    )


async def test_someone_elses_task_is_not_found(signed_in: Account, app: FastAPI) -> None:
    async with client_for(app) as api:
        other = await sign_up(api)
        created = await api.post(
            "/api/tasks", json={"title": "Private"}, headers=bearer(other["access_token"])
        )
    page = await signed_in.browser.get(f"/app/tasks/{created.json()['id']}")
    assert page.status_code == 404
    assert "Private" not in page.text


async def test_typed_text_is_shown_as_text(signed_in: Account) -> None:
    for title in XSS_TITLES:
        created = await signed_in.api.post(
            "/api/tasks", json={"title": title, "tags": ["<b>"]}, headers=signed_in.headers
        )
        assert created.status_code == 201, created.text
    inbox = await signed_in.browser.get("/app/")
    task_page = await signed_in.browser.get(f"/app/tasks/{created.json()['id']}")
    for text in (inbox.text, task_page.text):
        assert "<script>alert" not in text
        assert "<img" not in text
        assert "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in inbox.text


async def test_pages_carry_a_strict_policy_and_files_are_immutable(signed_in: Account) -> None:
    inbox = await signed_in.browser.get("/app/")
    policy = inbox.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert inbox.headers["x-frame-options"] == "DENY"
    assets = re.findall(r'(?:href|src)="(/app/static/[^"]+)"', inbox.text)
    # (the PNG: the apple-touch-icon, made from the app's icon)
    assert {path.rsplit(".", 1)[1] for path in assets} == {"css", "js", "svg", "png"}
    for path in assets:
        served = await signed_in.browser.get(path)
        assert served.status_code == 200, path
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        if path.endswith(".png"):
            continue  # a picture is packed already: sent as it is
        # httpx asks for gzip and unpacks it: the bytes read are the file's own
        assert served.headers["content-encoding"] == "gzip", path
        plain = await signed_in.browser.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.content == served.content, path
    assert (await signed_in.browser.get("/app/static/app.0000.css")).status_code == 404
    for name, _value in signed_in.browser.cookies.items():
        assert not name.startswith("__Host-")  # http here: no Secure cookie


async def test_behind_https_the_cookies_are_host_only_and_secure(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, public_url="https://tasks.example.com"
    ) as make:
        app = make()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://tasks.example.com"
        ) as browser:
            account = Account(browser, browser, await sign_up(browser))
            signed = await account.sign_in()
            assert signed.status_code == 303, signed.text
            set_cookies = signed.headers.get_list("set-cookie")
            [sign_in] = [c for c in set_cookies if c.startswith("__Host-todo_app=")]
            for attribute in ("HttpOnly", "Secure", "Path=/", "SameSite=lax"):
                assert attribute in sign_in
            assert (await browser.get("/app/")).status_code == 200


async def test_without_builtin_accounts_the_app_says_why_and_what_turns_it_on(
    settings: Settings, tmp_path: Path
) -> None:
    """Every address of the app is a page (404: nothing is behind it, and nothing will be
    until the setting changes) saying why, in the browser's language; a browser at `/` goes
    to the API's documentation, not to that page."""
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path, builtin_accounts=False) as make:
        browser = client_for(make())
        async with browser:
            for path in ("/app/", "/app/signin", "/app/lists/not-a-list"):
                page = await browser.get(path, headers={"Accept": "text/html"})
                assert page.status_code == 404, path
                assert page.headers["content-type"] == "text/html; charset=utf-8"
                text = html.unescape(page.text)
                assert "<h1>No web app here</h1>" in text
                assert "this service's own accounts, and they are off here" in text
                assert "BUILTIN_ACCOUNTS=true and restarting it" in text
                assert '<a href="/docs">' in text
            german = await browser.get("/app/", headers={"Accept-Language": "de-DE,de;q=0.9"})
            assert german.status_code == 404
            assert '<html lang="de">' in german.text
            assert "Die Web-App meldet Personen mit den eigenen Konten" in german.text
            [style] = re.findall(r'href="(/app/static/app\.[^"]+)"', page.text)
            assert (await browser.get(style)).status_code == 200
            root = await browser.get("/", headers={"Accept": "text/html,*/*;q=0.8"})
            assert root.status_code == 303
            assert root.headers["location"] == "/docs"
            assert (await browser.get(root.headers["location"])).status_code == 200
            other = await browser.get("/", headers={"Accept": "application/json"})
            assert other.json()["name"] == "todo-api"


async def test_web_app_off_serves_no_pages(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path, web_app=False) as make:
        browser = client_for(make())
        async with browser:
            assert (await browser.get("/app/")).status_code == 404
            root = await browser.get("/", headers={"Accept": "text/html"})
            assert root.status_code == 200
            assert root.json()["name"] == "todo-api"


async def test_a_list_shows_fifty_tasks_and_more_on_the_next_page(signed_in: Account) -> None:
    operations = [{"op": "create", "data": {"title": f"Task {n:02}"}} for n in range(51)]
    made = await signed_in.api.post(
        "/api/tasks/bulk", json={"operations": operations}, headers=signed_in.headers
    )
    assert made.status_code == 200, made.text
    first = await signed_in.browser.get("/app/")
    assert first.text.count('role="checkbox"') == 50
    more = re.search(r'<a href="(/app/\?cursor=[^"]+)"', first.text)
    assert more is not None
    second = await signed_in.browser.get(more[1].replace("&amp;", "&"))
    assert second.status_code == 200
    assert second.text.count('role="checkbox"') == 1
    assert ">More</a>" not in second.text
    shown = set(re.findall(r">(Task \d\d)</a>", first.text + second.text))
    assert len(shown) == 51
    assert (await signed_in.browser.get("/app/?cursor=not-a-cursor")).status_code == 404


async def test_today_and_upcoming_read_the_users_clock(signed_in: Account) -> None:
    zone = await signed_in.api.patch(
        "/api/auth/me", json={"timezone": "Pacific/Kiritimati"}, headers=signed_in.headers
    )
    assert zone.status_code == 200, zone.text
    today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    due = {
        "Overdue": {"due_date": (today - timedelta(days=2)).isoformat()},
        "Due today": {"due_date": today.isoformat()},
        "In three days": {"due_date": (today + timedelta(days=3)).isoformat()},
        "In a month": {"due_date": (today + timedelta(days=30)).isoformat()},
        "Whenever": {},
    }
    for title, fields in due.items():
        created = await signed_in.api.post(
            "/api/tasks", json={"title": title, **fields}, headers=signed_in.headers
        )
        assert created.status_code == 201, created.text
    moment = (
        datetime.combine(today, time_of_day(9, 30), ZoneInfo("Pacific/Kiritimati"))
    ).astimezone(UTC)
    timed = await signed_in.api.post(
        "/api/tasks",
        json={"title": "At half past nine", "due_at": moment.isoformat()},
        headers=signed_in.headers,
    )
    assert timed.status_code == 201, timed.text

    def titles(page: httpx.Response) -> set[str]:
        return set(re.findall(r'href="/app/tasks/[^"]+">([^<]+)</a>', page.text))

    shown_today = await signed_in.browser.get("/app/today")
    assert titles(shown_today) == {"Overdue", "Due today", "At half past nine"}
    assert "Today, 9:30" in shown_today.text  # on the user's clock, not the server's
    weekday = (today + timedelta(days=3)).strftime("%A")
    assert "Overdue, due" in shown_today.text
    upcoming = await signed_in.browser.get("/app/upcoming")
    # The coming week's, overdue ones first.
    assert titles(upcoming) == {"Overdue", "Due today", "In three days", "At half past nine"}
    assert f"Due {weekday}" in upcoming.text  # the coming week's days by name


async def test_the_profile_names_zones_in_the_persons_words_and_keeps_an_old_name(
    signed_in: Account,
) -> None:
    """Zones are offered as country and city in the person's language, sorted as read; a
    zone stored under an old name (Asia/Calcutta) is its entry's, chosen, and stays as stored."""
    changes = {"timezone": "Asia/Calcutta", "language": "de"}
    changed = await signed_in.api.patch("/api/auth/me", json=changes, headers=signed_in.headers)
    assert changed.status_code == 200, changed.text
    page = await signed_in.browser.get("/app/settings/profile")
    assert page.status_code == 200, page.text
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page.text)
    zones = {value: (bool(chosen), words) for value, chosen, words in options if "/" in value}
    assert zones["Asia/Calcutta"] == (True, f"Indien {EN_DASH} Kalkutta")
    assert "Asia/Kolkata" not in zones  # one entry for the zone
    assert zones["Asia/Tokyo"] == (False, f"Japan {EN_DASH} Tokio")
    assert zones["Europe/Vienna"] == (False, f"Österreich {EN_DASH} Wien")
    order = [words for _chosen, words in zones.values()]
    assert order.index(f"Oman {EN_DASH} Maskat") < order.index(f"Österreich {EN_DASH} Wien")
    assert order.index(f"Österreich {EN_DASH} Wien") < order.index(f"Pakistan {EN_DASH} Karatschi")
    assert options[0][0] == "UTC"  # the default first

    saved = await signed_in.post(
        "/app/settings/profile", "/app/settings/profile", name="Ada", timezone="Asia/Calcutta"
    )
    assert saved.status_code == 303, saved.text
    me = await signed_in.api.get("/api/auth/me", headers=signed_in.headers)
    assert me.json()["timezone"] == "Asia/Calcutta"


FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


async def test_the_security_page_names_each_sign_ins_browser_and_system(
    signed_in: Account, app: FastAPI
) -> None:
    """A sign-in is shown by the browser and system its User-Agent names, in the page's
    language; one the rules do not know by what it sent."""
    async with client_for(app) as elsewhere:
        elsewhere.headers["User-Agent"] = FIREFOX_ON_WINDOWS
        other = Account(
            signed_in.api, elsewhere, {"user": {"email": signed_in.email}, "access_token": ""}
        )
        assert (await other.sign_in()).status_code == 303
    page = await signed_in.browser.get("/app/settings/security")
    assert page.status_code == 200, page.text
    devices = re.findall(r'<span class="row-text"><strong>([^<]*)</strong>', page.text)
    httpx_agent = f"python-httpx/{httpx.__version__}"  # the API's sign-up and this browser
    assert sorted(devices) == ["Firefox on Windows", httpx_agent, httpx_agent]
    assert FIREFOX_ON_WINDOWS not in page.text

    german = await signed_in.browser.get(
        "/app/settings/security", headers={"Accept-Language": "de"}
    )
    assert "Firefox auf Windows" in german.text


async def test_a_cookie_planted_before_signing_in_signs_no_one_in(
    signed_in: Account, app: FastAPI
) -> None:
    """Someone who hands a victim's browser their own sign-in cookie gains nothing once the
    victim signs in: the sign-in held before ends, and the victim's is new."""
    async with client_for(app) as api, client_for(app) as victims_browser:
        victim = Account(api, victims_browser, await sign_up(api))
        planted = dict(signed_in.browser.cookies.items())
        for name, value in planted.items():
            victims_browser.cookies.set(name, value)
        assert (await victim.sign_in()).status_code == 303
        assert victim.email in (await victims_browser.get("/app/")).text
        # The attacker's own cookie, the one planted, no longer works.
        again = await signed_in.browser.get("/app/")
        assert again.status_code == 401
        assert "Your sign-in has ended. Sign in again." in again.text


async def test_pages_are_gzipped_and_every_answer_has_a_token_of_its_own(
    signed_in: Account,
) -> None:
    for number in range(30):
        await signed_in.api.post(
            "/api/tasks", json={"title": f"Task {number}"}, headers=signed_in.headers
        )
    first = await signed_in.browser.get("/app/")
    assert first.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in first.headers["vary"]
    plain = await signed_in.browser.get("/app/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text.count('class="task"') == first.text.count('class="task"') == 30
    # A token that repeats from answer to answer would let a length side channel (BREACH)
    # read it from the compressed pages: each answer's is new, and each one works.
    tokens = [
        re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0] for page in (first, plain)
    ]
    assert tokens[0] != tokens[1]
    for token in tokens:
        added = await signed_in.browser.post(
            "/app/quick", data={"csrf_token": token, "text": "Added", "back": "/app/"}
        )
        assert added.status_code == 303, added.text


async def test_a_comment_refused_after_its_files_were_stored_takes_them_away(
    signed_in: Account,
) -> None:
    made = await signed_in.api.post("/api/tasks", json={"title": "Roof"}, headers=signed_in.headers)
    task_id = made.json()["id"]
    page = await signed_in.browser.get(f"/app/tasks/{task_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = await signed_in.browser.post(
        f"/app/tasks/{task_id}/comments",
        # A file of files.js's that is not this task's: the comment is refused after the
        # chosen file was stored.
        data={"csrf_token": token[1], "body": "The photo", "attachment_ids": str(uuid.uuid4())},
        files={"file": ("photo.txt", b"not a photo\n", "text/plain")},
    )
    assert answer.status_code == 400, answer.text
    assert "The photo" in answer.text  # the form again, with what was typed
    files = await signed_in.api.get(f"/api/tasks/{task_id}/attachments", headers=signed_in.headers)
    assert files.json() == []
