"""A list's board in a real browser, on both databases: `View` → `Board` kept for the list (and
only for it); cards moved by the mouse and from the keyboard (`Alt+←/→` to the neighbouring
column, `Alt+↑/↓` within it), columns by dragging their heading and `Alt+Shift+←/→`, each move
said in the live region and confirmed by the API; a column's quick add; on a 390 px phone the
board scrolls sideways a column at a time and the page does not; without JavaScript a card's
`Move to…` form and the sections' forms. axe-core in light and dark on each state."""

import asyncio
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import (
    made,
    open_page,
    register,
    sign_in,
    view_menu,
    without_live_updates,
)


def call(server: Server, path: str, headers: dict[str, str], **params: str) -> Any:
    answer = httpx.get(f"{server.url}{path}", params=params, headers=headers)
    assert answer.is_success, answer.text
    return answer.json()


class Work:
    """The list `Work`: `Loose` in no section, `Write` and `Test` in `Doing`, `Ship` in `Done`."""

    def __init__(self, server: Server, headers: dict[str, str]) -> None:
        self.server, self.headers = server, headers
        self.id = made(server, "/api/lists", {"name": "Work"}, headers)["id"]
        self.sections = {
            name: made(server, f"/api/lists/{self.id}/sections", {"name": name}, headers)["id"]
            for name in ("Doing", "Done")
        }
        for title, section in (("Loose", None), ("Write", "Doing"), ("Test", "Doing")):
            body = {"title": title, "list_id": self.id, "section_id": self.sections.get(section)}
            made(server, "/api/tasks", body, headers)
        body = {"title": "Ship", "list_id": self.id, "section_id": self.sections["Done"]}
        made(server, "/api/tasks", body, headers)

    def path(self) -> str:
        return f"{self.server.url}/app/lists/{self.id}"

    def titles(self, section: str) -> list[str]:
        """The titles in `section` (`none`: in no section), in the list's order, by the API."""
        key = self.sections.get(section, section)
        found = call(self.server, "/api/tasks", self.headers, list_id=self.id, section_id=key)
        return [task["title"] for task in sorted(found, key=lambda task: task["position"])]

    def order(self) -> list[str]:
        found = call(self.server, f"/api/lists/{self.id}/sections", self.headers)
        return [section["name"] for section in found]


def card(page: Page, title: str) -> Locator:
    return page.locator("li.task", has=page.get_by_role("link", name=title, exact=True))


async def box_of(shown: Locator) -> dict[str, float]:
    """Where `shown` is: once the board put in again by the last move's live update settles
    (an element replaced as it is measured has no box)."""
    for _ in range(100):
        box = await shown.bounding_box()
        if box is not None:
            return dict(box)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{shown} is not shown")


def column(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name="Board").locator(
        "section.column", has=page.get_by_role("heading", name=name, exact=True)
    )


async def board_of(page: Page) -> list[list[str]]:
    """The board as shown: each column's heading, then its cards' titles."""
    shown: list[list[str]] = await page.evaluate(
        """() => [...document.querySelectorAll("#board > section.column[data-section]")].map(
            (column) => [column.querySelector("h2").textContent,
                         ...[...column.querySelectorAll("ul.cards > li.task > .body > a")]
                             .map((link) => link.textContent)])"""
    )
    return shown


async def test_cards_and_columns_move_by_mouse_and_keyboard(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    work = Work(server, headers)
    home = made(server, "/api/lists", {"name": "Home"}, headers)["id"]
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await without_live_updates(page)
    await page.set_viewport_size({"width": 1440, "height": 900})  # the columns side by side
    await sign_in(page, server, email)
    await page.goto(work.path())
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    board = page.get_by_role("region", name="Board")
    await expect(board).to_be_visible()
    assert await board_of(page) == [
        ["(No section)", "Loose"],
        ["Doing", "Write", "Test"],
        ["Done", "Ship"],
    ]
    await watched.accessible_in_both_schemes()
    # Kept for this list, and for it alone.
    await page.goto(f"{server.url}/app/lists/{home}")
    await view_menu(page)
    await expect(page.get_by_role("button", name="List", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(page.get_by_role("region", name="Board")).to_have_count(0)
    await page.goto(work.path())
    await expect(board).to_be_visible()
    said = page.locator("#announce")

    # From the keyboard: `Write` to the next column, down, back, up.
    link = page.get_by_role("link", name="Write", exact=True)
    await link.focus()
    await page.keyboard.press("Alt+ArrowRight")
    await expect(said).to_have_text("Moved Write to Done, position 1 of 2")
    assert work.titles("Done") == ["Write", "Ship"]
    await expect(link).to_be_focused()
    await page.keyboard.press("Alt+ArrowDown")
    await expect(said).to_have_text("Moved Write to Done, position 2 of 2")
    assert work.titles("Done") == ["Ship", "Write"]
    await page.keyboard.press("Alt+ArrowLeft")
    await expect(said).to_have_text("Moved Write to Doing, position 2 of 2")
    assert work.titles("Doing") == ["Test", "Write"]
    await page.keyboard.press("Alt+ArrowUp")
    await expect(said).to_have_text("Moved Write to Doing, position 1 of 2")
    assert work.titles("Doing") == ["Write", "Test"]
    await page.keyboard.press("Alt+ArrowLeft")
    await expect(said).to_have_text("Moved Write to (No section), position 1 of 2")
    assert work.titles("none") == ["Write", "Loose"]
    await page.keyboard.press("Alt+ArrowRight")
    await expect(said).to_have_text("Moved Write to Doing, position 1 of 2")
    assert work.titles("Doing") == ["Write", "Test"]

    # A column from the keyboard: `Doing` after `Done`, and back.
    await page.keyboard.press("Alt+Shift+ArrowRight")
    await expect(said).to_have_text("Moved section Doing to position 2 of 2")
    assert work.order() == ["Done", "Doing"]
    await expect(link).to_be_focused()
    await page.keyboard.press("Alt+Shift+ArrowLeft")
    await expect(said).to_have_text("Moved section Doing to position 1 of 2")
    assert work.order() == ["Doing", "Done"]
    await watched.accessible_in_both_schemes()

    # The mouse: `Ship` dropped on the lower half of `Write`, then `Loose` on `Done`'s foot.
    target = await box_of(card(page, "Write"))
    await card(page, "Ship").drag_to(
        card(page, "Write"), target_position={"x": 20, "y": target["height"] - 6}
    )
    await expect(said).to_have_text("Moved Ship to Doing, position 2 of 3")
    assert work.titles("Doing") == ["Write", "Ship", "Test"]
    await card(page, "Loose").drag_to(column(page, "Done").locator("ul.cards"))
    await expect(said).to_have_text("Moved Loose to Done, position 1 of 1")
    assert work.titles("Done") == ["Loose"]
    assert work.titles("none") == []

    # A column dragged by its heading: `Done` before `Doing`.
    await (
        column(page, "Done")
        .locator(".column-head")
        .drag_to(column(page, "Doing"), target_position={"x": 10, "y": 10})
    )
    await expect(said).to_have_text("Moved section Done to position 1 of 2")
    assert work.order() == ["Done", "Doing"]

    # A column's quick add puts the task in it; the board is as it was kept.
    await page.get_by_role("textbox", name="Add a task to Done").fill("Celebrate")
    await page.get_by_role("textbox", name="Add a task to Done").press("Enter")
    await expect(card(page, "Celebrate")).to_be_visible()
    assert work.titles("Done") == ["Loose", "Celebrate"]
    assert await board_of(page) == [
        ["Done", "Loose", "Celebrate"],
        ["Doing", "Write", "Ship", "Test"],
    ]
    await watched.accessible_in_both_schemes()
    assert watched.problems == []


async def test_a_board_in_another_order_moves_cards_between_columns_only(
    server: Server, browser: Browser, axe_source: str
) -> None:
    """Sorted by title, a card keeps the order's place in its column: dragged or moved up
    and down there, nothing changes (the list's own order least of all); to another column,
    it goes where the order puts it."""
    email, headers = register(server)
    work = Work(server, headers)
    body = {"title": "Alpha", "list_id": work.id, "section_id": work.sections["Doing"]}
    made(server, "/api/tasks", body, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await without_live_updates(page)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await sign_in(page, server, email)
    await page.goto(work.path())
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    await view_menu(page)
    await page.get_by_label("Sort").select_option(label="Title")  # applied as chosen
    await expect(page.get_by_role("button", name="Apply")).to_be_hidden()
    await expect(column(page, "Doing").locator("li.task > .body > a")).to_have_text(
        ["Alpha", "Test", "Write"]
    )
    assert (await board_of(page))[1] == ["Doing", "Alpha", "Test", "Write"]

    await card(page, "Alpha").get_by_role("link", name="Alpha").focus()
    await page.keyboard.press("Alt+ArrowDown")
    target = await box_of(card(page, "Write"))
    await card(page, "Test").drag_to(
        card(page, "Write"), target_position={"x": 20, "y": target["height"] - 6}
    )
    assert (await board_of(page))[1] == ["Doing", "Alpha", "Test", "Write"]
    await card(page, "Alpha").get_by_role("link", name="Alpha").focus()
    await page.keyboard.press("Alt+ArrowRight")
    await expect(page.locator("#announce")).to_contain_text("Moved Alpha to Done")
    assert work.titles("Doing") == ["Write", "Test"]  # the list's own order, as it was
    assert work.titles("Done") == ["Ship", "Alpha"]
    await page.reload()
    assert (await board_of(page))[1:] == [["Doing", "Test", "Write"], ["Done", "Alpha", "Ship"]]
    await watched.accessible_in_both_schemes()
    assert watched.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_on_a_phone_the_board_scrolls_by_column_and_the_page_does_not(
    server: Server, browser: Browser, axe_source: str, scheme: str
) -> None:
    email, headers = register(server)
    work = Work(server, headers)
    watched = await open_page(browser, server, axe_source, scheme=scheme)
    page = watched.page
    await sign_in(page, server, email)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(work.path())
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    await expect(page.get_by_role("region", name="Board")).to_be_visible()
    found = await page.evaluate(
        """() => {
          const board = document.getElementById("board");
          const columns = [...board.querySelectorAll(":scope > section.column")];
          return {
            page: document.documentElement.scrollWidth,
            viewport: document.documentElement.clientWidth,
            board: board.clientWidth,
            scrolls: board.scrollWidth,
            widths: columns.map((column) => Math.round(column.getBoundingClientRect().width)),
            snap: getComputedStyle(board).scrollSnapType,
            align: getComputedStyle(columns[0]).scrollSnapAlign,
          };
        }"""
    )
    assert found["page"] == found["viewport"] == 390, found
    assert found["scrolls"] > found["board"], found  # the board scrolls sideways
    assert set(found["widths"]) == {found["board"]}, found  # a column a screen
    assert found["snap"] == "x mandatory", found
    assert found["align"] == "start", found
    await watched.accessible()
    assert watched.problems == []


async def test_without_javascript_a_card_has_a_move_to_form(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    work = Work(server, headers)
    watched = await open_page(browser, server, axe_source, javascript=False)
    page = watched.page
    await sign_in(page, server, email)
    await page.goto(work.path())
    await view_menu(page)
    await page.get_by_role("button", name="Board", exact=True).click()
    await expect(page.get_by_role("region", name="Board")).to_be_visible()

    loose = card(page, "Loose")
    await loose.locator("summary", has_text="Move to…").click()
    await loose.get_by_role("combobox", name="Section").select_option(label="Doing")
    await loose.get_by_role("spinbutton", name="Position").fill("2")
    await loose.get_by_role("button", name="Move", exact=True).click()
    await expect(column(page, "Doing").get_by_role("link", name="Loose")).to_be_visible()
    assert work.titles("Doing") == ["Write", "Loose", "Test"]
    assert await board_of(page) == [["Doing", "Write", "Loose", "Test"], ["Done", "Ship"]]

    # Sections from the page: added, renamed, moved and deleted (its tasks kept).
    await page.get_by_role("textbox", name="New section").fill("Later")
    await page.get_by_role("button", name="Add section").click()
    await expect(page.get_by_role("heading", name="Later", exact=True)).to_be_visible()
    await column(page, "Later").get_by_role("link", name="Edit section Later").click()
    await expect(page.get_by_role("heading", name="Later", level=1)).to_be_visible()
    await page.get_by_role("textbox", name="Section name").fill("Someday")
    await page.get_by_role("button", name="Rename section").click()
    await column(page, "Someday").get_by_role("link", name="Edit section Someday").click()
    await page.get_by_role("button", name="Move left").click()
    await expect(page.get_by_role("region", name="Board")).to_be_visible()  # back to the list
    assert work.order() == ["Doing", "Someday", "Done"]
    await column(page, "Done").get_by_role("link", name="Edit section Done").click()
    await page.get_by_role("button", name="Delete section").click()
    await expect(page.get_by_role("heading", name="Done", exact=True)).to_have_count(0)
    assert work.order() == ["Doing", "Someday"]
    assert work.titles("none") == ["Ship"]
    assert watched.problems == []
