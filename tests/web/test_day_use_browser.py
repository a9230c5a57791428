"""Small things from a day's use, in a real browser on both databases: a row's `Due` and `More…`
shown on hover and focus beside `Edit` (a day picked from the menu, a task deleted, each undone
with `Undo`; on a phone `More…` alone, reaching the others); the `?` dialog fits 1280x800 in two
columns; `Esc` leaves the search box and quick add; a phone's Due menu keeps its box and what it
reads back in view with the keyboard open; a task's image and PDF previewed; an upload refused by
the quota leaves no empty progress bar; a card's `Move to…` only without JavaScript. axe-core in
light and dark on each."""

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Locator, Page, expect

from tests.helpers_server import Server, running_server
from tests.web.browsing import CHROMIUM, made, missing, open_page, register, sign_in, view_menu
from tests.web.conftest import web_env
from tests.web.test_day_use_pages import PDF

QUOTA = 4000  # the server's ATTACHMENT_QUOTA_BYTES here: a file of 5000 bytes is refused


@pytest.fixture(scope="module")
def server(web_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's server, with a small quota for files."""
    if not Path(CHROMIUM).exists():
        missing("Chromium is not installed at /usr/bin/chromium")
    directory = tmp_path_factory.mktemp("server")
    env = web_env(
        web_database_url,
        ATTACHMENT_QUOTA_BYTES=str(QUOTA),
        ATTACHMENT_STORAGE=f"file://{directory / 'files'}",
    )
    with running_server(directory, env, directory / "server.log") as server:
        yield server


def task_of(server: Server, headers: dict[str, str], task_id: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/tasks/{task_id}", headers=headers)


def row(page: Page, title: str) -> Locator:
    return page.locator("li.task").filter(has=page.get_by_role("link", name=title, exact=True))


async def test_a_rows_due_and_more_on_hover_focus_and_a_phone(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    milk = made(server, "/api/tasks", {"title": "Buy milk"}, headers)
    made(server, "/api/tasks", {"title": "Pay rent"}, headers)
    mum = made(server, "/api/tasks", {"title": "Call mum"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, server, email)

    # Shown on hover and focus only, beside Edit.
    due = page.get_by_role("button", name="When is Buy milk due?", exact=True)
    more = page.get_by_role("button", name="More actions for Buy milk", exact=True)
    await page.mouse.move(1270, 790)
    await expect(due).to_have_css("opacity", "0")
    await expect(more).to_have_css("opacity", "0")
    await row(page, "Buy milk").hover()
    await expect(due).to_have_css("opacity", "1")
    await expect(more).to_have_css("opacity", "1")
    await page.mouse.move(1270, 790)
    await due.focus()
    await expect(due).to_have_css("opacity", "1")
    await expect(row(page, "Buy milk")).not_to_contain_text("Due date")

    # Due: a menu of days, from the keyboard; the day set, said, the focus back; Undo.
    await due.press("Enter")
    menu = page.get_by_role("menu", name="When is Buy milk due?")
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("menuitem").first).to_be_focused()
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("ArrowDown")
    await expect(menu.get_by_role("menuitem", name="Tomorrow")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Changed the due date")).to_have_text(
        "Changed the due date of Buy milk"
    )
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert task_of(server, headers, milk["id"]).json()["due_date"] == tomorrow
    await expect(page.get_by_role("button", name="Undo")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(row(page, "Buy milk").locator(".due")).to_have_count(0)
    assert task_of(server, headers, milk["id"]).json()["due_date"] is None

    # More…: Esc closes it, the focus back on it; Delete deletes, Undo restores.
    more = page.get_by_role("button", name="More actions for Call mum", exact=True)
    await more.focus()
    await more.press("Enter")
    menu = page.get_by_role("menu", name="More actions for Call mum")
    await expect(menu.get_by_role("menuitem")).to_have_text(
        ["Edit title", "Due date…", "Open", "Delete"]
    )
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await more.click()
    await menu.get_by_role("menuitem", name="Delete").click()
    await expect(page.get_by_role("link", name="Call mum", exact=True)).to_have_count(0)
    assert task_of(server, headers, mum["id"]).status_code == 404
    await expect(page.get_by_role("button", name="Undo")).to_be_focused()
    await page.get_by_role("button", name="Undo").click()
    await expect(page.get_by_role("link", name="Call mum", exact=True)).to_be_visible()

    # On a phone: More… alone on the row, its menu reaching Edit and Due.
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(page.get_by_role("button", name="When is Pay rent due?")).to_be_hidden()
    await expect(page.get_by_role("button", name="Edit the title of Pay rent")).to_be_hidden()
    more = page.get_by_role("button", name="More actions for Pay rent", exact=True)
    await more.click()
    await page.get_by_role("menuitem", name="Due date…").click()
    menu = page.get_by_role("menu", name="When is Pay rent due?")
    await expect(menu.get_by_role("menuitem", name="No date")).to_be_visible()
    box = await menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0, box
    assert box["x"] + box["width"] <= 390, box
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await more.click()
    await page.get_by_role("menuitem", name="Edit title").click()
    await expect(page.get_by_role("textbox", name="Edit title")).to_be_focused()
    # Saved, the focus comes back to the row's More… (its Edit is hidden on a phone).
    await page.keyboard.type("Pay the rent")  # (the title comes selected)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("textbox", name="Edit title")).to_have_count(0)
    renamed = page.get_by_role("button", name="More actions for Pay the rent", exact=True)
    await expect(renamed).to_be_focused()
    assert watched.problems == []


async def test_the_shortcuts_fit_and_esc_leaves_search_and_quick_add(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    made(server, "/api/tasks", {"title": "Buy milk"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, server, email)

    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    box = await dialog.bounding_box()
    assert box is not None, box
    assert box["y"] >= 0, box
    assert box["y"] + box["height"] <= 800, box
    assert await dialog.evaluate("d => d.scrollHeight <= d.clientHeight")  # nothing to scroll
    columns = await dialog.locator("dt").evaluate_all(
        "terms => [...new Set(terms.map(term => Math.round(term.getBoundingClientRect().left)))]"
    )
    assert len(columns) == 2, columns
    await expect(dialog.get_by_text("Leave the search box or quick add")).to_be_visible()
    await watched.accessible_in_both_schemes()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # Esc leaves the search box (what it holds stays, and so does the list it narrowed).
    await page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search")
    await expect(search).to_be_focused()
    await search.fill("milk")
    await expect(page).to_have_url(f"{server.url}/app/?q=milk")
    await page.keyboard.press("Escape")
    await expect(search).not_to_be_focused()
    await expect(search).to_have_value("milk")
    await expect(page.get_by_role("link", name="Buy milk", exact=True)).to_be_visible()
    # And quick add.
    await page.keyboard.press("q")
    quick = page.get_by_role("textbox", name="Add a task")
    await expect(quick).to_be_focused()
    await quick.fill("Call the bank")
    await page.keyboard.press("Escape")
    await expect(quick).not_to_be_focused()
    await expect(quick).to_have_value("Call the bank")
    assert watched.problems == []


async def test_a_phones_due_menu_keeps_its_box_and_reading_in_view(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Water the plants"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    await page.get_by_role("button", name="Due", exact=True).click()
    # The keyboard opens: half the screen is left.
    await page.set_viewport_size({"width": 390, "height": 380})
    words = page.get_by_role("textbox", name="Date in words")
    await words.fill("next friday 5pm")
    read = page.locator("#due-words-read")
    await expect(read).not_to_be_empty()
    height = await page.evaluate("window.innerHeight")
    for shown in (words, read):
        box = await shown.bounding_box()
        assert box is not None, shown
        assert box["y"] >= 0, (box, height)
        assert box["y"] + box["height"] <= height, (box, height)
    await watched.accessible()
    assert watched.problems == []


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 300), (30, 120, 200)).save(out, "PNG", compress_level=9)
    return out.getvalue()


async def test_previews_and_a_refused_upload_and_move_to_without_javascript(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Renew passport"}, headers)
    for name, data, kind in (
        ("photo.png", png(), "image/png"),
        ("form.pdf", PDF, "application/pdf"),
    ):
        sent = httpx.post(  # noqa: ASYNC210 - before the page, as `made` does
            f"{server.url}/api/tasks/{task['id']}/attachments",
            files={"file": (name, data, kind)},
            headers=headers,
        )
        assert sent.status_code == 201, sent.text
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/tasks/{task['id']}")
    part = page.get_by_role("region", name="Files")
    preview = part.locator("img")
    await expect(preview).to_be_visible()
    await preview.evaluate("img => img.decode()")  # (loaded lazily)
    natural, shown = await preview.evaluate("img => [img.naturalWidth, img.width]")
    assert natural == 400  # the thumbnail's, at most 400 px
    assert shown > 300, shown  # a preview, not the 128 px thumbnail of a comment's file
    pdf = part.get_by_role("link", name="Open the PDF form.pdf")
    await expect(pdf).to_be_visible()
    assert await pdf.get_attribute("target") == "_blank"
    await watched.accessible_in_both_schemes()

    # Beyond the quota: said in plain words, no empty bar left.
    await part.get_by_label("Add files").set_input_files(
        [{"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * (QUOTA + 1000)}]
    )
    await expect(part.get_by_role("status")).to_contain_text("big.txt:")
    await expect(part.get_by_label("Upload progress")).to_be_hidden()
    await expect(part.locator("progress")).to_be_hidden()

    # A board's card moves by dragging or the keyboard: its `Move to…` is for without scripts.
    work = made(server, "/api/lists", {"name": "Work"}, headers)
    made(server, f"/api/lists/{work['id']}/sections", {"name": "Doing"}, headers)
    made(server, "/api/tasks", {"title": "Write", "list_id": work["id"]}, headers)
    await page.goto(f"{server.url}/app/lists/{work['id']}")
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    await expect(page.get_by_role("region", name="Board")).to_be_visible()
    await expect(page.locator(".move-to")).to_have_count(1)
    await expect(page.locator(".move-to")).to_be_hidden()
    await expect(page.locator(".move-to summary", has_text="Move to…")).to_be_hidden()
    # (the refusal is the upload's answer: 413, as the browser's console says)
    assert [problem for problem in watched.problems if "status of 413" not in problem] == []
