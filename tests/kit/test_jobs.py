"""Background jobs in one process, on both databases: a job that raises runs again on its next
turn, its failures are counted and shown in /metrics, a run that outlasts its turn is cancelled,
shutdown cancels a job under way without a traceback, and a singleton job runs in one worker of
two. (Two real servers sharing the work: test_jobs_server.py.)"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.kit.helpers import FAILURES, LAST_SUCCESS, job_figures
from tests.support import captured_logs, client_for, make_settings
from tests.tasks.feed_helpers import database
from todo_api.app import create_app
from todo_api.config import Settings
from todo_api.db import Database, Row
from todo_api.kit import jobs
from todo_api.kit.jobs import Job, JobRunner
from todo_api.tables.jobs import job_runs

TURN = 0.3  # seconds between two runs of a test's job
WAIT = 15.0  # the most a test waits for the runs it expects


def job_name() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"


def every_turn(_settings: Settings) -> float:
    return TURN


async def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the jobs did not run as expected in time"
        await asyncio.sleep(0.02)


async def job_row(settings: Settings, name: str) -> Row | None:
    async with database(settings) as db, db.connection() as conn:
        return (await conn.execute(select(job_runs).where(job_runs.c.name == name))).first()


def errors_about(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and name in record.getMessage()
    ]


async def test_a_job_that_raises_runs_again_and_its_failures_are_counted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    runs = 0

    async def fails_twice(_db: Database, _settings: Settings) -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise ValueError("the job went wrong")

    name = job_name()
    started = time.time()
    app = create_app(settings, jobs=[Job(name, fails_twice, every=every_turn)])
    with captured_logs(caplog):
        async with app.router.lifespan_context(app), client_for(app) as client:
            await wait_until(lambda: runs >= 4)
            response = await client.get("/metrics")

    assert response.status_code == 200
    figures = job_figures(response.text)
    assert figures[FAILURES][name] == 2
    assert figures[LAST_SUCCESS][name] >= started
    row = await job_row(settings, name)
    assert row is not None
    assert row.failures == 2
    assert row.last_success_at is not None  # (runs went on after /metrics was read)
    assert row.last_success_at.timestamp() >= figures[LAST_SUCCESS][name]
    # Each failure is logged with the job's name; the same failure's traceback once a minute.
    first, second = errors_about(caplog, name)
    assert "ValueError: the job went wrong" in first.getMessage()
    assert first.exc_info is not None
    assert "ValueError: the job went wrong" in second.getMessage()
    assert second.exc_info is None


async def test_a_run_that_outlasts_its_turn_is_cancelled_and_counted(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    cancelled = 0

    async def hangs(_db: Database, _settings: Settings) -> None:
        nonlocal cancelled
        try:
            await asyncio.sleep(WAIT * 2)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    name = job_name()
    app = create_app(settings, jobs=[Job(name, hangs, every=every_turn)])
    with captured_logs(caplog):
        async with app.router.lifespan_context(app):
            await wait_until(lambda: cancelled >= 2 and len(errors_about(caplog, name)) >= 2)
        row = await job_row(settings, name)

    assert row is not None
    assert row.failures >= 2
    assert row.last_success_at is None
    assert "outlasted its turn" in errors_about(caplog, name)[0].getMessage()


async def test_shutdown_cancels_a_job_under_way_without_a_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    began = asyncio.Event()
    ended: list[str] = []

    async def long_job(_db: Database, _settings: Settings) -> None:
        began.set()
        try:
            await asyncio.sleep(WAIT * 2)
        except asyncio.CancelledError:
            ended.append("cancelled")
            raise

    name = job_name()
    app = create_app(settings, jobs=[Job(name, long_job, every=lambda _settings: 3600)])
    with captured_logs(caplog):
        async with asyncio.timeout(WAIT), app.router.lifespan_context(app):
            await asyncio.wait_for(began.wait(), WAIT)

    assert ended == ["cancelled"]  # before the lifespan closed the database
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    row = await job_row(settings, name)
    assert row is not None
    assert (row.failures, row.last_success_at) == (0, None)


async def test_a_worker_stopped_during_a_run_gives_its_claim_back(settings: Settings) -> None:
    """A process stopped in the middle of a singleton's run (a restart, a deploy) gives the
    claim back: the next worker runs it at once rather than after the lease (its limit)."""
    began = asyncio.Event()
    runs = 0

    async def long_job(_db: Database, _settings: Settings) -> None:
        nonlocal runs
        runs += 1
        began.set()
        await asyncio.sleep(WAIT * 2)

    job = Job(job_name(), long_job, every=lambda _settings: 3600, limit=lambda _s: 3600)
    async with database(settings) as first, database(settings) as second:
        stopped = asyncio.create_task(JobRunner(first, settings, [job]).turn(job))
        await asyncio.wait_for(began.wait(), WAIT)
        stopped.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopped
        began.clear()
        again = asyncio.create_task(JobRunner(second, settings, [job]).turn(job))
        try:
            await asyncio.wait_for(began.wait(), WAIT)
        finally:
            again.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await again
    assert runs == 2


async def test_a_runner_stopped_as_its_job_is_woken_stops(settings: Settings) -> None:
    """A stop that comes as the job is woken (webhook deliveries wake theirs all the time)
    still stops it: the wait between turns keeps the cancellation."""
    name = job_name()
    turns = 0

    async def quick_job(_db: Database, _settings: Settings) -> None:
        nonlocal turns
        turns += 1

    async with database(settings) as db:
        runner = JobRunner(db, settings, [Job(name, quick_job, every=lambda _settings: 3600)])
        task = asyncio.create_task(runner.run())
        await wait_until(lambda: turns == 1)
        await asyncio.sleep(0.1)  # waiting for its next turn
        jobs.wake(name)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=WAIT)
        if not done:
            task.cancel()
        assert done, "the runner went on after it was stopped"
        assert task.cancelled()


async def test_a_singleton_job_runs_in_one_worker_of_two_and_a_per_process_job_in_both(
    settings: Settings,
) -> None:
    runs: dict[str, int] = {}

    def counted(name: str) -> Job:
        async def run(_db: Database, _settings: Settings) -> None:
            runs[name] = runs.get(name, 0) + 1

        return Job(name, run, every=lambda _settings: 3600, singleton=name.endswith("once"))

    once, everywhere = counted(f"{job_name()}.once"), counted(f"{job_name()}.everywhere")
    async with database(settings) as first, database(settings) as second:
        workers = [JobRunner(db, settings, [once, everywhere]) for db in (first, second)]
        for _ in range(2):  # the second turn comes before the interval is over
            await asyncio.gather(
                *(worker.turn(job) for worker in workers for job in (once, everywhere))
            )

    assert runs == {once.name: 1, everywhere.name: 4}


async def test_a_job_whose_database_is_unreachable_waits_for_its_next_turn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings("postgresql://postgres@127.0.0.1:1/todo", tmp_path)
    runs = 0

    async def never(_db: Database, _settings: Settings) -> None:
        nonlocal runs
        runs += 1

    job = Job(job_name(), never, every=every_turn)
    db = Database(settings)
    try:
        with captured_logs(caplog):
            await JobRunner(db, settings, [job]).turn(job)
    finally:
        await db.close()

    assert runs == 0
    (error,) = errors_about(caplog, job.name)
    assert "could not be claimed" in error.getMessage()


async def test_a_singleton_job_may_outlast_its_interval_within_its_limit_and_hold_no_longer(
    settings: Settings,
) -> None:
    runs: dict[str, int] = {"slow": 0, "quick": 0}

    async def slow(_db: Database, _settings: Settings) -> float | None:
        runs["slow"] += 1
        await asyncio.sleep(TURN * 2)  # longer than its interval
        return 0.0 if runs["slow"] == 1 else None  # after the first run, more work waits

    async def quick(_db: Database, _settings: Settings) -> None:
        runs["quick"] += 1

    def limited(name: str, run: jobs.JobFunction) -> Job:
        return Job(name, run, every=every_turn, limit=lambda _settings: TURN * 20)

    slow_job, quick_job = limited(job_name(), slow), limited(job_name(), quick)
    async with database(settings) as first, database(settings) as second:
        a, b = (JobRunner(db, settings, [slow_job, quick_job]) for db in (first, second))
        # Both workers take a turn at once: one runs it past its interval, uncancelled, and
        # the other finds it held all along.
        asked = await asyncio.gather(a.turn(slow_job), b.turn(slow_job))
        assert runs["slow"] == 1
        assert sorted(asked, key=lambda x: x is None) == [0.0, None]
        # It asked for an earlier turn: the claim ended with the run, and the next turn runs.
        assert await b.turn(slow_job) is None
        assert runs["slow"] == 2

        # A run that ends early holds the claim for the rest of its interval, not its limit.
        await a.turn(quick_job)
        await b.turn(quick_job)
        assert runs["quick"] == 1
        await asyncio.sleep(TURN)
        await b.turn(quick_job)
        assert runs["quick"] == 2
    for name in (slow_job.name, quick_job.name):
        row = await job_row(settings, name)
        assert row is not None
        assert row.failures == 0
