"""What a task's activity item costs PostgreSQL per write, by the way the item is written.

    .venv/bin/python bench/trigger_cost.py --db bench_cpu_...     # ~1 min
    .venv/bin/python bench/trigger_cost.py --db bench_cpu_... --writes 800 --rounds 8

On a copy (`CREATE DATABASE ... TEMPLATE`, dropped at the end) of a database that
`cpu_per_request.py --keep` left, brought to the head by `todo-api migrate`, the triggers on
`tasks` are set up three ways in turn, from the migrations' own SQL:

- `no item`: the stamping trigger of migration 0020 alone (what a write cost before the
  activity);
- `0038`: that stamp, and the AFTER row triggers of migrations 0034 and 0038 writing the item;
- `0039`: the stamping trigger that writes the item itself (migration 0039, the head).

Each round, for each way, one new connection sends --writes single-row UPDATEs of an inbox
task's title, then as many INSERTs of a task, each its own transaction (autocommit), and the
backend's on-CPU time (/proc/<pid>/schedstat) is divided by the writes. The ways alternate in
every round; the figures are medians over the rounds, with min-max. The statements are plain
ones, not the service's: the difference between the ways is the item's cost.
"""

import argparse
import asyncio
import importlib
import secrets
import subprocess
import uuid
from pathlib import Path

import asyncpg
from benchlib import TODO_API, db_url, log, machine_summary, median, new_secret, service_env

PATCH_USER = uuid.UUID("00000000-0000-4000-8000-000000009a7c")  # cpu_per_request.py's
_0020 = importlib.import_module("todo_api.migrations.versions.0020_task_arrivals")
_0034 = importlib.import_module("todo_api.migrations.versions.0034_activity")
_0038 = importlib.import_module("todo_api.migrations.versions.0038_activity_cost")
_0039 = importlib.import_module("todo_api.migrations.versions.0039_activity_stamp")
WAYS = ("no item", "0038", "0039")
RETITLE = "UPDATE tasks SET title = $1, version = version + 1, updated_at = now() WHERE id = $2"
CREATE = (
    "INSERT INTO tasks (id, user_id, title, created_by, changed_by, created_at, updated_at) "
    "VALUES (gen_random_uuid(), $1, $2, $1, $1, now(), now())"
)


def _statements(way: str) -> list[str]:
    """From any of the ways, to `way`."""
    stamp = _0039._STAMP if way == "0039" else _0020._BEFORE
    statements = [
        "DROP TRIGGER IF EXISTS tasks_record_changes ON tasks",
        "DROP TRIGGER IF EXISTS tasks_record_activity ON tasks",
        *_0039._stamp_trigger(stamp),
    ]
    if way == "0038":
        return [*statements, _0038.TASKS_FUNCTION, *_0034.POSTGRESQL_TRIGGERS[1:3]]
    return [
        *statements,
        _0039.DELETION_FUNCTION,
        "CREATE TRIGGER tasks_record_activity AFTER DELETE ON tasks "
        "FOR EACH ROW EXECUTE FUNCTION tasks_record_activity()",
    ]


def _on_cpu_us(pid: int) -> float:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1000


async def _measure(database: str, tasks: list[uuid.UUID], label: str) -> tuple[float, float]:
    """CPU µs per retitle and per create, in one new backend."""
    conn = await asyncpg.connect(db_url(database))
    try:
        pid = conn.get_server_pid()
        retitle, create = await conn.prepare(RETITLE), await conn.prepare(CREATE)
        for n, task in enumerate(tasks[:20]):  # plans and caches warm
            await retitle.fetch(f"warm {n}", task)
            await create.fetch(PATCH_USER, f"new warm {n}")
        start = _on_cpu_us(pid)
        for n, task in enumerate(tasks):
            await retitle.fetch(f"{label} {n}", task)
        middle = _on_cpu_us(pid)
        for n in range(len(tasks)):
            await create.fetch(PATCH_USER, f"new {label} {n}")
        end = _on_cpu_us(pid)
        return (middle - start) / len(tasks), (end - middle) / len(tasks)
    finally:
        await conn.close()


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(db_url("postgres"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _compare(source: str, copy: str, writes: int, rounds: int) -> None:
    conn = await asyncpg.connect(db_url(copy))
    try:
        tasks = [
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM tasks WHERE user_id = $1 AND list_id IS NULL LIMIT $2",
                PATCH_USER,
                writes,
            )
        ]
        if len(tasks) < writes:
            raise SystemExit(f"{source} has {len(tasks)} inbox tasks of {PATCH_USER}")
        figures: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
        for round_ in range(rounds):
            for way in WAYS[round_ % len(WAYS) :] + WAYS[: round_ % len(WAYS)]:
                for statement in _statements(way):
                    await conn.execute(statement)
                await conn.execute("CHECKPOINT")
                figures[way].append(await _measure(copy, tasks, f"{round_} {way}"))
                log(f"round {round_ + 1} {way:8} retitle {figures[way][-1][0]:5.0f} µs")
            await conn.execute(
                "DELETE FROM tasks WHERE user_id = $1 AND title LIKE 'new %'", PATCH_USER
            )
    finally:
        await conn.close()
    print(machine_summary())
    print(f"{source} (copied), {writes} writes of each kind per way and round, {rounds} rounds\n")
    print("| way | retitle an inbox task: CPU µs | change | create in the inbox | change |")
    print("|---|---:|---:|---:|---:|")
    base = [median([f[i] for f in figures["no item"]]) for i in (0, 1)]
    for way in WAYS:
        cells = []
        for i in (0, 1):
            values = [f[i] for f in figures[way]]
            mid = median(values)
            cells.append(f"{mid:.0f} ({min(values):.0f}-{max(values):.0f})")
            cells.append(f"{mid - base[i]:+.0f} ({(mid / base[i] - 1) * 100:+.0f} %)")
        print(f"| {way} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", required=True, help="a database cpu_per_request.py kept")
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    copy = f"bench_trigger_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{copy}" TEMPLATE "{args.db}"'))
    try:
        migrate = [TODO_API, "migrate"]
        subprocess.run(migrate, env=service_env(copy, new_secret()), check=True, timeout=600)
        asyncio.run(_compare(args.db, copy, args.writes, args.rounds))
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
