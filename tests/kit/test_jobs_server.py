"""Two `todo-api serve` processes on one database (PostgreSQL, and one SQLite file) share the
background jobs: each singleton job runs in one of them per interval, /metrics of either shows
every job's figures, and SIGTERM stops both without a traceback."""

import asyncio
import re
import signal
import subprocess
import time
from contextlib import suppress
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import httpx
from sqlalchemy import delete

from tests.helpers_server import STOP_TIMEOUT, Server, clean_env, start_server
from tests.kit.helpers import FAILURES, LAST_SUCCESS, job_figures
from tests.support import TEST_SECRET
from tests.tasks.feed_helpers import database
from todo_api.app import SCHEDULED_JOBS
from todo_api.config import Settings
from todo_api.tables.jobs import job_runs

# MAINTENANCE_INTERVAL_SECONDS: the housekeeping jobs' interval, also a run's lease (room for a
# slow run on a loaded machine)
INTERVAL = 4
RUNS = 3  # runs of each job to see before judging
WAIT = 60.0
SQLITE_BUSY_SECONDS = 10  # db/engine.py's busy_timeout
# What the runner logs (at DEBUG) after each run: when the run's turn, claimed for one
# interval, ends.
RAN = re.compile(r"job (\S+) ran; its turn ends at (\S+)")
# The singleton jobs (the webhooks' sender runs in every process, on its own short poll).
JOBS = sorted(job.name for job in SCHEDULED_JOBS if job.singleton)


async def forget_the_jobs(settings: Settings) -> None:
    """A fresh start: earlier tests on this database may hold a job's turn for its interval."""
    async with database(settings) as db, db.connection() as conn:
        await conn.execute(delete(job_runs))


def turn_ends(servers: list[Server]) -> dict[str, list[datetime]]:
    """Each job's runs in either server, by the end of the turn each was claimed for."""
    ends: dict[str, list[datetime]] = {name: [] for name in JOBS}
    for server in servers:
        for name, end in RAN.findall(server.log()):
            if name in ends:
                ends[name].append(datetime.fromisoformat(end))
    return {name: sorted(times) for name, times in ends.items()}


def test_two_servers_run_each_singleton_job_once_per_interval(
    settings: Settings, tmp_path: Path
) -> None:
    asyncio.run(forget_the_jobs(settings))
    env = clean_env(
        DATABASE_URL=str(settings.database_url),
        JWT_SECRET=TEST_SECRET,
        MAINTENANCE_INTERVAL_SECONDS=str(INTERVAL),
        NOTIFICATION_POLL_SECONDS=str(INTERVAL),  # the one singleton job on its own poll
        LOG_LEVEL="DEBUG",
    )
    started = time.time()
    servers: list[Server] = []
    try:
        for n in (1, 2):
            folder = tmp_path / f"server-{n}"
            folder.mkdir()
            servers.append(start_server(folder, env, folder / "server.log"))
        deadline = time.monotonic() + WAIT
        while min(len(times) for times in turn_ends(servers).values()) < RUNS:
            assert time.monotonic() < deadline, [server.log() for server in servers]
            time.sleep(0.2)
        pages = [httpx.get(f"{server.url}/metrics", timeout=10).text for server in servers]
    finally:
        # Both told at once, and given SQLite's busy timeout more: on one SQLite file, a job
        # cancelled at shutdown may first wait for the other server's write lock (up to
        # SQLITE_BUSY_SECONDS) before its transaction is rolled back.
        for server in servers:
            with suppress(ProcessLookupError):
                server.process.send_signal(signal.SIGTERM)
        for server in servers:  # once: a second SIGTERM makes uvicorn exit at once
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=STOP_TIMEOUT + SQLITE_BUSY_SECONDS)
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()

    for server in servers:
        assert server.process.returncode == 0, server.log()
        assert "Traceback" not in server.log()
    for name, ends in turn_ends(servers).items():
        # A run's turn starts where the previous one's ended, at the earliest.
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(ends)]
        assert min(gaps) >= INTERVAL, (name, gaps)
    for page in pages:  # the same figures in either server, from the shared table
        figures = job_figures(page)
        for name in JOBS:
            assert figures[LAST_SUCCESS][name] >= started
            assert figures[FAILURES][name] == 0
