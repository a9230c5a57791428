"""The browser tests' fixtures: one Chromium per test process, one server per test module and
database (each test makes its own account, so tests share it), axe-core installed once."""

import fcntl
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.helpers_server import Server, clean_env, running_server
from tests.support import TEST_SECRET
from tests.web.browsing import AXE_DIR, CHROMIUM, CHROMIUM_ARGS, missing


@pytest.fixture(scope="session")
def axe_source() -> str:
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
    if not os.path.exists(CHROMIUM):
        missing("Chromium is not installed at /usr/bin/chromium")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """One Chromium per test process; each test opens contexts of its own."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()
