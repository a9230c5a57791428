"""Saved filters from the page, in a real browser on both databases, with JavaScript on and off:
the filter box's query saved under a name (`Save filter`: then in the sidebar under `Filters`),
renamed, its query changed and the filter deleted on its page, each seen through the API; a
name taken and a query that cannot be read are said, changing nothing. axe-core runs on the
pages in light and dark."""

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.helpers_server import Server
from tests.web.browsing import XSS_TITLES, Watched, made, open_page, register, sign_in, view_menu


def saved(server: Server, headers: dict[str, str]) -> list[tuple[str, str]]:
    """The person's saved filters, as (name, query), through the API."""
    listed = httpx.get(f"{server.url}/api/filters", headers=headers)
    assert listed.status_code == 200, listed.text
    return [(found["name"], found["query"]) for found in listed.json()]


async def checked(watched: Watched) -> None:
    if not watched.javascript:  # axe-core is a script: the pages with it are the same
        return
    await watched.accessible_in_both_schemes()


async def in_sidebar(page: Page) -> list[str]:
    """The links under the sidebar's `Filters` heading."""
    nav = page.get_by_role("navigation", name="Lists")
    links = nav.locator("h2:has-text('Filters') + ul").get_by_role("link")
    return [text.split("\n")[0].strip() for text in await links.all_inner_texts()]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
async def test_a_filter_is_saved_renamed_edited_and_deleted(
    server: Server, browser: Any, axe_source: str, javascript: bool
) -> None:
    email, headers = register(server)
    made(server, "/api/filters", {"name": "Taken", "query": "today"}, headers)
    made(server, "/api/tasks", {"title": "Urgent", "priority": "high"}, headers)
    made(server, "/api/tasks", {"title": "Someday", "priority": "low"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript)
    page = watched.page
    await sign_in(page, server, email)
    heading = page.get_by_role("heading", level=1)

    # The filter box's query, saved: a name taken is said, then another is kept.
    await view_menu(page)
    await page.get_by_role("textbox", name="Filter").fill("p1")
    await page.get_by_role("textbox", name="Filter").press("Enter")
    await expect(page.get_by_role("link", name="Someday")).to_have_count(0)
    name = page.get_by_role("textbox", name="Save as")
    await name.fill("taken")
    await page.get_by_role("button", name="Save filter").click()
    await expect(page.get_by_role("alert")).to_contain_text("name")
    await expect(page.get_by_role("textbox", name="Filter")).to_have_value("p1")
    await name.fill(XSS_TITLES[1])
    await page.get_by_role("button", name="Save filter").click()
    await expect(heading).to_have_text(XSS_TITLES[1])
    assert await in_sidebar(page) == ["Taken", XSS_TITLES[1]]
    assert saved(server, headers) == [("Taken", "today"), (XSS_TITLES[1], "p1")]
    await expect(page.get_by_role("link", name="Urgent")).to_be_visible()
    await checked(watched)

    # Renamed on its page.
    await page.get_by_role("textbox", name="Name", exact=True).fill("Hot")
    await page.get_by_role("button", name="Rename").click()
    await expect(heading).to_have_text("Hot")
    assert await in_sidebar(page) == ["Taken", "Hot"]

    # Its query changed; one that cannot be read is said and changes nothing.
    query = page.get_by_role("textbox", name="Query")
    await query.fill("p1 & (")
    await page.get_by_role("button", name="Save query").click()
    await expect(page.get_by_role("alert")).to_contain_text("query")
    await checked(watched)
    await query.fill("p3")
    await page.get_by_role("button", name="Save query").click()
    await expect(page.get_by_role("link", name="Someday")).to_be_visible()
    await expect(page.get_by_role("link", name="Urgent")).to_have_count(0)
    assert saved(server, headers) == [("Taken", "today"), ("Hot", "p3")]

    # Deleted: the inbox, and the sidebar without it.
    await page.get_by_role("button", name="Delete filter").click()
    await expect(heading).to_have_text("Inbox")
    assert await in_sidebar(page) == ["Taken"]
    assert saved(server, headers) == [("Taken", "today")]
    # The two forms refused answer 400, which Chromium logs.
    assert [p for p in watched.problems if "status of 400" not in p] == []
    await page.context.close()
