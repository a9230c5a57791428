"""Reminders while nothing is due, and a thousand due in the same second (issue 25, "Cheap
while waiting").

A scratch PostgreSQL database and `todo-api serve` (WORKERS processes, each running the
scheduler); one user with TASKS tasks, each with one reminder a day to a month ahead (seeded
in SQL, as the service stores them: `tasks.reminders` and one `reminder_fires` row each).
Then:

- idle: for IDLE_SECONDS nothing is due; the server's and PostgreSQL's CPU (every client
  backend of the database, from /proc/<pid>/task/*/schedstat), per second; and the plan of
  the scheduler's one statement (the earliest time still to fire): an index read, not a scan;
- burst: BURST tasks created through POST /api/tasks/bulk, each with a reminder at the same
  second a few seconds ahead; how long after that second each fired (`fired_at - fires_at`,
  from the table), and when the last one did.

    .venv/bin/python bench/reminders_idle.py             # ~1 min
    .venv/bin/python bench/reminders_idle.py --workers 2 --idle-seconds 60
    .venv/bin/python bench/reminders_idle.py --env WEBHOOK_POLL_SECONDS=60   # the scheduler alone
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from benchlib import (
    ADMIN_URL,
    TODO_API,
    Server,
    cpu_spent,
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    percentile,
    running_server,
    scratch_database,
    server_and_database_cpu,
    server_version,
    service_env,
    source_summary,
    token_for,
    work_dir,
)

USER = "00000000-0000-4000-8000-0000000a1e27"
BURST_LEAD_SECONDS = 20.0  # the burst is due this long after its first write (all written by then)
BURST_TIMEOUT_SECONDS = 60.0
EARLIEST = (
    "SELECT next_fire_at FROM reminder_fires WHERE next_fire_at IS NOT NULL "
    "AND (claimed_until IS NULL OR claimed_until <= now()) ORDER BY next_fire_at LIMIT 1"
)


async def seed(database: str, count: int) -> None:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        await conn.execute(
            "INSERT INTO users (id, email, created_at, updated_at) "
            "VALUES ($1, 'reminders@bench.test', now(), now())",
            uuid.UUID(USER),
        )
        # One reminder per task, a day to a month ahead; ids from md5, like any uuid.
        await conn.execute(
            """
            WITH made AS (
                SELECT md5('task' || n)::uuid AS task_id, md5('reminder' || n)::uuid AS rid,
                       now() + interval '1 day' + (n % 2592000) * interval '1 second' AS at
                FROM generate_series(1, $2::int) AS n
            ), inserted AS (
                INSERT INTO tasks (id, user_id, title, title_key, position, reminders,
                                   version, created_at, updated_at)
                SELECT task_id, $1, 'Reminded', 'reminded', 0,
                       json_build_array(json_build_object(
                           'id', rid::text,
                           'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))),
                       1, now(), now()
                FROM made
            )
            INSERT INTO reminder_fires (reminder_id, task_id, fires_at, next_fire_at)
            SELECT rid, task_id, at, at FROM made
            """,
            uuid.UUID(USER),
            count,
        )
    finally:
        await conn.close()


async def _commits(database: str) -> int:
    """Transactions committed on the database so far (pg_stat_database)."""
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database
        )
    finally:
        await conn.close()
    return int(value)


async def _plan(database: str) -> str:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {EARLIEST}")
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


async def _fired(database: str, at: datetime) -> tuple[int, list[float]]:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM fired_at - fires_at) AS late FROM reminder_fires "
            "WHERE fires_at = $1 AND fired_at IS NOT NULL",
            at,
        )
    finally:
        await conn.close()
    return len(rows), [float(r["late"]) for r in rows]


async def measure(
    server: Server, database: str, token: str, idle_seconds: float, burst: int
) -> list[str]:
    await asyncio.sleep(3)  # the first turns of every job, and connections opened
    before = await server_and_database_cpu(server, database)
    commits = await _commits(database)
    await asyncio.sleep(idle_seconds)
    idle = cpu_spent(before, await server_and_database_cpu(server, database))
    commits = await _commits(database) - commits - 2  # less this script's two readings
    log(f"idle: server {idle[0]:.3f} s, PostgreSQL {idle[1]:.3f} s over {idle_seconds:.0f} s")
    plan = await _plan(database)

    at = (datetime.now(UTC) + timedelta(seconds=BURST_LEAD_SECONDS)).replace(microsecond=0)
    at_text = at.isoformat().replace("+00:00", "Z")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
        for start in range(0, burst, 100):
            operations = [
                {"op": "create", "data": {"title": f"burst {n}", "reminders": [{"at": at_text}]}}
                for n in range(start, min(start + 100, burst))
            ]
            answer = await client.post("/api/tasks/bulk", json={"operations": operations})
            answer.raise_for_status()
    made_by = datetime.now(UTC)
    ahead = (at - made_by).total_seconds()
    log(f"{burst} reminders due at {at_text}; the last written {ahead:.1f} s before")
    deadline = time.monotonic() + BURST_LEAD_SECONDS + BURST_TIMEOUT_SECONDS
    fired, late = 0, list[float]()
    while time.monotonic() < deadline:
        fired, late = await _fired(database, at)
        if fired >= burst:
            break
        await asyncio.sleep(0.2)
    log(f"fired {fired} of {burst}")
    return [
        f"| {idle_seconds:.0f} s with 100 000 future reminders, nothing due | value |",
        "|---|---|",
        f"| server CPU per second (ms) | {1000 * idle[0] / idle_seconds:.2f} |",
        f"| PostgreSQL CPU per second, every backend of the database (ms) "
        f"| {1000 * idle[1] / idle_seconds:.2f} |",
        f"| transactions per second on the database (every job of every worker) "
        f"| {commits / idle_seconds:.2f} |",
        "",
        f"| {burst} reminders due in the same second | value |",
        "|---|---|",
        f"| fired | {fired} of {burst} |",
        f"| lateness (fired_at - fires_at): median / p95 / max (s) "
        f"| {statistics.median(late):.2f} / {percentile(late, 95):.2f} / {max(late):.2f} |"
        if late
        else "| lateness | none fired |",
        "",
        "The scheduler's statement while waiting (EXPLAIN ANALYZE):",
        "",
        "```",
        plan,
        "```",
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument(
        "--env", action="append", default=[], help="KEY=VALUE for the service (repeatable)"
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    with work_dir() as cwd, scratch_database("bench_reminders") as database:
        env = service_env(database, secret, **dict(item.split("=", 1) for item in args.env))
        migrate(env, cwd)
        log(f"seeding {args.tasks} tasks with a future reminder each")
        asyncio.run(seed(database, args.tasks))
        token = token_for(USER, env, cwd)
        port = free_port()
        argv = [TODO_API, "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", str(args.workers)]
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Source: {source_summary()}",
            f"`todo-api serve --workers {args.workers}` (each worker runs the scheduler), "
            f"{args.tasks} tasks with one future reminder each, no statistics refreshed by hand"
            + (f"; {', '.join(args.env)}" if args.env else "")
            + ".",
        ]
        with running_server("todo-api", argv, env, cwd, port) as server:
            rows = asyncio.run(measure(server, database, token, args.idle_seconds, args.burst))
    text = "\n".join([*header, "", *rows])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
