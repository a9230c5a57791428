"""The web app on a phone, on both databases: at 360x740 and 390x844 in every language (and at
320 in German, the longest) no page scrolls sideways and no control is cut off; the lists hide
behind `Menu` (a drawer that keeps the focus in it, and that Esc, a tap outside and choosing a
list close; without JavaScript a link to the menu's page) and the tasks come first; a task is
a screen of its own with `Back`; the controls people tap are at least 24 px (checkboxes and the
add button 44). The theme chosen in
Settings → Profile is kept and applied on every page, whatever the system's, and passes
axe-core in light and dark. SHOTS=<folder>: screenshots at 390 and 1280 px in light and dark."""

import os
from typing import Any, NamedTuple

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.accounts.helpers import PASSWORD
from tests.helpers_server import Server
from tests.web.browsing import Watched, made, open_page, register, sign_in
from todo_api.words.lexicon import LANGUAGES

PHONES = [(360, 740), (390, 844)]
LONG_LIST = "Haushaltsangelegenheiten und Gartenpflege"
LONG_TITLE = "Steuererklärungsunterlagenzusammenstellung für das Finanzamt vorbereiten"

# The page's width and how wide it scrolls; the shown controls that reach past the screen's
# edge (an element wholly left of it, as the skip link waiting for the focus, is not shown);
# those smaller than 24x24 CSS px (links in a sentence aside, as WCAG 2.5.8 allows).
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const cut = [], small = [];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  for (const element of document.querySelectorAll(controls)) {
    if (!element.checkVisibility({visibilityProperty: true})) continue;
    const box = element.getBoundingClientRect();
    if (box.right <= 0 || box.width <= 1) continue;
    const named = element.outerHTML.slice(0, 90);
    if (box.left < 0 || box.right > width + 0.5) cut.push(named);
    const inline = getComputedStyle(element).display === "inline";
    if (!inline && (box.width < 24 || box.height < 24)) small.push(named);
  }
  return {width, scrolls: document.documentElement.scrollWidth, cut, small};
}"""


async def fits(page: Page, where: str) -> None:
    """The page does not scroll sideways and every control is whole and big enough."""
    found: dict[str, Any] = await page.evaluate(LAYOUT)
    assert found["scrolls"] <= found["width"], f"{where}: {found}"
    assert found["cut"] == [], where
    assert found["small"] == [], where


async def shot(page: Page, name: str) -> None:
    """A screenshot into $SHOTS (to look at), at 390 and 1280 px in light and dark."""
    folder = os.environ.get("SHOTS")
    if not folder:
        return
    size = page.viewport_size
    for width, scheme in ((390, "light"), (390, "dark"), (1280, "light"), (1280, "dark")):
        await page.set_viewport_size({"width": width, "height": 844})
        await page.emulate_media(color_scheme=scheme)  # type: ignore[arg-type]
        await page.screenshot(path=f"{folder}/phone-{name}-{width}-{scheme}.png", full_page=True)
    await page.emulate_media(color_scheme="light")
    if size:
        await page.set_viewport_size(size)


def me(server: Server, headers: dict[str, str]) -> Any:
    return httpx.get(f"{server.url}/api/auth/me", headers=headers).json()


def patch_me(server: Server, headers: dict[str, str], **changes: Any) -> None:
    changed = httpx.patch(f"{server.url}/api/auth/me", json=changes, headers=headers)
    assert changed.status_code == 200, changed.text


class Ada(NamedTuple):
    """Ada, signed in: her page, the task with the long title, her long-named list, her
    bearer headers."""

    watched: Watched
    task: str
    home: str
    headers: dict[str, str]


async def ada(browser: Browser, server: Server, axe: str, **options: Any) -> Ada:
    """Ada, signed in, with a long-named list and long-titled tasks."""
    email, headers = register(server)
    patch_me(server, headers, name="Ada Lovelace-Byron")
    home = made(server, "/api/lists", {"name": LONG_LIST}, headers)["id"]
    fields = {"due_date": "2030-01-01", "priority": "high", "tags": ["Steuererklärung"]}
    task = made(server, "/api/tasks", {"title": LONG_TITLE, **fields}, headers)["id"]
    made(server, "/api/tasks", {"title": "Hecke schneiden", "list_id": home}, headers)
    watched = await open_page(browser, server, axe, **options)
    await sign_in(watched.page, server, email)
    return Ada(watched, task, home, headers)


@pytest.mark.parametrize(("width", "height"), PHONES)
async def test_no_page_scrolls_sideways_on_a_phone(
    server: Server, browser: Browser, axe_source: str, width: int, height: int
) -> None:
    watched, task, home, headers = await ada(browser, server, axe_source)
    page = watched.page
    try:
        await page.set_viewport_size({"width": width, "height": height})
        for language in LANGUAGES:
            patch_me(server, headers, language=language)
            await page.goto(f"{server.url}/app/")
            await fits(page, f"the inbox in {language} at {width}")
        # German, the longest words, on the other pages, down to 320 px.
        patch_me(server, headers, language="de")
        for narrow in (width, 320):
            await page.set_viewport_size({"width": narrow, "height": height})
            pages = [f"/app/lists/{home}", f"/app/tasks/{task}", "/app/settings/profile"]
            for path in [*pages, "/app/settings/security"]:
                await page.goto(f"{server.url}{path}")
                await fits(page, f"{path} in German at {narrow}")
            await page.get_by_role("button", name="Menü").click()
            await fits(page, f"the open menu in German at {narrow}")
        assert watched.problems == []
    finally:
        await page.context.close()


async def test_the_menu_the_back_link_and_the_targets_on_a_phone(
    server: Server, browser: Browser, axe_source: str
) -> None:
    watched, task, _, _ = await ada(browser, server, axe_source)
    page = watched.page
    try:
        await page.set_viewport_size({"width": 390, "height": 844})
        lists = page.get_by_role("navigation", name="Lists")
        menu = page.get_by_role("button", name="Menu", exact=True)
        await expect(lists).to_be_hidden()
        await expect(menu).to_have_attribute("aria-expanded", "false")
        await expect(menu).to_have_attribute("aria-controls", "lists")
        await shot(page, "inbox")

        # The tasks come first; the checkboxes and the add button are 44 px.
        for target in (
            page.get_by_role("checkbox", name=f"Complete {LONG_TITLE}"),
            page.get_by_role("button", name="Add", exact=True),
            menu,
        ):
            box = await target.bounding_box()
            assert box is not None
            assert min(box["width"], box["height"]) >= 44, box
        await fits(page, "the inbox")

        # Menu opens the drawer; Esc closes it, the focus back on Menu.
        await menu.click()
        await expect(lists).to_be_visible()
        await expect(menu).to_have_attribute("aria-expanded", "true")
        await watched.accessible()
        await shot(page, "menu")
        await page.keyboard.press("Escape")
        await expect(lists).to_be_hidden()
        await expect(menu).to_be_focused()
        await expect(menu).to_have_attribute("aria-expanded", "false")
        # While it is open the focus stays in it: Tab from its last control goes round to its
        # first, Shift+Tab from its first to its last; Esc gives it back to Menu.
        await menu.click()
        first = lists.get_by_role("link", name="Inbox")
        last = lists.get_by_role("button", name="Add list")
        await expect(first).to_be_focused()
        await page.keyboard.press("Shift+Tab")
        await expect(last).to_be_focused()
        await page.keyboard.press("Tab")
        await expect(first).to_be_focused()
        for _ in range(await lists.locator("a[href], input, button").count()):
            await page.keyboard.press("Tab")
            assert await lists.evaluate("nav => nav.contains(document.activeElement)")
        await page.keyboard.press("Escape")
        await expect(menu).to_be_focused()
        # A tap outside it closes it.
        await menu.click()
        await expect(lists).to_be_visible()
        await page.mouse.click(380, 600)
        await expect(lists).to_be_hidden()
        # Choosing a list closes it and shows the list.
        await menu.click()
        await lists.get_by_role("link", name=LONG_LIST).click()
        await expect(page.get_by_role("heading", name=LONG_LIST, level=1)).to_be_visible()
        await expect(lists).to_be_hidden()

        # The account's menu: the name, then Settings and Sign out in it.
        account = page.locator("summary", has_text="Ada Lovelace-Byron")
        await expect(account).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
        await account.click()
        await shot(page, "account")
        await expect(page.get_by_role("link", name="Settings")).to_be_visible()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("button", name="Sign out")).to_be_hidden()

        # A task is a screen of its own, with Back to the list it was opened from.
        await page.get_by_role("link", name="Hecke schneiden").click()
        await expect(page.get_by_label("Title", exact=True)).to_have_value("Hecke schneiden")
        await expect(page.get_by_role("region", name=LONG_LIST)).to_be_hidden()
        await fits(page, "a task")
        await watched.accessible()
        await shot(page, "task")
        await page.get_by_role("link", name="Back", exact=True).click()
        await expect(page.get_by_role("heading", name=LONG_LIST, level=1)).to_be_visible()

        # On a wide screen the lists are beside the tasks, and Menu and Back are not shown.
        await page.set_viewport_size({"width": 1280, "height": 800})
        await expect(lists).to_be_visible()
        await expect(menu).to_be_hidden()
        await page.goto(f"{server.url}/app/tasks/{task}")
        await expect(page.get_by_role("link", name="Back", exact=True)).to_be_hidden()
        assert watched.problems == []
    finally:
        await page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_on_a_phone_the_tasks_come_before_the_search_and_filter(
    server: Server, browser: Browser, axe_source: str, javascript: bool
) -> None:
    """At 390x844 in German the search is in the header and the filter behind `Ansicht`
    (open when it holds something), so the first tasks are on the first screen; from 768 px
    the same."""
    email, headers = register(server)
    patch_me(server, headers, language="de")
    for number in range(6):
        made(server, "/api/tasks", {"title": f"{LONG_TITLE} {number}"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    try:
        await page.set_viewport_size({"width": 390, "height": 844})
        await sign_in_de(page, server, email)
        search = page.get_by_role("banner").get_by_role("searchbox", name="Suche")
        tools = page.locator("summary", has_text="Ansicht")
        await expect(search).to_be_visible()
        await expect(page.get_by_role("textbox", name="Filter")).to_be_hidden()
        first = page.locator("#tasks > li.task").first
        second = page.locator("#tasks > li.task").nth(1)
        for row in (first, second):
            box = await row.bounding_box()
            assert box is not None
            assert box["y"] + box["height"] <= 844, box
        await fits(page, "the inbox, folded")
        await search.fill("3")
        await search.press("Enter")
        await expect(page.locator("#tasks > li.task")).to_have_count(1)
        await expect(search).to_have_value("3")
        await tools.click()
        await expect(page.get_by_role("textbox", name="Filter")).to_be_visible()
        await fits(page, "the View menu")
        if javascript:
            await watched.accessible()
        await page.set_viewport_size({"width": 1280, "height": 800})
        await page.goto(f"{server.url}/app/")
        await expect(search).to_be_visible()
        await expect(tools).to_be_visible()
        if javascript:
            await search.focus()
            await expect(search).to_be_focused()
            await watched.accessible_in_both_schemes()
        assert watched.problems == []
    finally:
        await page.context.close()


async def sign_in_de(page: Page, server: Server, email: str) -> None:
    """Through the sign-in page (in English, the browser's), to the inbox (in German)."""
    await page.goto(f"{server.url}/app/signin")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("heading", name="Eingang", level=1)).to_be_visible()


# The layout shifts of the page as it loads (PerformanceObserver's `layout-shift`, as Lighthouse
# counts them), each with the elements it moved.
SHIFTS = """
  window.shifts = [];
  new PerformanceObserver((found) => {
    for (const shift of found.getEntries()) {
      const moved = shift.sources.map((source) => source.node?.outerHTML?.slice(0, 80));
      window.shifts.push({value: shift.value, moved});
    }
  }).observe({type: "layout-shift", buffered: true});
"""


async def test_nothing_moves_as_the_inbox_s_scripts_run_on_a_phone(
    server: Server, browser: Browser
) -> None:
    """On a slow phone the scripts run after the first paint: what they change (the lists
    into the drawer, the `Select` button in place of its link) moves nothing on the screen
    (Lighthouse's layout shift, a part of its performance score: 0.14 to 0.36 before)."""
    email, headers = register(server)
    for number in range(20):
        made(server, "/api/tasks", {"title": f"Task number {number}"}, headers)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await page.add_init_script(SHIFTS)
        await page.goto(f"{server.url}/app/signin")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in", exact=True).click()
        await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        devtools = await context.new_cdp_session(page)
        await devtools.send("Emulation.setCPUThrottlingRate", {"rate": 8})  # a slow phone
        await page.reload()
        await expect(page.locator("[data-select-toggle]")).not_to_have_attribute("hidden", "")
        await page.wait_for_load_state()
        shifts: list[dict[str, Any]] = await page.evaluate("window.shifts")
        assert sum(shift["value"] for shift in shifts) < 0.01, shifts
    finally:
        await context.close()


async def test_without_javascript_menu_is_a_page_with_the_lists(
    server: Server, browser: Browser, axe_source: str
) -> None:
    watched, _, _, _ = await ada(browser, server, axe_source, javascript=False)
    page = watched.page
    try:
        await page.set_viewport_size({"width": 360, "height": 740})
        await fits(page, "the inbox without JavaScript")
        tasks = await page.get_by_role("heading", name="Inbox").bounding_box()
        nav = await page.get_by_role("navigation", name="Lists").bounding_box()
        assert tasks is not None
        assert nav is not None
        assert tasks["y"] < nav["y"]
        await page.get_by_role("link", name="Menu", exact=True).click()
        await expect(page.get_by_role("heading", name="Menu", level=1)).to_be_visible()
        assert page.url == f"{server.url}/app/menu"
        await fits(page, "the menu's page without JavaScript")
        nav = await page.get_by_role("navigation", name="Lists").bounding_box()
        links = await page.get_by_role("link", name="Settings").bounding_box()
        assert nav is not None
        assert links is not None
        assert links["y"] < nav["y"]  # where the header leads, then the lists
        await expect(page.get_by_role("navigation", name="Lists")).to_be_in_viewport()
        await expect(page.get_by_role("link", name="Notifications").last).to_be_visible()
        await (
            page.get_by_role("navigation", name="Lists").get_by_role("link", name=LONG_LIST).click()
        )
        await expect(page.get_by_role("heading", name=LONG_LIST, level=1)).to_be_visible()
        # Signing out is in the account's menu, a <details> that opens without script.
        await page.locator("summary", has_text="Ada Lovelace-Byron").click()
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_text("You are signed out.")).to_be_visible()
        assert watched.problems == []
    finally:
        await page.context.close()


async def test_the_theme_is_kept_and_applied_on_every_page(
    server: Server, browser: Browser, axe_source: str
) -> None:
    watched, _, _, headers = await ada(browser, server, axe_source, scheme="light")
    page = watched.page
    background = "() => getComputedStyle(document.body).backgroundColor"
    light, dark = "rgb(255, 255, 255)", "rgb(21, 22, 26)"
    try:
        assert await page.evaluate(background) == light  # System, on a light system
        await page.emulate_media(color_scheme="dark")
        assert await page.evaluate(background) == dark  # System follows it
        await page.emulate_media(color_scheme="light")

        await page.goto(f"{server.url}/app/settings/profile")
        theme = page.get_by_label("Theme")
        await expect(theme).to_have_value("")
        await theme.select_option(label="Dark")
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_role("status")).to_have_text("Saved.")
        await expect(theme).to_have_value("dark")
        await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert await page.evaluate(background) == dark  # on a light system
        await watched.accessible()
        await shot(page, "settings-dark")
        await page.goto(f"{server.url}/app/")  # every page
        await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert await page.evaluate(background) == dark
        await watched.accessible()
        assert me(server, headers)["theme"] == "dark"

        # Light, on a dark system.
        await page.emulate_media(color_scheme="dark")
        await page.goto(f"{server.url}/app/settings/profile")
        await theme.select_option(label="Light")
        await page.get_by_role("button", name="Save").click()
        await expect(page.locator("html")).to_have_attribute("data-theme", "light")
        assert await page.evaluate(background) == light
        await watched.accessible()
        await page.goto(f"{server.url}/app/")
        assert await page.evaluate(background) == light
        await watched.accessible()
        assert watched.problems == []
    finally:
        await page.context.close()
