"""Without built-in accounts (`BUILTIN_ACCOUNTS=false`), in a real browser against a real
`todo-api serve`, on both databases: `/app/` is a page saying why there is no web app and what
turns it on, in the browser's language, that axe-core finds nothing against (WCAG 2.2 A and
AA), with JavaScript on and off."""

from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect

from tests.helpers_server import Server, running_server
from tests.web.browsing import open_page
from tests.web.conftest import web_env


@pytest.fixture(scope="module")
def server(
    chromium: str, web_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("server")
    env = web_env(web_database_url, BUILTIN_ACCOUNTS="false")
    with running_server(directory, env, directory / "server.log") as server:
        yield server


@pytest.mark.parametrize(
    ("javascript", "locale", "heading", "link"),
    [
        (True, "en-US", "No web app here", "The API's documentation"),
        (False, "de-DE", "Keine Web-App verfügbar", "Die Dokumentation der API"),
    ],
    ids=["js-en", "nojs-de"],
)
async def test_the_app_says_it_needs_built_in_accounts(
    server: Server,
    browser: Browser,
    axe_source: str,
    javascript: bool,
    locale: str,
    heading: str,
    link: str,
) -> None:
    watched = await open_page(browser, server, axe_source, javascript=javascript, locale=locale)
    page = watched.page
    answer = await page.goto(f"{server.url}/app/")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name=heading)).to_be_visible()
    await expect(page.locator("main")).to_contain_text("BUILTIN_ACCOUNTS=true")
    await expect(page.get_by_role("link", name=link)).to_have_attribute("href", "/docs")
    if javascript:
        await watched.accessible()
    # Chromium logs the page's own 404 as a console error: that and nothing else.
    status = "console: Failed to load resource: the server responded with a status of 404"
    assert set(watched.problems) <= {f"{status} (Not Found)"}
    await page.context.close()
