"""Migration 0015 (time zones) on a large tasks table: how long it takes, which lock it takes on
`tasks` and for how long, and what a request running meanwhile waits.

Seeds a throw-away PostgreSQL database at migration 0013 with `--tasks` tasks (1 000 000) over
`--users` users (the seed of `list_scale.py`), then runs the upgrade to 0015 while a probe keeps
reading and writing one user's tasks (a page by due date, then an UPDATE of one task, as the
service does) and a sampler watches `pg_locks` for the locks held on `tasks`. Reports the
upgrade's wall time, the longest lock seen and its mode, the probe's slowest round before and
during the upgrade, and whether the table was rewritten (its `relfilenode` changes if it is).

    .venv/bin/python bench/migration_0015.py            # ~3 min: seed, then the migration
    .venv/bin/python bench/migration_0015.py --tasks 100000

Everything targets 127.0.0.1; the database is dropped at the end (unless `--keep`).
"""

import argparse
import asyncio
import time
import uuid
from typing import Any

import asyncpg
from alembic import command
from benchlib import db_url, exit_cleanly_on_sigterm, log, scratch_database, seed
from sqlalchemy import Connection

from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.migrations import alembic_config

PROBE_USER = str(uuid.UUID(int=15))
PROBE_PAGE = (
    "SELECT id FROM tasks WHERE user_id = $1 ORDER BY due_at, id LIMIT 50"  # the due_at index
)
PROBE_WRITE = "UPDATE tasks SET priority = (priority + 1) % 4 WHERE id = $1"
LOCKS = """
SELECT l.mode, l.granted, a.query
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.relation = 'tasks'::regclass AND l.pid <> pg_backend_pid()
  AND l.mode = 'AccessExclusiveLock'
"""


def _upgrade(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


async def migrate_to(database: str, revision: str) -> float:
    """Run the migrations up to `revision`, as `todo-api migrate` does; the seconds it took."""
    settings = Settings(_env_file=None, database_url=db_url(database), jwt_secret="x" * 48)  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        started = time.monotonic()
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
        return time.monotonic() - started
    finally:
        await engine.dispose()


async def probe(database: str, stop: asyncio.Event, rounds: list[float]) -> None:
    """Read a page and write one task of a user, again and again, timing each round."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        await conn.execute("SET statement_timeout = '60s'")
        task_ids = [r["id"] for r in await conn.fetch(PROBE_PAGE, uuid.UUID(PROBE_USER))]
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            await conn.fetch(PROBE_PAGE, uuid.UUID(PROBE_USER))
            await conn.execute(PROBE_WRITE, task_ids[i % len(task_ids)])
            rounds.append(time.monotonic() - started)
            i += 1
            await asyncio.sleep(0.002)
    finally:
        await conn.close()


async def watch_locks(database: str, stop: asyncio.Event, seen: list[tuple[float, str]]) -> None:
    """Every millisecond or so, whether someone holds (or waits for) an ACCESS EXCLUSIVE lock
    on tasks."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        while not stop.is_set():
            for row in await conn.fetch(LOCKS):
                state = "held" if row["granted"] else "waited for"
                seen.append((time.monotonic(), f"{row['mode']} {state}"))
            await asyncio.sleep(0.001)
    finally:
        await conn.close()


async def relfilenode(database: str) -> int:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        node: int = await conn.fetchval("SELECT relfilenode FROM pg_class WHERE relname = 'tasks'")
        return node
    finally:
        await conn.close()


def _spans(seen: list[tuple[float, str]]) -> dict[str, float]:
    """The longest run of samples of each kind, in seconds (samples ~1 ms apart or more)."""
    longest: dict[str, float] = {}
    start: dict[str, float] = {}
    last: dict[str, float] = {}
    for at, kind in seen:
        if kind not in last or at - last[kind] > 0.05:
            start[kind] = at
        last[kind] = at
        longest[kind] = max(longest.get(kind, 0.0), at - start[kind])
    return longest


async def measure(database: str, tasks: int, users: int) -> dict[str, Any]:
    log(f"migrating to 0013 and seeding {tasks} tasks over {users} users")
    await migrate_to(database, "0013")
    await seed(database, tasks - 1000, users, {PROBE_USER: 1000})
    before_node = await relfilenode(database)

    stop, baseline = asyncio.Event(), list[float]()
    runner = asyncio.create_task(probe(database, stop, baseline))
    await asyncio.sleep(5)
    stop.set()
    await runner

    stop, during, locks = asyncio.Event(), list[float](), list[tuple[float, str]]()
    runners = [
        asyncio.create_task(probe(database, stop, during)),
        asyncio.create_task(watch_locks(database, stop, locks)),
    ]
    await asyncio.sleep(1)
    mark = len(during)
    log("upgrading to 0015")
    seconds = await migrate_to(database, "0015")
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*runners)
    return {
        "tasks": tasks,
        "upgrade_seconds": seconds,
        "rewritten": await relfilenode(database) != before_node,
        "locks": _spans(locks),
        "lock_samples": len(locks),
        "probe_baseline_max_ms": 1000 * max(baseline),
        "probe_baseline_median_ms": 1000 * sorted(baseline)[len(baseline) // 2],
        "probe_during_max_ms": 1000 * max(during[mark:] or [0.0]),
        "probe_rounds_during": len(during) - mark,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    with scratch_database("bench_mig", keep=args.keep) as database:
        result = asyncio.run(measure(database, args.tasks, args.users))
    print(f"tasks: {result['tasks']}")
    print(f"upgrade 0013 -> 0015: {result['upgrade_seconds'] * 1000:.0f} ms (whole transaction)")
    print(f"table rewritten: {'yes' if result['rewritten'] else 'no'}")
    for kind, span in result["locks"].items():
        print(f"{kind} on tasks: seen for {span * 1000:.0f} ms at most")
    if not result["locks"]:
        print("no ACCESS EXCLUSIVE lock on tasks was seen by the sampler (shorter than ~1 ms)")
    print(
        f"probe (page + UPDATE) before: median {result['probe_baseline_median_ms']:.1f} ms, "
        f"slowest {result['probe_baseline_max_ms']:.1f} ms; during the upgrade: slowest "
        f"{result['probe_during_max_ms']:.1f} ms over {result['probe_rounds_during']} rounds"
    )


if __name__ == "__main__":
    main()
