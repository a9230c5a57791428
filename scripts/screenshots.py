"""The web app's screenshots in docs/ (docs/web-app.md shows them), taken again: a server on a
new SQLite file, one account with a week of ordinary tasks made through the API, each scene at
1280 and 390 px wide in light and dark (only those the doc shows), made small by pngquant and
optipng when they are installed (`apt-get install pngquant optipng`), else by Pillow (a palette
of 256 colours). Scenes may be named to take only those.

    .venv/bin/python scripts/screenshots.py [folder [scene ...]]   # default: docs/, all
"""

import asyncio
import io
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from playwright.async_api import Browser, Page, async_playwright, expect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers_server import (  # noqa: E402
    Server,
    clean_env,
    launch_server,
    wait_until_healthy,
)
from tests.support import TEST_SECRET  # noqa: E402
from tests.web.browsing import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ZONE = "Europe/London"
EMAIL, PASSWORD, NAME = "maya@example.com", "correct horse battery staple", "Maya Patel"
HEIGHTS = {1280: 800, 390: 844}
STARTUP_SECONDS = 300
# Each scene and the widths and schemes the doc shows it in.
BOTH = [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")]
WIDE = [(1280, "light")]


def seed(url: str) -> dict[str, str]:
    """Maya's account: three lists, two saved filters, a fortnight of tasks (ids by title)."""
    made = httpx.post(
        f"{url}/api/auth/register", json={"email": EMAIL, "password": PASSWORD, "name": NAME}
    )
    made.raise_for_status()
    headers = {"Authorization": f"Bearer {made.json()['access_token']}"}
    httpx.patch(f"{url}/api/auth/me", json={"timezone": ZONE}, headers=headers).raise_for_status()

    def post(path: str, body: dict[str, Any]) -> str:
        answer = httpx.post(f"{url}{path}", json=body, headers=headers)
        answer.raise_for_status()
        return str(answer.json()["id"])

    lists = {name: post("/api/lists", {"name": name}) for name in ("Work", "Home", "Garden")}
    share(url, headers, lists["Garden"])
    post("/api/filters", {"name": "Urgent", "query": "p1"})
    post("/api/filters", {"name": "Someday", "query": "no date"})
    today = datetime.now(ZoneInfo(ZONE)).date()
    work = lists["Work"]
    sections = {
        name: post(f"/api/lists/{work}/sections", {"name": name})
        for name in ("This week", "Next", "Waiting on others")
    }

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    def at(offset: int, hour: int, minute: int = 0) -> str:
        moment = datetime.combine(today + timedelta(days=offset), datetime.min.time())
        return moment.replace(hour=hour, minute=minute, tzinfo=ZoneInfo(ZONE)).isoformat()

    tasks: list[tuple[str, dict[str, Any]]] = [
        ("Return the library books", {"due_date": day(-1), "tags": ["errands"]}),
        (
            "Call the dentist to move Thursday's appointment",
            {"due_at": at(0, 9, 30), "priority": "high"},
        ),
        ("Buy milk, eggs and coffee", {"due_date": day(0), "tags": ["shop"]}),
        (
            "Book train tickets to Edinburgh",
            {"due_date": day(1), "priority": "medium", "tags": ["travel"]},
        ),
        (
            "Renew the passport",
            {
                "due_date": day(12),
                "priority": "medium",
                "tags": ["errands"],
                "description": "The old one runs out in March. Photos at the "
                "post office; the form is online.",
            },
        ),
        ("Reply to Sam about the weekend", {}),
        ("Tidy the shared drive", {"list_id": work}),
        (
            "Send the quarterly report to Priya",
            {
                "list_id": work,
                "section_id": sections["This week"],
                "due_at": at(0, 16),
                "priority": "high",
            },
        ),
        (
            "Review the onboarding checklist",
            {"list_id": work, "section_id": sections["This week"], "due_date": day(2)},
        ),
        (
            "Prepare slides for Monday's planning",
            {
                "list_id": work,
                "section_id": sections["Next"],
                "due_date": day(3),
                "priority": "medium",
            },
        ),
        (
            "Update the team calendar",
            {"list_id": work, "section_id": sections["Next"], "due_date": day(5)},
        ),
        (
            "Budget sign-off from finance",
            {"list_id": work, "section_id": sections["Waiting on others"], "tags": ["calls"]},
        ),
        (
            "Pay the electricity bill",
            {"list_id": lists["Home"], "due_date": day(4), "priority": "high", "tags": ["money"]},
        ),
        ("Fix the dripping kitchen tap", {"list_id": lists["Home"], "due_date": day(6)}),
        ("Plant the tulip bulbs", {"list_id": lists["Garden"], "due_date": day(2)}),
        ("Order compost", {"list_id": lists["Garden"], "priority": "low"}),
    ]
    ids = {title: post("/api/tasks", {"title": title, **fields}) for title, fields in tasks}
    for title in ("Get new photos taken", "Fill in the online form"):
        post("/api/tasks", {"title": title, "parent_id": ids["Renew the passport"]})
    for name, content, kind in (
        ("passport-photo.png", _photo(), "image/png"),
        (
            "application-notes.txt",
            b"Old passport number, two photos, the countersignature.\n",
            "text/plain",
        ),
    ):
        httpx.post(
            f"{url}/api/tasks/{ids['Renew the passport']}/attachments",
            files={"file": (name, content, kind)},
            headers=headers,
        ).raise_for_status()
    httpx.post(
        f"{url}/api/tasks/{ids['Renew the passport']}/attachments",
        files={"file": ("application-form.pdf", PDF, "application/pdf")},
        headers=headers,
    ).raise_for_status()
    for said in ("Photos first, then the form.", "The post office checks it for £18."):
        post(f"/api/tasks/{ids['Renew the passport']}/comments", {"body": said})
    return ids


# A one-page PDF (the form's stand-in).
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]"
    b"/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _photo() -> bytes:
    """A passport photo's stand-in: a face-coloured oval on a pale background (Pillow)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (700, 900), (226, 232, 240))
    ImageDraw.Draw(image).ellipse((170, 150, 530, 650), fill=(214, 170, 140))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


Scene = Callable[[Page, str], Awaitable[None]]


def share(url: str, headers: dict[str, str], garden: str) -> None:
    """Garden shared with Sam (an editor, through a link), and a viewer's link still valid."""
    made = httpx.post(
        f"{url}/api/auth/register",
        json={"email": "sam@example.com", "password": PASSWORD, "name": "Sam Okafor"},
    )
    made.raise_for_status()
    sam = {"Authorization": f"Bearer {made.json()['access_token']}"}
    links = f"{url}/api/lists/{garden}/invitations"
    for role in ("editor", "viewer"):
        link = httpx.post(links, json={"role": role}, headers=headers)
        link.raise_for_status()
        if role == "editor":
            accepted = httpx.post(
                f"{url}/api/invitations/accept", json={"token": link.json()["token"]}, headers=sam
            )
            accepted.raise_for_status()


async def signin(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/signin")


async def inbox(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/")


async def quick_add(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/")
    box = page.get_by_role("textbox", name="Add a task")
    await box.press_sequentially("Water the tomatoes every evening #Garden @outside p2", delay=5)
    await expect(page.locator("#quick-preview mark")).to_have_count(4)


async def upcoming(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/upcoming")


async def task(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/")
    await page.get_by_role("link", name="Renew the passport", exact=True).click()
    await expect(page.get_by_role("heading", name="Renew the passport", level=1)).to_be_visible()


async def due_menu(page: Page, url: str) -> None:
    await task(page, url)
    await page.get_by_role("button", name="Due", exact=True).click()
    await expect(page.get_by_role("dialog", name="Choose a due date")).to_be_visible()


async def view_menu(page: Page) -> None:
    """A list's `View` menu, opened."""
    await page.locator("details.view-menu > summary").click()


async def selection(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/")
    await view_menu(page)
    await page.get_by_role("button", name="Select", exact=True).click()
    for title in ("Return the library books", "Buy milk, eggs and coffee"):
        await page.get_by_role("checkbox", name=f"Select {title}").check()
    await expect(page.get_by_role("toolbar", name="Selected tasks")).to_be_visible()


async def files(page: Page, url: str) -> None:
    await task(page, url)
    part = page.get_by_role("region", name="Files")
    await expect(part.locator("img")).to_have_count(1)
    await part.scroll_into_view_if_needed()  # (the thumbnail loads lazily, once in view)
    shown = "img => img.complete && img.naturalWidth > 0"
    await page.wait_for_function(shown, arg=await part.locator("img").element_handle())


async def drawer(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/today")
    await page.get_by_role("button", name="Menu").click()
    await expect(page.get_by_role("navigation", name="Lists")).to_be_visible()


async def profile(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/settings/profile")


async def security(page: Page, url: str) -> None:
    await page.goto(f"{url}/app/settings/security")


async def sharing(page: Page, url: str) -> None:
    garden = page.locator('a[href^="/app/lists/"]', has_text="Garden").first
    await page.goto(f"{url}{await garden.get_attribute('href')}/sharing")


async def work_list(page: Page, url: str) -> None:
    """The Work list's page (its link is in the drawer on a phone: followed by its address)."""
    await page.goto(f"{url}/app/")
    link = page.locator("#lists nav a", has_text="Work").first
    await page.goto(f"{url}{await link.get_attribute('href')}")


async def sections(page: Page, url: str) -> None:
    await work_list(page, url)
    await view_menu(page)
    await page.get_by_role("button", name="List", exact=True).click()  # kept: the list view
    await expect(page.get_by_role("heading", name="Waiting on others")).to_be_visible()


async def board(page: Page, url: str) -> None:
    await work_list(page, url)
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()  # kept: the board
    await expect(page.get_by_role("region", name="Board")).to_be_visible()


async def rows(page: Page, url: str) -> None:
    """The inbox, a row's actions shown (beside a mouse: the pointer on it)."""
    await page.goto(f"{url}/app/")
    shown = page.locator("li.task").filter(
        has=page.get_by_role("link", name="Renew the passport", exact=True)
    )
    await expect(shown.locator(":scope > .row-more")).to_have_count(1)  # (rows.js has run)
    if page.viewport_size and page.viewport_size["width"] > 500:
        await shown.hover()
        await expect(shown.locator(":scope > .row-more")).to_have_css("opacity", "1")


async def the_task(page: Page, url: str) -> None:
    """A task's page: beside its list on a wide screen, its own on a phone."""
    if page.viewport_size and page.viewport_size["width"] > 500:
        return await task(page, url)
    await page.goto(f"{url}/app/")
    link = page.get_by_role("link", name="Renew the passport", exact=True)
    await page.goto(f"{url}{await link.get_attribute('href')}")


async def calendar(page: Page, url: str) -> None:
    """Upcoming as a calendar (kept for it: the last scene)."""
    await page.goto(f"{url}/app/upcoming")
    if not await page.get_by_role("grid").count():  # (chosen in an earlier shot: kept)
        await view_menu(page)
        await page.get_by_role("button", name="Calendar", exact=True).click()
    await expect(page.get_by_role("grid")).to_be_visible()


async def rows_view(page: Page, url: str) -> None:
    """The inbox with its `View` menu open."""
    await page.goto(f"{url}/app/")
    await view_menu(page)
    await expect(page.get_by_role("textbox", name="Filter")).to_be_visible()


# A scene's height where it is not the screen's: the sign-in page is short, Upcoming's days long.
TALL = {
    ("signin", 1280): 520,
    ("upcoming", 390): 1500,
    ("upcoming", 1280): 1100,
    ("selection", 390): 1000,
    # Security's groups (password, email, two-factor, passkeys, sign-ins) whole.
    ("security", 1280): 1800,
    ("security", 390): 2300,
    ("security-de", 1280): 1800,
    ("sections", 1280): 1000,
    ("board", 390): 1100,
}
SCENES: list[tuple[str, Scene, list[tuple[int, str]]]] = [
    ("signin", signin, WIDE),
    # First: each scene signs in anew, and Security lists the sign-ins.
    ("security", security, BOTH),
    ("security-de", security, WIDE),
    ("profile", profile, BOTH),
    ("profile-de", profile, WIDE),
    ("sharing", sharing, BOTH),
    ("sharing-de", sharing, WIDE),
    ("inbox", rows, [(1280, "light"), (1280, "dark"), (390, "light")]),
    ("quick-add", quick_add, WIDE),
    ("upcoming", upcoming, [(1280, "light"), (390, "light"), (390, "dark")]),
    ("task", the_task, [(1280, "light"), (390, "light"), (390, "dark")]),
    ("due-menu", due_menu, [(1280, "light"), (1280, "dark"), (390, "light")]),
    ("selection", selection, [(1280, "light"), (390, "dark")]),
    ("drawer", drawer, [(390, "light"), (390, "dark")]),
    ("sections", sections, WIDE),
    ("board", board, [(1280, "light"), (390, "light"), (390, "dark")]),
    ("files", files, [(1280, "light"), (390, "dark")]),
    ("rows-inbox", inbox, BOTH),
    ("rows-view", rows_view, [(1280, "light"), (390, "dark")]),
    ("calendar", calendar, [(1280, "light"), (1280, "dark"), (390, "light")]),  # (kept: last)
]
# Scenes written under docs/images/ by their own names, rather than as web-app-*.png there.
IMAGES = {"rows-inbox", "rows-view", "inbox", "task", "board", "calendar"}
# A scene shown from its part rather than from the page's top.
FROM = {"files": "#files"}


async def take(browser: Browser, url: str, folder: Path, only: list[str]) -> list[Path]:
    written = []
    for name, scene, shown in SCENES:
        if only and name not in only:
            continue
        for width, scheme in shown:
            context = await browser.new_context(
                viewport={"width": width, "height": HEIGHTS[width]},
                color_scheme=scheme,  # type: ignore[arg-type]
                locale="de-DE" if name.endswith("-de") else "en-GB",  # (no language set)
                timezone_id=ZONE,
                device_scale_factor=1,
                # A phone's screen is touched: no hover (a row's More… shown, as on a phone).
                has_touch=width < 500,
                is_mobile=width < 500,
            )
            try:
                page = await context.new_page()
                if name != "signin":
                    await page.goto(f"{url}/app/signin")
                    await page.locator('input[name="email"]').fill(EMAIL)
                    await page.locator('input[name="password"]').fill(PASSWORD)
                    await page.locator('form[action="/app/signin"] button[type="submit"]').click()
                    await page.wait_for_url(f"{url}/app/")
                await scene(page, url)
                (folder / "images").mkdir(exist_ok=True)
                stem = name if name in IMAGES else f"web-app-{name}"
                path = folder / "images" / f"{stem}-{width}-{scheme}.png"
                height = TALL.get((name, width), HEIGHTS[width])
                whole = await page.evaluate("document.documentElement.scrollHeight")
                height = max(HEIGHTS[width], min(height, whole))  # (no more than the page)
                top = 0.0
                if name in FROM:
                    box = await page.locator(FROM[name]).bounding_box()
                    top = max(0.0, (box["y"] if box else 0.0) - 16)
                    top += await page.evaluate("window.scrollY")
                clip = {"x": 0, "y": top, "width": width, "height": height}
                # (a whole page's capture drops a phone's emulation, and with it `hover: none`:
                # only when more than the screen is shown)
                whole_page = top > 0 or height > HEIGHTS[width]
                await page.screenshot(
                    path=path, clip=clip, full_page=whole_page, animations="disabled", caret="hide"
                )
                written.append(path)
            finally:
                await context.close()
    return written


def smaller(paths: list[Path]) -> None:
    """Each PNG in at most 256 colours (pngquant if installed, else Pillow), then recompressed
    (optipng, if installed)."""
    names = [str(path) for path in paths]
    if pngquant := shutil.which("pngquant"):
        for name in names:  # exit 99: not good enough at that quality, kept as it is
            quality = ["--quality", "70-95", "--speed", "1"]
            command = [pngquant, "--force", "--skip-if-larger", "--strip", *quality]
            subprocess.run([*command, "--output", name, name], check=False)  # noqa: S603
    else:
        for path in paths:  # Pillow's palette of 256 colours, then its best compression
            with Image.open(path) as shot:
                palette = shot.convert("RGB").quantize(
                    256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
                )
                palette.save(path, optimize=True)
    if optipng := shutil.which("optipng"):
        subprocess.run([optipng, "-quiet", "-o2", *names], check=True)  # noqa: S603


async def main(folder: Path, only: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        env = clean_env(
            JWT_SECRET=TEST_SECRET,
            DATABASE_URL=f"sqlite:///{directory}/todo.db",
            AUTH_RATE_LIMIT_ATTEMPTS="100000",
        )
        log = Path(directory) / "server.log"
        server = launch_server(Path(directory), env, log)
        try:
            wait_until_healthy(server, STARTUP_SECONDS)  # (a busy machine starts it slowly)
            await shoot(server, folder, only)
        finally:
            server.stop()


async def shoot(server: Server, folder: Path, only: list[str]) -> None:
    seed(server.url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            written = await take(browser, server.url, folder, only)
        finally:
            await browser.close()
    smaller(written)
    total = sum(path.stat().st_size for path in written)
    print(f"{len(written)} screenshots in {folder}, {total // 1024} KB")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs", sys.argv[2:]))
