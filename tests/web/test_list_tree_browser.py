"""Lists inside lists in a real browser, on both databases: the sidebar nests Client under
Work, Work's fold button (`aria-expanded`) folds it away, and the fold holds across a reload
(kept for the person on the server); axe-core passes, in light and dark, folded and not."""

from playwright.async_api import Browser, expect

from tests.helpers_server import Server
from tests.web.browsing import made, open_page, register, sign_in


async def test_the_sidebar_folds_a_list_and_keeps_it_folded_across_a_reload(
    server: Server, browser: Browser, axe_source: str
) -> None:
    email, headers = register(server)
    work = made(server, "/api/lists", {"name": "Work"}, headers)
    made(server, "/api/lists", {"name": "Client", "parent_id": work["id"]}, headers)
    watched = await open_page(browser, server, axe_source)
    page = watched.page
    await sign_in(page, server, email)
    nav = page.get_by_role("navigation", name="Lists")
    fold = nav.get_by_role("button", name="Lists inside Work")
    client = nav.get_by_role("link", name="Client 0 open")
    await expect(fold).to_have_attribute("aria-expanded", "true")
    await expect(client).to_be_visible()
    await watched.accessible_in_both_schemes()

    await fold.click()
    await expect(fold).to_have_attribute("aria-expanded", "false")
    await expect(client).to_be_hidden()
    await page.reload()
    await expect(fold).to_have_attribute("aria-expanded", "false")
    await expect(client).to_be_hidden()
    await watched.accessible_in_both_schemes()

    await fold.focus()
    await page.keyboard.press("Enter")
    await expect(fold).to_have_attribute("aria-expanded", "true")
    await expect(client).to_be_visible()
