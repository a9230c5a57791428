"""Small things from a day's use, through HTTP on both databases: a row counts its files (read
with the page's own statement) with an accessible name, and offers its `Due` menu's days;
Today's day says `Today`; a repeat's next dates stand apart; values are words in the person's
language (the activity's priority), and so are the filter's example and its errors; a task's
images and PDFs are previewed (a PDF opened in the browser's viewer: the page's policy frames
nothing); the service worker and CalDAV's root say the app's name (APP_NAME), never the
package's."""

import html
import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from lxml import etree
from PIL import Image

from tests.accounts.helpers import PASSWORD, bearer, sign_up
from tests.dav.helpers import NS, dav_user, propfind
from tests.oauth.helpers import form_fields
from tests.support import app_factory, client_for
from todo_api.config import Settings

NAME = "Acme Lists"
# A PDF of one empty page: enough for the type to be sniffed as one.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    assert settings.database_url is not None
    async with app_factory(settings.database_url, tmp_path, email_verification="off") as make:
        yield make


class Person:
    """An account: the API with its token, and a browser signed in to the web app."""

    def __init__(self, api: httpx.AsyncClient, browser: httpx.AsyncClient, body: Any) -> None:
        self.api, self.browser = api, browser
        self.email: str = body["user"]["email"]
        self.headers = bearer(body["access_token"])

    async def made(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        created = await self.api.post(path, json=body, headers=self.headers)
        assert created.status_code == 201, created.text
        found: dict[str, Any] = created.json()
        return found

    async def attach(self, task_id: str, name: str, data: bytes, kind: str) -> dict[str, Any]:
        files = {"file": (name, data, kind)}
        sent = await self.api.post(
            f"/api/tasks/{task_id}/attachments", files=files, headers=self.headers
        )
        assert sent.status_code == 201, sent.text
        found: dict[str, Any] = sent.json()
        return found

    async def page(self, path: str, language: str = "en") -> str:
        shown = await self.browser.get(path, headers={"Accept-Language": language})
        assert shown.status_code in (200, 400), shown.text
        return shown.text


@pytest.fixture
async def person(make_app: Callable[..., FastAPI]) -> AsyncIterator[Person]:
    app = make_app()
    async with client_for(app) as api, client_for(app) as browser:
        found = Person(api, browser, await sign_up(api))
        form = await browser.get("/app/signin")
        signed = await browser.post(
            "/app/signin",
            data={**form_fields(form.text), "email": found.email, "password": PASSWORD},
        )
        assert signed.status_code == 303, signed.text
        yield found


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 300), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def row_of(page: str, task_id: str) -> str:
    found = re.search(rf'<li class="task[^"]*" id="task-{task_id}".*?</li>', page, re.S)
    assert found is not None, page
    return found[0]


async def test_a_row_counts_its_files_and_offers_its_due_days(person: Person) -> None:
    papers = await person.made("/api/tasks", {"title": "Renew passport"})
    plain = await person.made("/api/tasks", {"title": "Book a haircut"})
    await person.attach(papers["id"], "photo.png", png(), "image/png")
    await person.attach(papers["id"], "form.pdf", PDF, "application/pdf")
    await person.made(f"/api/tasks/{papers['id']}/comments", {"body": "Photos first"})
    inbox = await person.page("/app/")
    row = row_of(inbox, papers["id"])
    assert '<span class="files icon"><span aria-hidden="true">2</span>' in row
    assert '<span class="visually-hidden">2 files</span>' in row
    assert '<span class="visually-hidden">1 comment</span>' in row
    assert "files icon" not in row_of(inbox, plain["id"])
    # The row's own menus: its days as the task page's Due menu, and what More… holds.
    assert 'data-due-label="When is {title} due?"' in inbox
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert f'data-action="due" data-day="{tomorrow}"><span>Tomorrow</span>' in inbox
    for action in ("no-due", "edit", "pick-due", "open", "delete"):
        assert f'data-action="{action}"' in inbox
    # A row shown again on its own (completed with completed tasks shown) keeps its count.
    back = "/app/?completed=1"
    again = await person.browser.post(
        f"/app/tasks/{papers['id']}/complete",
        data={**form_fields(await person.page(back)), "back": back},
        headers={"HX-Request": "true"},
    )
    assert again.status_code == 200, again.text
    assert '<span class="visually-hidden">2 files</span>' in again.text
    # In German, the count's name too.
    assert '<span class="visually-hidden">2 Dateien</span>' in await person.page(back, "de")


async def test_todays_day_says_today_and_a_repeats_dates_stand_apart(person: Person) -> None:
    today = datetime.now(UTC).date()
    await person.made("/api/tasks", {"title": "Late", "due_date": str(today - timedelta(days=3))})
    task = await person.made("/api/tasks", {"title": "Water", "due_date": str(today)})
    page = await person.page("/app/today")
    headings = re.findall(r"<h([12])[^>]*>([^<]*)</h\1>", page.split('<main id="main"', 1)[1])
    assert headings[0] == ("1", "Today")
    assert ("2", "Overdue") in headings
    assert any(level == "2" and text.startswith("Today · ") for level, text in headings)
    # A rule read from words: its next three dates, each apart from the next.
    form = form_fields(await person.page(f"/app/tasks/{task['id']}"))
    read = await person.browser.post(
        f"/app/tasks/{task['id']}/words",
        data={"csrf_token": form["csrf_token"], "repeat_words": "every 3 months"},
    )
    assert read.status_code == 200, read.text
    dates = re.findall(r"<span>([^<]+)</span>", read.text.split('class="next-dates"', 1)[1])
    assert len(dates) == 3, read.text
    shown = html.unescape(re.sub(r"<[^>]+>", "", read.text.split('class="next-dates">', 1)[1]))
    assert " · ".join(dates) in shown


async def test_values_filter_examples_and_messages_are_the_persons_words(person: Person) -> None:
    task = await person.made("/api/tasks", {"title": "Pay rent"})
    changed = await person.api.patch(
        f"/api/tasks/{task['id']}", json={"priority": "medium"}, headers=person.headers
    )
    assert changed.status_code == 200, changed.text
    page = await person.page(f"/app/tasks/{task['id']}")
    assert "You changed the priority to Medium" in page
    assert "priority to medium" not in page
    german = await person.page(f"/app/tasks/{task['id']}", "de")
    assert "Mittel" in german
    # The filter box's example in the language's own filter words, and its error too.
    inbox = await person.page("/app/", "de")
    assert "Zum Beispiel: (heute | überfällig) & p1" in html.unescape(inbox)
    unread = await person.browser.get(
        "/app/", params={"filter": "p1 & ("}, headers={"Accept-Language": "de"}
    )
    assert unread.status_code == 400
    said = html.unescape(unread.text)
    assert "Der Filter ist an Position 6 nicht lesbar: erwartet wird eine Bedingung (heute" in said
    assert "expected" not in said
    english = await person.browser.get("/app/", params={"filter": "#Work &"})
    assert "Can't read the filter at position 7: expected a condition (today" in html.unescape(
        english.text
    )


async def test_a_tasks_images_and_pdfs_are_previewed(person: Person) -> None:
    task = await person.made("/api/tasks", {"title": "Renew passport"})
    image = await person.attach(task["id"], "photo.png", png(), "image/png")
    pdf = await person.attach(task["id"], "form.pdf", PDF, "application/pdf")
    answer = await person.browser.get(f"/app/tasks/{task['id']}")
    page = answer.text
    assert f'<img src="/app/attachments/{image["id"]}/thumbnail"' in page
    opened = f'<a class="pdf-preview" href="/app/attachments/{pdf["id"]}/content"'
    assert opened in page
    assert "Open the PDF" in page
    # The list beside it counts the task's files as the list does.
    assert '<span class="visually-hidden">2 files</span>' in page
    # The page's policy frames nothing (no <iframe> or <object> is needed), as before.
    policy = answer.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "frame-src" not in policy
    assert "object-src" not in policy
    assert "<iframe" not in page
    assert "<object" not in page
    # The PDF opens in the browser's own viewer, in a sandbox; the thumbnail is at most 400 px.
    content = await person.browser.get(f"/app/attachments/{pdf['id']}/content")
    assert content.status_code == 200
    assert content.headers["content-disposition"].startswith("inline")
    assert content.headers["content-security-policy"].startswith("sandbox")
    thumbnail = await person.browser.get(f"/app/attachments/{image['id']}/thumbnail")
    assert thumbnail.status_code == 200
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) <= 400


async def test_the_service_worker_and_calendars_say_the_apps_name(
    make_app: Callable[..., FastAPI], settings: Settings
) -> None:
    app = make_app(app_name=NAME)
    async with client_for(app) as browser:
        worker = await browser.get("/app/sw.js")
        assert worker.status_code == 200
        assert f'const APP_NAME = "{NAME}";' in worker.text
        assert "String(data.title || APP_NAME)" in worker.text
        assert "todo-api" not in worker.text
    async with dav_user(app, settings, "ada@example.com") as ada:
        for path in ("/dav/", ada.home):
            answer = await propfind(ada.dav, path, "d:displayname")
            assert answer.status_code == 207, answer.text
            names = etree.fromstring(answer.content).xpath("//d:displayname/text()", namespaces=NS)
            assert names == [NAME], (path, names)
    # The default name is the product's, never the package's.
    async with client_for(make_app()) as browser:
        worker = await browser.get("/app/sw.js")
        assert 'const APP_NAME = "Tasks";' in worker.text
