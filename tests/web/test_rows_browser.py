"""Rows that read at a glance and room for the tasks, in a real browser, on both databases: the
title plain text (still the task's link), the priority the checkbox's ring (3:1 and more
against the page in light and dark) and in its name, the due a chip coloured by when, a repeat
icon, tags as chips, the comments' count named; the row's actions shown on hover and focus.
At 1280x800 twelve one-line rows and `Add a task` on the first screen, at 390x844 eight; the
search in the header (`/` focuses it), the rest behind `View` (the layout its own fieldset) and
the list's own actions behind `More…`, with and without JavaScript; axe-core in German, light
and dark, at both widths."""

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from tests.helpers_server import Server
from tests.web.browsing import made, open_page, register, sign_in
from tests.web.test_phone_browser import patch_me, sign_in_de

# The colour of a ring (the circle the checkbox draws) and of the page, as computed.
RING = """check => [getComputedStyle(check, '::before').borderTopColor,
                    getComputedStyle(document.body).backgroundColor]"""


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two computed `rgb(…)` colours."""

    def luminance(colour: str) -> float:
        red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", colour)[:3])
        lin = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def in_view(page: Page, height: int) -> int:
    """How many task rows are whole on the first screen."""
    bottoms = await page.locator("#tasks > li.task").evaluate_all(
        "rows => rows.map(row => row.getBoundingClientRect().bottom)"
    )
    return sum(bottom <= height for bottom in bottoms)


async def test_rows_read_at_a_glance(server: Server, browser: Browser, axe_source: str) -> None:
    email, headers = register(server)
    today = datetime.now(UTC).date()
    made(
        server,
        "/api/tasks",
        {"title": "Buy milk", "priority": "high", "due_date": str(today)},
        headers,
    )
    late = {"title": "Pay rent", "priority": "medium", "due_date": str(today - timedelta(days=2))}
    made(server, "/api/tasks", late, headers)
    soon = {"due_date": str(today + timedelta(days=3)), "recurrence": "FREQ=WEEKLY"}
    made(server, "/api/tasks", {"title": "Water plants", "priority": "low", **soon}, headers)
    later = {
        "title": "Renew passport",
        "due_date": str(today + timedelta(days=40)),
        "tags": ["papers"],
    }
    passport = made(server, "/api/tasks", later, headers)
    made(server, f"/api/tasks/{passport['id']}/comments", {"body": "Photos first"}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await page.set_viewport_size({"width": 1280, "height": 800})
    await sign_in(page, server, email)

    def row(title: str):  # type: ignore[no-untyped-def]
        return page.locator("li.task").filter(has=page.get_by_role("link", name=title, exact=True))

    # The priority in the checkbox's name, not in words on the row; p4 says none.
    names = {
        "Buy milk": "Complete Buy milk, priority 1",
        "Pay rent": "Complete Pay rent, priority 2",
        "Water plants": "Complete Water plants, priority 3",
        "Renew passport": "Complete Renew passport",
    }
    for title, name in names.items():
        await expect(row(title).get_by_role("checkbox", name=name, exact=True)).to_be_visible()
        await expect(row(title)).not_to_contain_text("Priority")
    # The title plain text, still the task's link.
    link = page.get_by_role("link", name="Buy milk", exact=True)
    assert await link.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"
    colours = await link.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(document.body).color]"
    )
    assert colours[0] == colours[1]
    # The rings: p1 red, p2 orange, p3 blue, p4 the plain one, each 3:1 against the page.
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        rings = []
        for title in names:
            ring, background = await row(title).locator(".check").evaluate(RING)
            assert contrast(ring, background) >= 3, (scheme, title, ring, background)
            rings.append(ring)
        assert len(set(rings)) == 4, rings
        red, green, blue = (int(part) for part in re.findall(r"\d+", rings[0])[:3])
        assert red > green
        assert red > blue
    await page.emulate_media(color_scheme="light")

    # The due a chip by when: overdue, today, the next days, later plain; a repeat icon, tags
    # as chips, the comments' count with its name.
    chips = {"Pay rent": "overdue", "Buy milk": "today", "Water plants": "soon"}
    for title, when in chips.items():
        await expect(row(title).locator(".due.chip")).to_have_class(re.compile(rf"\b{when}\b"))
    await expect(row("Renew passport").locator(".due.chip")).to_have_class("due chip")
    said = [
        await row(title).locator(".due").evaluate("c => getComputedStyle(c).color")
        for title in names
    ]
    assert len(set(said)) == 4, said
    await expect(row("Pay rent")).to_contain_text("Overdue, due")
    await expect(row("Water plants").get_by_role("img", name="Repeats")).to_be_visible()
    await expect(row("Renew passport").locator(".tag.chip")).to_have_text("@papers")
    await expect(row("Renew passport").locator(".comments")).to_contain_text("1 comment")

    # The row's actions show on hover and focus only.
    edit = page.get_by_role("button", name="Edit the title of Buy milk")
    await page.mouse.move(1270, 790)
    await expect(edit).to_have_css("opacity", "0")
    await row("Buy milk").hover()
    await expect(edit).to_have_css("opacity", "1")
    await page.mouse.move(1270, 790)
    await edit.focus()
    await expect(edit).to_have_css("opacity", "1")
    await watched.accessible_in_both_schemes()
    assert watched.problems == []


async def test_room_for_the_tasks(server: Server, browser: Browser, axe_source: str) -> None:
    email, headers = register(server)
    patch_me(server, headers, language="de")
    home = made(server, "/api/lists", {"name": "Haus"}, headers)
    for number in range(20):
        urgent = {"priority": "high"} if number == 7 else {}
        task = {"title": f"Aufgabe {number}", "list_id": home["id"], **urgent}
        made(server, "/api/tasks", task, headers)
    for width, height, least in ((1280, 800, 12), (390, 844, 8)):
        watched = await open_page(browser, server, axe_source)
        page = watched.page
        await page.set_viewport_size({"width": width, "height": height})
        await sign_in_de(page, server, email)
        await page.goto(f"{server.url}/app/lists/{home['id']}")
        add = page.get_by_role("textbox", name="Aufgabe hinzufügen")
        box = await add.bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= height
        assert await in_view(page, height) >= least, width

        # `/` focuses the header's search.
        search = page.get_by_role("banner").get_by_role("searchbox", name="Suche")
        await page.locator("h1").click()
        await page.keyboard.press("/")
        await expect(search).to_be_focused()
        await page.keyboard.press("Escape")

        # `View` opens the layout (a fieldset of its own), the sort, the filter, completed
        # tasks and selecting; `More…` the list's own actions.
        await expect(page.get_by_role("textbox", name="Filter")).to_be_hidden()
        await page.locator("summary", has_text="Ansicht").click()
        layout = page.get_by_role("group", name="Layout")
        await expect(layout.get_by_role("button", name="Liste", exact=True)).to_be_visible()
        await expect(layout.get_by_role("button", name="Board", exact=True)).to_be_visible()
        await expect(page.get_by_role("combobox", name="Sortieren")).to_be_visible()
        await expect(page.get_by_role("textbox", name="Filter")).to_be_visible()
        await expect(page.get_by_role("button", name="Auswählen", exact=True)).to_be_visible()
        await watched.accessible_in_both_schemes()
        await page.keyboard.press("Escape")
        await expect(page.get_by_role("textbox", name="Filter")).to_be_hidden()
        await page.locator("summary", has_text="Mehr…").click()
        await expect(page.get_by_role("textbox", name="Name der Liste")).to_be_visible()
        await expect(page.get_by_role("button", name="Nach oben")).to_be_visible()
        await watched.accessible_in_both_schemes()
        assert watched.problems == []
        await page.context.close()

    # Without JavaScript the same disclosures open, and the filter works from there.
    plain = await open_page(browser, server, axe_source, javascript=False)
    page = plain.page
    await sign_in_de(page, server, email)
    await page.goto(f"{server.url}/app/lists/{home['id']}")
    await page.locator("summary", has_text="Ansicht").click()
    await page.get_by_role("textbox", name="Filter").fill("p1")
    await page.get_by_role("textbox", name="Filter").press("Enter")
    await expect(page.locator("#tasks > li.task")).to_have_count(1)
    await page.locator("summary", has_text="Mehr…").click()
    await expect(page.get_by_role("textbox", name="Name der Liste")).to_be_visible()
    assert plain.problems == []
