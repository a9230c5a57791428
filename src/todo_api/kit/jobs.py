"""Background work: jobs declared beside their domain, run by one runner in every process.

A domain declares its jobs in its own `scheduled.py`:

    schedule = Schedule()

    @schedule.job("housekeeping", every=lambda settings: settings.maintenance_interval_seconds)
    async def housekeeping(db: Database, settings: Settings) -> None: ...

and the app hands every domain's schedule to one `JobRunner`, which its lifespan starts and
cancels. Each job turns on its own interval, and on every turn:

- a singleton job is claimed first (its row of `job_runs`, with todo_api.kit.claims, for a
  lease as long as its interval, or its `limit` when longer): of every worker of every
  instance, at most one runs it per interval, on PostgreSQL (behind a pooler in transaction
  mode too) and on SQLite alike; a worker that dies holding it holds it until the lease is
  over, and one stopped mid-run gives it back as it stops. A run that outlasts its lease is
  cancelled, so that two runs never overlap. A run that ends within a longer lease gives back
  what its interval did not need, and a run that asks for an earlier turn (more work waits)
  gives the claim back whole.
- whatever the job raises is logged with its name (and a traceback, once a minute per kind of
  failure) and counted; the job runs again on its next turn.
- its last success and failure count, read from `job_runs` (the same for every worker), are
  kept for /metrics.

A job that works through a queue (webhook deliveries) can be woken before its interval is over:
`wake(name)` starts its next turn at once in every runner of this process (whoever wrote the
rows); other processes find them on their next turn. Such a job's turn may last `limit`
seconds rather than its interval (a short poll, a longer turn).

A library scheduler (APScheduler and the like) runs jobs per process; what a service with
several workers and instances needs here is the claim in its own database.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import bindparam, select, update

from todo_api.config import Settings
from todo_api.db import Database, Query, insert_or_ignore
from todo_api.kit.claims import claim_one, cut_back
from todo_api.kit.ids import utcnow
from todo_api.kit.throttle import TracebackThrottle
from todo_api.tables.jobs import job_runs

log = logging.getLogger("todo_api")

# A job may return how many seconds until it wants its next turn, when sooner than its
# interval (a scheduler sleeping until its next due time); None: its interval.
JobFunction = Callable[[Database, Settings], Awaitable[float | None]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: JobFunction
    # Seconds between two runs, from the settings.
    every: Callable[[Settings], float]
    # Once across every worker and instance (True), or in every process (False).
    singleton: bool = True
    # Seconds a turn may last (default: its interval): a singleton's that works through a
    # queue in batches, whose batch may take longer than its short poll.
    limit: Callable[[Settings], float] | None = None


class Schedule:
    """The jobs of one domain, declared with `@schedule.job(...)`."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def job(
        self,
        name: str,
        *,
        every: Callable[[Settings], float],
        singleton: bool = True,
        limit: Callable[[Settings], float] | None = None,
    ) -> Callable[[JobFunction], JobFunction]:
        def declare(function: JobFunction) -> JobFunction:
            self.jobs.append(Job(name, function, every, singleton, limit))
            return function

        return declare


# Per job name, how to start the next turn at once in each runner of this process.
_WAKERS: dict[str, set[Callable[[], None]]] = {}


def wake(name: str) -> None:
    """Start the next turn of the job `name` now, in every runner of this process that runs
    it (nothing when none does)."""
    for waker in _WAKERS.get(name, ()):
        waker()


@dataclass(frozen=True, slots=True)
class Figures:
    last_success_at: datetime | None
    failures: int


_FIGURES = (job_runs.c.last_success_at, job_runs.c.failures)
_READ = Query(select(*_FIGURES).where(job_runs.c.name == bindparam("name")))
_SUCCEEDED = Query(
    update(job_runs)
    .where(job_runs.c.name == bindparam("name"))
    .values(last_success_at=bindparam("now"))
    .returning(*_FIGURES)
)
_FAILED = Query(
    update(job_runs)
    .where(job_runs.c.name == bindparam("name"))
    .values(failures=job_runs.c.failures + 1)
    .returning(*_FIGURES)
)


class JobRunner:
    def __init__(self, db: Database, settings: Settings, jobs: Sequence[Job]) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"two jobs have the same name: {sorted(names)}")
        self._db = db
        self._jobs = list(jobs)
        self._settings = settings
        self._intervals = {job.name: timedelta(seconds=job.every(settings)) for job in jobs}
        self._tracebacks = TracebackThrottle()
        # The jobs whose row of job_runs this runner has made sure of.
        self._recorded: set[str] = set()
        # What /metrics shows: each job's figures as last read from job_runs.
        self.figures: dict[str, Figures] = {job.name: Figures(None, 0) for job in jobs}

    async def run(self) -> None:
        """Every job on its own interval, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for job in self._jobs:
                group.create_task(self._every_interval(job), name=f"job {job.name}")

    async def _every_interval(self, job: Job) -> None:
        woken = asyncio.Event()
        wakers = _WAKERS.setdefault(job.name, set())
        wakers.add(woken.set)
        try:
            while True:
                woken.clear()
                sooner = await self.turn(job)
                wait = self._intervals[job.name].total_seconds()
                if sooner is not None:
                    wait = max(0.0, min(wait, sooner))
                # asyncio.timeout, not wait_for: Python 3.11's wait_for loses a cancellation
                # that arrives as the event is set, and the job would run on after its stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await woken.wait()
        finally:
            wakers.discard(woken.set)

    async def turn(self, job: Job) -> float | None:
        """Claim `job` (a singleton), run it and record how it went; returns the seconds the
        job asked to wait before its next turn (None: its interval). Raises nothing but
        cancellation: a failure is logged, counted, and tried again on the next turn."""
        interval = self._intervals[job.name]
        turn = timedelta(seconds=job.limit(self._settings)) if job.limit else interval
        taken = None
        try:
            if job.name not in self._recorded:  # its row, once per runner
                async with self._db.connection() as conn:
                    await conn.execute(insert_or_ignore(conn, job_runs).values(name=job.name))
                self._recorded.add(job.name)
            if job.singleton:
                lease = max(turn, interval)
                taken = await claim_one(self._db, job_runs, job.name, lease)
                if not taken.rows:  # another worker runs it this interval (or its row is gone)
                    self._recorded.discard(job.name)
                    await self._note(job, _READ, {"name": job.name})
                    return None
                ends = taken.until
                # What the claim is cut back to when the run ends: the interval from its start.
                interval_over = ends - lease + interval
            else:
                ends = utcnow() + turn
        except Exception as exc:
            self._log_failure(job, "could not be claimed", exc)
            return None
        limit = asyncio.timeout((ends - utcnow()).total_seconds())
        params: dict[str, object] = {"name": job.name}
        sooner = None
        try:
            async with limit:
                sooner = await job.run(self._db, self._settings)
        except asyncio.CancelledError:
            # Stopped mid-run (a restart, a deploy): the claim goes back now, so that another
            # worker need not wait out the lease; the run has ended, so no two overlap.
            if taken is not None:
                with contextlib.suppress(Exception):
                    await cut_back(self._db, job_runs, taken, job.name, utcnow())
            raise
        except Exception as exc:
            what = "outlasted its turn and was cancelled" if limit.expired() else "failed"
            self._log_failure(job, f"{what}; it runs again on its next turn", exc)
            outcome = _FAILED
        else:
            log.debug("job %s ran; its turn ends at %s", job.name, ends.isoformat())
            outcome, params["now"] = _SUCCEEDED, utcnow()
        try:
            await self._note(job, outcome, params)
            if taken is not None and (sooner is not None or ends > interval_over):
                until = utcnow() if sooner is not None else interval_over
                await cut_back(self._db, job_runs, taken, job.name, until)
        except Exception as exc:
            self._log_failure(job, "ran, but its outcome could not be recorded", exc)
        return sooner

    async def _note(self, job: Job, query: Query, params: dict[str, object]) -> None:
        async with self._db.connection() as conn:
            row = (await conn.execute(query, params)).first()
        if row is not None:
            self.figures[job.name] = Figures(row.last_success_at, row.failures)

    def _log_failure(self, job: Job, what: str, exc: Exception) -> None:
        self._tracebacks.log(
            log, logging.ERROR, exc, "job %s %s: %s", job.name, what, scope=job.name
        )

    def collector(self) -> Collector:
        return _JobFigures(self)


class _JobFigures(Collector):
    """Each job's last success and failures, for /metrics. Read from the shared table, they
    are the same in every worker: aggregate them with max, not sum."""

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner

    def collect(self) -> Iterator[Metric]:
        last_success = GaugeMetricFamily(
            "todo_job_last_success_timestamp_seconds",
            "When the job last succeeded, in Unix seconds (0: not yet)",
            labels=["job"],
        )
        failures = CounterMetricFamily(
            "todo_job_failures", "Runs of the job that failed", labels=["job"]
        )
        for name, figures in self._runner.figures.items():
            at = figures.last_success_at
            last_success.add_metric([name], at.timestamp() if at else 0.0)
            failures.add_metric([name], figures.failures)
        yield last_success
        yield failures
