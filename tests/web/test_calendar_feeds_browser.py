"""Settings → Calendar apps in a real browser, on both databases: a calendar feed of a list made
there (its address shown once, with a `webcal://` link), read as a calendar app reads it, listed
without its address afterwards and deleted (its address then 404). With JavaScript on and off,
in light and dark; axe-core on the page."""

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.helpers_server import Server
from tests.web.browsing import made, nothing, open_page, register, sign_in

MODES = [(True, "light"), (True, "dark"), (False, "light")]
IDS = ["js-light", "js-dark", "nojs-light"]
PAGE = "/app/settings/calendar"


@pytest.mark.parametrize(("javascript", "scheme"), MODES, ids=IDS)
async def test_a_feed_is_made_shown_once_read_and_deleted(
    server: Server, browser: Browser, axe_source: str, javascript: bool, scheme: str
) -> None:
    email, headers = register(server)
    garden = made(server, "/api/lists", {"name": "Garden"}, headers)
    task = made(
        server,
        "/api/tasks",
        {"title": "Mow the lawn", "list_id": garden["id"], "due_date": "2026-06-01"},
        headers,
    )
    made(server, "/api/tasks", {"title": "Elsewhere", "due_date": "2026-06-02"}, headers)
    watched = await open_page(browser, server, axe_source, javascript=javascript, scheme=scheme)
    page = watched.page
    check = watched.accessible if javascript else nothing
    await sign_in(page, server, email)

    await page.goto(f"{server.url}{PAGE}")
    feeds = page.get_by_role("region", name="Calendar feeds")
    await expect(feeds.get_by_text("No feeds yet.")).to_be_visible()
    await check()
    await page.get_by_label("Tasks to show").select_option(label="Garden")
    await page.get_by_role("button", name="Make a feed").click()
    await expect(page.get_by_role("status").filter(has_text="The feed is made")).to_be_visible()
    url = (await page.locator("#new-feed").text_content() or "").strip()
    assert url.startswith(f"{server.url}/feeds/")
    webcal = await page.get_by_role("link", name="Open it in a calendar app").get_attribute("href")
    assert webcal == "webcal://" + url.split("://", 1)[1]
    await check()

    async with httpx.AsyncClient() as app:  # a calendar app: no credential but the address
        calendar = await app.get(url)
        assert calendar.status_code == 200
        assert f"UID:{task['id']}" in calendar.text
        assert "Elsewhere" not in calendar.text

        await page.goto(f"{server.url}{PAGE}")  # the address is not shown again
        await expect(page.locator("#new-feed")).to_have_count(0)
        assert url not in await page.content()
        await expect(feeds.locator("strong", has_text="List: Garden")).to_be_visible()
        await feeds.get_by_role("button", name="Delete List: Garden").click()
        await expect(
            page.get_by_role("status").filter(has_text="The feed is deleted")
        ).to_be_visible()
        await expect(feeds.get_by_text("No feeds yet.")).to_be_visible()
        await check()
        assert (await app.get(url)).status_code == 404
    assert watched.problems == []
