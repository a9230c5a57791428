"""Shared fixtures: every data-layer test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (default: the local server); the suite creates its own
database with a random name and drops it at the end. Without a reachable server those tests
skip locally and fail in CI (CI=true), so they can never silently disappear.
"""

import asyncio
import functools
import gc
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from tests.cpu_by_file import CpuByFile
from tests.reminders.smtp import Mailbox, mailbox
from tests.shared_adapters import share_type_adapters
from tests.support import ADMIN_URL, IN_CI, app_for, client_for, make_settings, token_for
from todo_api.config import Settings
from todo_api.migrations import upgrade_to_head

# The files that take longest, those that mostly wait on clocks first (a file's wall time
# against its CPU, tests/cpu_by_file.py): real clients installed on first use, then the
# servers and jobs that wait for their reminders, emails, retries and intervals, then
# several `todo-api serve` processes. A list rather than a marker: one place that says which
# and in what order.
LONGEST_FILES = (
    "tests/dav/test_caldav_server_tester.py",
    "tests/reminders/test_reminders.py",
    "tests/notifications/test_notifications_server.py",
    "tests/reminders/test_reminders_server.py",
    "tests/test_live.py",
    "tests/kit/test_jobs_server.py",
    "tests/webhooks/test_delivery.py",
    "tests/test_live_browser.py",
    "tests/push/test_push.py",
    "tests/dav/test_vdirsyncer.py",
    "tests/web/test_every_language_browser.py",
    "tests/test_transport_server.py",
    "tests/accounts/test_verification.py",
    "tests/webhooks/test_events.py",
    "tests/reminders/test_mail.py",
    "tests/dav/test_zone_readers.py",
    "tests/test_shutdown_server.py",
    "tests/oauth/test_oauth_browser.py",
    "tests/accounts/test_refresh_server.py",
    "tests/accounts/test_browser_sign_ins_server.py",
    "tests/dav/test_report_cost.py",
    "tests/test_lean_start.py",
    "tests/auth/test_jwks.py",
    "tests/accounts/test_recovery_server.py",
    "tests/webhooks/test_fairness.py",
    "tests/test_lint_migrations.py",
    "tests/test_rolling_upgrade.py",
    "tests/test_mcp_server.py",
    "tests/test_readme_walkthroughs.py",
    "tests/test_live_server.py",
    "tests/webhooks/test_webhooks_server.py",
    "tests/auth/test_personal_tokens_server.py",
    "tests/accounts/test_ratelimit.py",
    "tests/test_server.py",
    "tests/accounts/test_recovery.py",
    "tests/test_cli.py",
)
_ROOT = Path(__file__).resolve().parents[1]


def _one_tls_context() -> None:
    """httpx builds a TLS context for every client (reading and parsing certifi's bundle: 25 to
    60 ms of CPU), and every `httpx.get` is a client of its own: the tests make thousands, all to
    plain-HTTP servers on 127.0.0.1, and that was a tenth of a browser file's CPU. One context
    per set of arguments, built on first use, serves them all (a context is not changed by the
    clients that use it)."""
    transports = getattr(httpx, "_transports", None)
    default = getattr(transports, "default", None)
    if default is not None and hasattr(default, "create_ssl_context"):
        default.create_ssl_context = functools.cache(default.create_ssl_context)


_one_tls_context()
share_type_adapters()


def pytest_configure(config: pytest.Config) -> None:
    """TEST_CPU_REPORT=<path>: each test process appends the CPU of its files there
    (tests/cpu_by_file.py); under pytest-xdist the processes that run tests, not the one that
    hands them out."""
    report = os.environ.get("TEST_CPU_REPORT")
    runs_tests = os.environ.get("PYTEST_XDIST_WORKER") or not config.getoption("numprocesses")
    if report and runs_tests:
        config.pluginmanager.register(CpuByFile(Path(report)), "cpu_by_file")


def pytest_collection_finish() -> None:
    """What is made before the first test (the modules imported, the items collected) lives
    for the whole process: kept out of the garbage collector's passes (`gc.freeze`), and the
    passes made less often. Each full pass walked those objects again, and an in-process test
    file cost a tenth to a sixth more CPU for it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first, spread among the others: each followed by three of them, the
    browser files first, each kind by its number of tests, most first.

    `make test` hands whole files to its pytest processes in the order of this collection
    (pytest-xdist `--dist loadfile --no-loadscope-reorder`; without that flag xdist sorts the
    files by their number of tests and this order is lost: xdist/scheduler/loadscope.py,
    `schedule`). A process asks for its next file when two or fewer of its tests are left, so
    a file of minutes that came last would run alone while the others idle; started early, it
    runs beside the many short files, and the shortest fill the end. Items keep their order
    within a file (the sort is stable), so module fixtures are set up once as before.

    The longest files mostly wait (on clocks, on servers they start): three of them side by
    side left a third of the two cores idle for the first four minutes of a run
    (tests/cpu_by_file.py's spans beside /proc/stat), and with each beside two browser files
    only, the waiting ones met again once the browser files ran out. Spread over the first
    half of the run, one waits while the others keep the cores busy.
    """
    files = [item.path.relative_to(_ROOT).as_posix() for item in items]
    counts = Counter(files)
    first = {name: n for n, name in reversed(list(enumerate(files)))}
    longest = [name for name in LONGEST_FILES if name in counts]
    busy = sorted(
        (name for name in first if name not in longest),
        key=lambda name: (not name.endswith("_browser.py"), -counts[name]),
    )
    queue: list[str] = []
    while longest:
        queue += longest[:1] + busy[:3]
        longest, busy = longest[1:], busy[3:]
    rank = {name: n for n, name in enumerate(queue + busy)}

    def order(n: int) -> tuple[int, int]:
        return (rank[files[n]], first[files[n]])

    items[:] = [items[n] for n in sorted(range(len(items)), key=order)]


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    name = f"todo_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI and did not answer at {ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}")
    yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test process's SQLite database (its PostgreSQL one: `postgres_url`)."""
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'todo.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(
        "sqlite_url" if request.param == "sqlite" else "postgres_url"
    )
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def server_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database for a server process of the test's own: a new SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/todo.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


# A session fixture with a parameter is made again each time the parameter changes, which
# under `make test` (whole files to each process, each file on both databases) is twice a
# file: the databases' settings are therefore kept here, each database migrated once
# per test process (a fresh SQLite migration costs about half a second).
@pytest.fixture(scope="session")
def _migrated() -> dict[str, Settings]:
    return {}


@pytest.fixture(scope="session")
def settings(
    database_url: str, _migrated: dict[str, Settings], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings for a migrated database (once per database per test process)."""
    if database_url not in _migrated:
        settings = make_settings(database_url, tmp_path_factory.mktemp("data"))
        asyncio.run(upgrade_to_head(settings))
        _migrated[database_url] = settings
    return _migrated[database_url]


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app of the database's settings, closed when the parameter changes (its pooled
    connections end with it)."""
    async with app_for(settings) as app:
        yield app


@pytest.fixture
def new_user_client(app: FastAPI, settings: Settings) -> Callable[..., httpx.AsyncClient]:
    """Makes clients, each signed in as a brand-new user unless a subject is given."""

    def make(subject: str | None = None, email: str | None = None) -> httpx.AsyncClient:
        return client_for(app, token_for(settings, subject, email))

    return make


@pytest.fixture
async def alice(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    async with new_user_client() as client:
        yield client


@pytest.fixture
async def bob(
    new_user_client: Callable[..., httpx.AsyncClient],
) -> AsyncIterator[httpx.AsyncClient]:
    async with new_user_client() as client:
        yield client


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
async def schema(anonymous: httpx.AsyncClient) -> dict[str, Any]:
    response = await anonymous.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
def box() -> Iterator[Mailbox]:
    """A local SMTP server catching the emails the test's apps send (their SMTP_URL: box.url)."""
    with mailbox() as box:
        yield box
