"""The browser tests' fixtures: one Chromium per test process, one server per test module and
database (each test makes its own account, so tests share it), axe-core installed once."""

import fcntl
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, Playwright, async_playwright

from tests.helpers_server import Server, clean_env, running_server
from tests.support import TEST_SECRET
from tests.web.browsing import AXE_DIR, CHROMIUM, CHROMIUM_ARGS, HEADLESS_SHELL, missing


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core's script, installed once per machine into tests/web/axe/node_modules."""
    if shutil.which("npm") is None:
        missing("npm is not installed")
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    with (AXE_DIR / ".install.lock").open("w") as lock:  # one pytest process installs
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.is_file():
            done = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=AXE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                missing(f"npm could not install axe-core: {done.stderr[-2000:]}")
    return script.read_text()


# The fixtures that run a browser test on each database.
_DATABASE_PARAMETERS = ("web_database_url", "server_database_url")


@pytest.fixture
def axe_source(axe_script: str, request: pytest.FixtureRequest) -> str:
    """axe-core's script for the test's pages, but "" in the PostgreSQL run of a test that runs
    on both databases: axe-core judges a page's markup and styles, which are the same whichever
    database holds its data, so they are judged in the test's SQLite run (as
    test_every_language_browser.py runs on SQLite only), and `Watched.accessible` passes."""
    called = getattr(request.node, "callspec", None)
    databases = {called.params.get(name) for name in _DATABASE_PARAMETERS} if called else set()
    return "" if "postgresql" in databases else axe_script


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The database of a module's server: a new SQLite file, or the session's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('web')}/todo.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


def web_env(database_url: str, **settings: str) -> dict[str, str]:
    """A server's environment for the browser tests; `settings` on top."""
    return clean_env(
        JWT_SECRET=TEST_SECRET,
        DATABASE_URL=database_url,
        AUTH_RATE_LIMIT_ATTEMPTS="100000",
        **settings,
    )


@pytest.fixture(scope="module")
def server(web_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module and database, shared by its tests."""
    if not os.path.exists(CHROMIUM):
        missing("Chromium is not installed at /usr/bin/chromium")
    directory = tmp_path_factory.mktemp("server")
    with running_server(directory, web_env(web_database_url), directory / "server.log") as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> str:
    for program in (CHROMIUM, HEADLESS_SHELL):
        if not os.path.exists(program):
            missing(f"{program} is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
async def playwright_driver(chromium: str) -> AsyncIterator[Playwright]:
    async with async_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
async def session_browser(playwright_driver: Playwright) -> AsyncIterator[Browser]:
    """One headless shell per test process."""
    launched = await playwright_driver.chromium.launch(
        executable_path=HEADLESS_SHELL, args=CHROMIUM_ARGS
    )
    yield launched
    await launched.close()


@pytest.fixture(scope="session")
async def session_full_browser(playwright_driver: Playwright) -> AsyncIterator[Browser]:
    """The whole Chromium, started in the test processes whose tests ask for it."""
    launched = await playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    await launched.close()


async def _closing_new_contexts(launched: Browser) -> AsyncIterator[Browser]:
    """`launched`, in which a test opens contexts of its own: each closed after the test, so
    that no page of an earlier test keeps running (a live page reconnects to its stopped
    server for ever)."""
    before = set(launched.contexts)
    yield launched
    for context in launched.contexts:
        if context not in before:
            await context.close()


@pytest.fixture
async def browser(session_browser: Browser) -> AsyncIterator[Browser]:
    """The process's headless shell (see `_closing_new_contexts`)."""
    async for launched in _closing_new_contexts(session_browser):
        yield launched


@pytest.fixture
async def full_browser(session_full_browser: Browser) -> AsyncIterator[Browser]:
    """The process's whole Chromium (notifications, Background Sync), as `browser` is."""
    async for launched in _closing_new_contexts(session_full_browser):
        yield launched
