"""Upgrades without downtime, measured: the longest any read or write of `tasks`, `lists` or
`users` waits while `todo-api migrate` brings a large database to the head, and while the
backfills the migrations declare run (the service's job, kit/backfills.py).

Seeds a throw-away PostgreSQL database at `--from` (by default the revision before the first
migration after 0021, the last one written before the online rules; with none after it, 0020,
to measure 0021 as the "before") with `--tasks` tasks (1 000 000, with tags) over `--users`
users, a member of 20 shared lists among them (the seed of `list_scale.py`). Then one
connection per kind of statement runs that statement again and again, as the previous release
serves (a page of a user's tasks, a task created with tags, a task completed and reopened, a
tag's total, lists read and changed, a user read and changed), while the real command
`todo-api migrate` runs, then the declared backfills (for `--backfill-seconds` at most).
Reports, per kind, the longest wait before, during the migration and during the backfills;
then, per migration (from the moments `alembic_version` is seen to change, polled every 10 ms),
how long it ran and the longest wait of any kind while it did. The contract: at most 1 s for
every migration after 0021.

`--versions DIR` adds a folder of migrations beside the package's: `bench/online_example` holds
one written by the rules (a column, a constraint, an index and a backfill on tasks).

    .venv/bin/python bench/online_migrations.py                 # ~5 min: seed, then migrate
    .venv/bin/python bench/online_migrations.py --versions bench/online_example
    .venv/bin/python bench/online_migrations.py --tasks 300000 --from 0020

Everything targets 127.0.0.1; the database is dropped at the end (unless `--keep`).
"""

import argparse
import asyncio
import statistics
import subprocess
import sys
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
from todo_api.migrations import alembic_config, online

PROBE_USER = uuid.UUID("00000000-0000-4000-8000-000000005000")  # 5 000 tasks
CONTRACT_SECONDS = 1.0

Statement = Callable[[asyncpg.Connection, int], Awaitable[Any]]


def default_from(versions: Path | None) -> str:
    script = ScriptDirectory.from_config(alembic_config(versions))
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
            for attempt in range(1, 4):
                try:
                    await statement(conn, i)
                    break
                except asyncpg.InvalidCachedStatementError:
                    # `SELECT *` once a migration gave the table a column (the service names
                    # its columns): prepared again, the time it took counted in the wait.
                    if attempt == 3:
                        raise
            waits.append((started, time.monotonic() - started))
            i += 1
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


async def watch_versions(
    database: str, stop: asyncio.Event, seen: list[tuple[float, str | None]]
) -> None:
    """Until `stop`: (when, revision) each time the committed revision changes, as seen by a
    poll every 10 ms (one short statement in autocommit each, holding no snapshot between)."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        while not stop.is_set():
            revision = await conn.fetchval("SELECT version_num FROM alembic_version")
            if not seen or seen[-1][1] != revision:
                seen.append((time.monotonic(), revision))
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


# `todo-api migrate` with a folder of migrations beside the package's, in a process of its own.
WITH_VERSIONS = """
import asyncio, sys
from pathlib import Path
from todo_api.config import load_settings
from todo_api.migrations import upgrade_to_head
asyncio.run(upgrade_to_head(load_settings(), directory=Path(sys.argv[1])))
"""
# What the service's backfill job does (kit/backfills.py) with the backfills the migrations
# declare, the package's and the folder's, in a process of its own.
BACKFILLS = """
import asyncio, sys, time
from pathlib import Path
from alembic.script import ScriptDirectory
from todo_api.config import load_settings
from todo_api.db import Database
from todo_api.kit.backfills import work_through
from todo_api.migrations import alembic_config

async def main():
    seconds = float(sys.argv[1])
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    script = ScriptDirectory.from_config(alembic_config(folder))
    revisions = reversed(list(script.walk_revisions()))
    declared = [w for rev in revisions for w in getattr(rev.module, "BACKFILLS", ())]
    db = Database(load_settings())
    try:
        left = await work_through(db, declared, time.monotonic() + seconds)
    finally:
        await db.close()
    print(f"backfills: {len(declared)}, " + ("stopped with rows left" if left else "done"))

asyncio.run(main())
"""


async def run_phase(
    database: str, cwd: Path, versions: Path | None, backfills: float | None
) -> tuple[float, float, str]:
    """`todo-api migrate` (or the backfill job's work), timed."""
    env = service_env(database, new_secret(), LOG_LEVEL="INFO")
    folder = [] if versions is None else [str(versions)]  # absolute (main)
    if backfills is not None:
        command = [sys.executable, "-c", BACKFILLS, str(backfills), *folder]
    elif versions is not None:
        command = [sys.executable, "-c", WITH_VERSIONS, *folder]
    else:
        command = [TODO_API, "migrate"]
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    ended = time.monotonic()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:2]} failed:\n{output.decode()}")
    return started, ended, output.decode()


async def measure(
    database: str,
    start: str,
    tasks: int,
    users: int,
    cwd: Path,
    versions: Path | None,
    backfill_seconds: float,
) -> dict[str, Any]:
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
    log(f"todo-api migrate from {start}")
    revisions: list[tuple[float, str | None]] = []
    migrated = asyncio.Event()
    watcher = asyncio.create_task(watch_versions(database, migrated, revisions))
    windows = {"migrate": await run_phase(database, cwd, versions, backfills=None)}
    await asyncio.sleep(0.05)  # the last commit seen
    migrated.set()
    await watcher
    log("the declared backfills, as the service's job does them")
    windows["backfills"] = await run_phase(database, cwd, versions, backfills=backfill_seconds)
    await asyncio.sleep(2)
    stop.set()
    await asyncio.gather(*runners)

    def longest(samples: list[tuple[float, float]], began: float, ended: float) -> float:
        # The statements that overlap the window, started before it ended, ended after it began.
        chosen = [seconds for at, seconds in samples if at < ended and at + seconds > began]
        return max(chosen, default=0.0)

    first = windows["migrate"][0]
    report = {}
    for kind, samples in waits.items():
        row = {"median": statistics.median(seconds for _, seconds in samples)}
        row["before"] = max((seconds for at, seconds in samples if at + seconds < first), default=0)
        for phase, (began, ended, _) in windows.items():
            row[phase] = longest(samples, began, ended)
        report[kind] = row
    # Migration N ran from the commit of the one before it (or the command's start) to its own.
    per_migration = []
    began = first
    for at, revision in revisions[1:]:
        worst = max(((longest(s, began, at), kind) for kind, s in waits.items()), default=(0, ""))
        per_migration.append({"revision": revision, "seconds": at - began, "longest": worst})
        began = at
    return {
        "seed_seconds": seeded,
        "migrations": per_migration,
        "seconds": {phase: ended - began for phase, (began, ended, _) in windows.items()},
        "kinds": report,
        "output": "".join(output for _, _, output in windows.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=Path, help="migrations beside the package's")
    parser.add_argument("--from", dest="start", help="default: before the first after 0021")
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--backfill-seconds", type=float, default=120.0, help="how long the backfills run at most"
    )
    args = parser.parse_args()
    args.versions = args.versions and args.versions.resolve()
    args.start = args.start or default_from(args.versions)
    exit_cleanly_on_sigterm()
    with scratch_database("bench_online", keep=args.keep) as database, work_dir() as cwd:
        result = asyncio.run(
            measure(
                database,
                args.start,
                args.tasks,
                args.users,
                cwd,
                args.versions,
                args.backfill_seconds,
            )
        )
    print(source_summary())
    print(machine_summary())
    print(f"{args.tasks} tasks, seeded in {result['seed_seconds']:.0f} s")
    head = ScriptDirectory.from_config(alembic_config(args.versions)).get_current_head()
    seconds = result["seconds"]
    print(f"todo-api migrate {args.start} -> {head}: {seconds['migrate']:.1f} s")
    print(f"then the declared backfills (the service's job): {seconds['backfills']:.1f} s")
    for line in result["output"].splitlines():
        if "WARNING" in line or "backfills:" in line:
            print(f"  | {line}")
    print(f"{'statement':26} {'median':>8} {'before':>8} {'migrate':>8} {'backfill':>8}")
    worst = 0.0
    for kind, row in result["kinds"].items():
        worst = max(worst, row["migrate"], row["backfills"])
        print(
            f"{kind:26} {row['median'] * 1000:6.1f}ms {row['before'] * 1000:6.0f}ms "
            f"{row['migrate'] * 1000:6.0f}ms {row['backfills'] * 1000:6.0f}ms"
        )
    print(f"{'migration':10} {'ran':>8} {'longest wait':>13}  of")
    for row in result["migrations"]:
        seconds, kind = row["longest"]
        print(f"{row['revision']:10} {row['seconds']:7.2f}s {seconds * 1000:11.0f}ms  {kind}")
    verdict = "holds" if worst <= CONTRACT_SECONDS else "BROKEN"
    print(f"longest wait during the upgrade: {worst * 1000:.0f} ms (contract <= 1 s: {verdict})")


if __name__ == "__main__":
    main()
