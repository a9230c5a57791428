"""A task's files in a real browser, on both databases: files chosen and uploaded with their
progress shown (the bar and the live region), a file dropped on the Files part, images shown as
the server's thumbnails (at most 400 px), a too-large file refused in plain words, a file
attached to a comment, a file deleted after its confirmation page, and the upload as a plain
form without JavaScript. axe-core checks the part in light and dark; at 390 px nothing scrolls
sideways; screenshots at 390 and 1280 px."""

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server, running_server
from tests.web.browsing import CHROMIUM, made, missing, open_page, register, sign_in
from tests.web.conftest import web_env

MAX_BYTES = 200_000  # the server's ATTACHMENT_MAX_BYTES here: "200 kB"
SHOTS = Path(tempfile.gettempdir()) / "shots-filesweb"


@pytest.fixture(scope="module")
def server(web_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """This module's server, with a small limit for a file."""
    if not Path(CHROMIUM).exists():
        missing("Chromium is not installed at /usr/bin/chromium")
    directory = tmp_path_factory.mktemp("server")
    env = web_env(
        web_database_url,
        ATTACHMENT_MAX_BYTES=str(MAX_BYTES),
        ATTACHMENT_STORAGE=f"file://{directory / 'files'}",
    )
    with running_server(directory, env, directory / "server.log") as server:
        yield server


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def files_of(server: Server, headers: dict[str, str], task_id: str) -> list[dict[str, Any]]:
    listed = httpx.get(f"{server.url}/api/tasks/{task_id}/attachments", headers=headers)
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def shots(page: Page, name: str) -> None:
    """The page at 390 and 1280 px (looked at by hand); at 390 nothing scrolls sideways."""
    SHOTS.mkdir(exist_ok=True)
    for width in (390, 1280):
        await page.set_viewport_size({"width": width, "height": 844})
        await page.screenshot(path=SHOTS / f"files-{name}-{width}.png", full_page=True)
        if width == 390:
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{name} scrolls sideways at 390 px ({wide})"
    await page.set_viewport_size({"width": 1100, "height": 700})


# What the bar and the live region showed during the uploads (the bar's values, the words).
RECORD = """() => {
  window.seen = [];
  const form = document.querySelector('#files');
  new MutationObserver((changes) => {
    for (const change of changes) {
      const bar = document.querySelector('#upload-progress');
      if (bar) window.seen.push(['bar', bar.getAttribute('value'),
                                 !bar.closest('.upload-progress').hidden]);
      const live = document.querySelector('#files [role=status]');
      if (live && live.textContent) window.seen.push(['said', live.textContent]);
    }
  }).observe(document.body, {subtree: true, attributes: true, childList: true,
                              characterData: true});
}"""

DROP = """async () => {
  const moved = new DataTransfer();
  moved.items.add(new File(['dropped on the part\\n'], 'dropped.txt', {type: 'text/plain'}));
  const part = document.querySelector('#files h2');
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    part.dispatchEvent(new DragEvent(kind, {bubbles: true, cancelable: true,
                                            dataTransfer: moved}));
  }
}"""


async def test_files_chosen_dropped_shown_on_a_comment_and_deleted(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Fix the roof"}, headers)["id"]
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/tasks/{task}")
    part = page.get_by_role("region", name="Files")
    await expect(part.get_by_text("No files yet.")).to_be_visible()
    await page.evaluate(RECORD)
    await part.get_by_label("Add files").set_input_files(
        [
            {"name": "roof.png", "mimeType": "image/png", "buffer": png(900, 600)},
            {"name": "quote.txt", "mimeType": "text/plain", "buffer": b"1200 EUR\n"},
        ]
    )  # uploaded as chosen: no `Upload` to press
    await expect(part.get_by_role("button", name="Upload")).to_be_hidden()
    await expect(part.get_by_role("link", name="quote.txt", exact=True)).to_be_visible()
    await expect(part.get_by_role("status")).to_have_text("Uploaded: quote.txt")
    seen = await page.evaluate("window.seen")
    assert ["bar", "100", True] in seen, seen
    assert ["said", "Uploading roof.png"] in seen, seen
    stored = {file["name"]: file for file in files_of(server, headers, task)}
    assert set(stored) == {"roof.png", "quote.txt"}
    assert stored["roof.png"]["content_type"] == "image/png"
    # The image as the server's thumbnail, within 400 px.
    thumb = part.locator(f"img[src='/app/attachments/{stored['roof.png']['id']}/thumbnail']")
    await expect(thumb).to_be_visible()
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await thumb.element_handle()
    )
    natural = await thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [400, 267]
    await expect(part.get_by_text("9 bytes · text/plain")).to_be_visible()
    download = part.get_by_role("link", name="quote.txt", exact=True)
    assert (
        await download.get_attribute("href")
        == f"/app/attachments/{stored['quote.txt']['id']}/content"
    )
    fetched = await page.evaluate(
        "url => fetch(url).then(answer => answer.text())", await download.get_attribute("href")
    )
    assert fetched == "1200 EUR\n"

    await expect(page.get_by_role("region", name="Activity")).to_contain_text(
        "You added the file roof.png to Fix the roof"
    )
    # Dropped on the part.
    await page.evaluate(DROP)
    await expect(part.get_by_role("link", name="dropped.txt", exact=True)).to_be_visible()
    assert "dropped.txt" in {file["name"] for file in files_of(server, headers, task)}

    # Too large: said in plain words, nothing sent.
    await part.get_by_label("Add files").set_input_files(
        [
            {
                "name": "huge.bin",
                "mimeType": "application/octet-stream",
                "buffer": b"\0" * (MAX_BYTES + 1),
            }
        ]
    )
    await expect(part.get_by_role("status")).to_have_text(
        "huge.bin: The file is too large: a file can be at most 200 kB."
    )
    await expect(part.get_by_label("Upload progress")).to_be_hidden()  # no empty bar left
    await watched.accessible_in_both_schemes()
    await shots(page, "part")

    # A comment with a file: uploaded first, then the comment takes it.
    comments = page.get_by_role("region", name="Comments")
    await comments.get_by_role("textbox", name="Comment").fill("The roofer's photo")
    await comments.get_by_label("Attach files").set_input_files(
        [{"name": "photo.png", "mimeType": "image/png", "buffer": png(300, 200)}]
    )
    await comments.get_by_role("button", name="Post comment").click()
    said = page.get_by_role("region", name="Comments").locator(".comments > li")
    await expect(said).to_contain_text("The roofer's photo")
    await expect(said.get_by_role("link", name="photo.png", exact=True)).to_be_visible()
    photo = next(f for f in files_of(server, headers, task) if f["name"] == "photo.png")
    assert photo["comment_id"] is not None
    await watched.accessible_in_both_schemes()
    await shots(page, "comment")

    # Deleted after its confirmation page.
    await (
        page.get_by_role("region", name="Files")
        .get_by_role("link", name="Delete quote.txt")
        .click()
    )
    await expect(page.get_by_role("heading", name="Delete the file “quote.txt”?")).to_be_visible()
    await watched.accessible_in_both_schemes()
    await shots(page, "delete")
    await page.get_by_role("button", name="Delete file").click()
    await expect(page.get_by_role("heading", name="Fix the roof", level=1)).to_be_visible()
    await expect(
        page.get_by_role("region", name="Files").get_by_role("link", name="quote.txt", exact=True)
    ).to_have_count(0)
    assert "quote.txt" not in {file["name"] for file in files_of(server, headers, task)}
    assert watched.problems == []


async def test_without_javascript_files_are_uploaded_by_the_form(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    task = made(server, "/api/tasks", {"title": "Tax return"}, headers)["id"]
    watched = await open_page(browser, server, axe_source, javascript=False)
    page = watched.page
    await sign_in(page, server, email)
    await page.goto(f"{server.url}/app/tasks/{task}")
    part = page.get_by_role("region", name="Files")
    await part.get_by_role("button", name="Upload").click()
    await expect(part.get_by_role("alert")).to_have_text("Choose a file to upload.")
    await part.get_by_label("Add files").set_input_files(
        [{"name": "receipt.png", "mimeType": "image/png", "buffer": png(120, 80)}]
    )
    await part.get_by_role("button", name="Upload").click()
    await expect(part.get_by_role("link", name="receipt.png", exact=True)).to_be_visible()
    # Too large: refused by the body's limit before it is read, and said on the task's page.
    await part.get_by_label("Add files").set_input_files(
        [{"name": "huge.bin", "mimeType": "application/octet-stream", "buffer": b"\0" * 300_000}]
    )
    await part.get_by_role("button", name="Upload").click()
    await expect(part.get_by_role("alert")).to_have_text(
        "The file is too large: a file can be at most 200 kB."
    )
    comments = page.get_by_role("region", name="Comments")
    await comments.get_by_role("textbox", name="Comment").fill("Kept for the year")
    await comments.get_by_label("Attach files").set_input_files(
        [{"name": "form.txt", "mimeType": "text/plain", "buffer": b"form 1040\n"}]
    )
    await comments.get_by_role("button", name="Post comment").click()
    await expect(
        page.locator(".comments > li").get_by_role("link", name="form.txt", exact=True)
    ).to_be_visible()
    stored = {file["name"]: file for file in files_of(server, headers, task)}
    assert stored["receipt.png"]["comment_id"] is None
    assert stored["form.txt"]["comment_id"] is not None
    assert watched.problems == []
