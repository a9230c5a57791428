"""Upgrades without downtime, measured: the longest any read or write of `tasks`, `lists` or
`users` waits while `todo-api migrate` brings a large database to the head.

Seeds a throw-away PostgreSQL database at `--from` (by default the revision before the first
migration after 0021, the last one written before the online rules; with none after it, 0020,
to measure 0021 as the "before") with `--tasks` tasks (1 000 000, with tags) over `--users`
users, a member of 20 shared lists among them (the seed of `list_scale.py`). Then one
connection per kind of statement runs that statement again and again, as the previous release
serves (a page of a user's tasks, a task created with tags, a task completed and reopened, a
tag's total, lists read and renamed, a user read and changed), while the real command
`todo-api migrate` runs. Reports, per kind, the longest wait before and during the migration.
The contract: at most 1 s for every migration after 0021.

    .venv/bin/python bench/online_migrations.py                 # ~5 min: seed, then migrate
    .venv/bin/python bench/online_migrations.py --tasks 300000 --from 0020

Everything targets 127.0.0.1; the database is dropped at the end (unless `--keep`).
"""

import argparse
import asyncio
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory
from benchlib import (
    MEMBER_USER,
    TODO_API,
    db_url,
    exit_cleanly_on_sigterm,
    log,
    machine_summary,
    new_secret,
    scratch_database,
    seed,
    service_env,
    source_summary,
    work_dir,
)
from sqlalchemy import Connection

from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.migrations import alembic_config, head_revision, online

PROBE_USER = uuid.UUID("00000000-0000-4000-8000-000000005000")  # 5 000 tasks
CONTRACT_SECONDS = 1.0

Statement = Callable[[asyncpg.Connection, int], Awaitable[Any]]


def default_from() -> str:
    script = ScriptDirectory.from_config(alembic_config())
    after = list(script.iterate_revisions("heads", online.LAST_BEFORE_RULES))
    if not after:
        down = script.get_revision(online.LAST_BEFORE_RULES).down_revision
        assert isinstance(down, str)
        return down
    down = after[-1].down_revision
    assert isinstance(down, str)
    return down


def _upgrade(conn: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


async def migrate_to(database: str, revision: str) -> None:
    settings = Settings(_env_file=None, database_url=db_url(database), jwt_secret="x" * 48)  # type: ignore[call-arg]
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


async def _fixtures(conn: asyncpg.Connection) -> dict[str, Any]:
    task_ids = [
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM tasks WHERE user_id = $1 AND tags <> '[]' LIMIT 200", PROBE_USER
        )
    ]
    list_ids = [
        r["list_id"]
        for r in await conn.fetch(
            "SELECT list_id FROM list_members WHERE user_id = $1", uuid.UUID(MEMBER_USER)
        )
    ]
    return {"tasks": task_ids, "lists": list_ids}


def statements(fixtures: dict[str, Any]) -> dict[str, Statement]:
    """What the previous release runs, one kind per connection."""
    tasks, lists, member = fixtures["tasks"], fixtures["lists"], uuid.UUID(MEMBER_USER)

    async def read_tasks(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.fetch(
            "SELECT * FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 50",
            PROBE_USER,
        )

    async def create_task(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.execute(
            "INSERT INTO tasks (id, user_id, created_by, title, title_key, tags, created_at, "
            "updated_at) VALUES ($1, $2, $2, 'Probe', 'probe', '[\"work\", \"home\"]', now(), "
            "now())",
            uuid.uuid4(),
            PROBE_USER,
        )

    async def complete_task(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.execute(
            "UPDATE tasks SET is_completed = NOT is_completed, completed_at = CASE WHEN "
            "is_completed THEN NULL ELSE now() END, version = version + 1, updated_at = now() "
            "WHERE id = $1",
            tasks[i % len(tasks)],
        )

    async def count_tag(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.fetchval(
            "SELECT count(*) FROM task_tags WHERE user_id = $1 AND tag = 'work'", PROBE_USER
        )

    async def read_lists(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.fetch(
            "SELECT l.* FROM lists l JOIN list_members m ON m.list_id = l.id "
            "WHERE m.user_id = $1 ORDER BY m.position",
            member,
        )

    async def rename_list(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.execute(
            "UPDATE lists SET color = $2, version = version + 1, updated_at = now() WHERE id = $1",
            lists[i % len(lists)],
            f"#{i % 1000:06d}",
        )

    async def read_user(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.fetchrow("SELECT * FROM users WHERE id = $1", member)

    async def change_user(conn: asyncpg.Connection, i: int) -> Any:
        return await conn.execute(
            "UPDATE users SET name = $2, updated_at = now() WHERE id = $1", member, f"M {i}"
        )

    return {
        "tasks: read a page": read_tasks,
        "tasks: create (tags)": create_task,
        "tasks: complete/reopen": complete_task,
        "task_tags: count a tag": count_tag,
        "lists: read a member's": read_lists,
        "lists: change": rename_list,
        "users: read": read_user,
        "users: change": change_user,
    }


async def run_kind(
    database: str, statement: Statement, stop: asyncio.Event, waits: list[tuple[float, float]]
) -> None:
    """Run `statement` until `stop`, recording (start, seconds) of each run."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        await conn.execute("SET statement_timeout = '300s'")
        i = 0
        while not stop.is_set():
            started = time.monotonic()
            await statement(conn, i)
            waits.append((started, time.monotonic() - started))
            i += 1
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


async def migrate_with_cli(database: str, cwd: Path) -> tuple[float, float, str]:
    env = service_env(database, new_secret(), LOG_LEVEL="INFO")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        TODO_API,
        "migrate",
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    ended = time.monotonic()
    if process.returncode != 0:
        raise RuntimeError(f"todo-api migrate failed:\n{output.decode()}")
    return started, ended, output.decode()


async def measure(database: str, start: str, tasks: int, users: int, cwd: Path) -> dict[str, Any]:
    log(f"migrating to {start} and seeding {tasks} tasks over {users} users")
    await migrate_to(database, start)
    started = time.monotonic()
    specials = {str(PROBE_USER): 5000, MEMBER_USER: 1000}
    await seed(database, tasks - 6000, users, specials, shared_with=MEMBER_USER)
    seeded = time.monotonic() - started
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        fixtures = await _fixtures(conn)
    finally:
        await conn.close()

    stop = asyncio.Event()
    kinds = statements(fixtures)
    waits: dict[str, list[tuple[float, float]]] = {kind: [] for kind in kinds}
    runners = [
        asyncio.create_task(run_kind(database, statement, stop, waits[kind]))
        for kind, statement in kinds.items()
    ]
    await asyncio.sleep(5)  # before: the same statements on the old schema
    log(f"todo-api migrate: {start} -> {head_revision()}")
    began, ended, output = await migrate_with_cli(database, cwd)
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*runners)

    def longest(samples: list[tuple[float, float]], during: bool) -> tuple[float, int]:
        # A statement is "during" when it started before the migration ended and ended after
        # it began.
        chosen = [
            seconds
            for at, seconds in samples
            if (at < ended and at + seconds > began) == during and (during or at < began)
        ]
        return (max(chosen) if chosen else 0.0), len(chosen)

    report = {}
    for kind, samples in waits.items():
        before, _ = longest(samples, during=False)
        during, count = longest(samples, during=True)
        median = statistics.median(s for _, s in samples) if samples else 0.0
        report[kind] = {"before": before, "during": during, "count": count, "median": median}
    return {
        "seed_seconds": seeded,
        "migrate_seconds": ended - began,
        "kinds": report,
        "output": output,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default=default_from())
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    with scratch_database("bench_online", keep=args.keep) as database, work_dir() as cwd:
        result = asyncio.run(measure(database, args.start, args.tasks, args.users, cwd))
    print(source_summary())
    print(machine_summary())
    print(f"{args.tasks} tasks, seeded in {result['seed_seconds']:.0f} s")
    print(f"todo-api migrate {args.start} -> {head_revision()}: {result['migrate_seconds']:.1f} s")
    for line in result["output"].splitlines():
        if "WARNING" in line or "migration" in line:
            print(f"  | {line}")
    print(f"{'statement':28} {'median':>8} {'before':>8} {'during':>8} {'runs during':>12}")
    worst = 0.0
    for kind, row in result["kinds"].items():
        worst = max(worst, row["during"])
        print(
            f"{kind:28} {row['median'] * 1000:7.1f}ms {row['before'] * 1000:7.0f}ms "
            f"{row['during'] * 1000:7.0f}ms {row['count']:12d}"
        )
    verdict = "holds" if worst <= CONTRACT_SECONDS else "BROKEN"
    print(f"longest wait during the migration: {worst * 1000:.0f} ms (contract <= 1 s: {verdict})")


if __name__ == "__main__":
    main()
