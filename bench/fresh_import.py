"""A user who has just imported: 20 000 tasks created through the API a moment ago, on tables
whose statistics know nothing of them (no ANALYZE since, autovacuum off for the run), listed
against a user with as many tasks that PostgreSQL has analysed. Goal, for every list case of
`list_scale.py`: p50(fresh) <= 1.5 x p50(analysed) + 3 ms.

    .venv/bin/python bench/fresh_import.py          # ~2 min; drops its database

The tasks are made with the bulk route, 100 to a request: titles and descriptions from the
seed's words, a third of them done, 60 % due within two months either side of today, tags from
the seed's (none, one or two).
"""

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from benchlib import (
    OBJECTS,
    SENTENCES,
    TAGS,
    VERBS,
    CpuReading,
    bulk,
    db_url,
    exit_cleanly_on_sigterm,
    helpers,
    log,
    median,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    server_and_database_cpu,
    service_env,
    source_summary,
    token_for,
    work_dir,
)
from list_scale import GOAL_FACTOR, GOAL_SLACK_MS, cases, measure_case

ANALYSED, FRESH = "00000000-0000-4000-8000-00000000a0a1", "00000000-0000-4000-8000-00000000f0f1"
TASKS = 20_000
TABLES = ("tasks", "task_tags", "task_counts", "users")


def task(rng: random.Random, now: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": f"{rng.choice(VERBS)} {rng.choice(OBJECTS)}".capitalize(),
        "priority": rng.choice(["none", "low", "medium", "high"]),
        "tags": rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2])),
    }
    if rng.random() < 0.65:
        body["description"] = rng.choice(SENTENCES)
    if rng.random() < 0.6:
        body["due_at"] = (now + timedelta(days=rng.uniform(-60, 60))).isoformat()
    return body


def import_tasks(client: httpx.Client, rng: random.Random) -> None:
    now = datetime.now(UTC)
    made = bulk(client, [{"op": "create", "data": task(rng, now)} for _ in range(TASKS)])
    done = [result["id"] for result in made if rng.random() < 0.35]
    bulk(client, [{"op": "complete", "id": task_id} for task_id in done])


async def on_tables(database: str, statement: str) -> None:
    """`statement` (with `{table}`) on each of TABLES the tree's migrations made."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        for table in TABLES:
            if await conn.fetchval("SELECT to_regclass($1)", table) is not None:
                await conn.execute(statement.format(table=table))
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    log(source_summary())
    rng = random.Random(4242)
    with work_dir() as cwd, scratch_database("bench_fresh", args.keep) as database:
        env = service_env(database, new_secret())
        migrate(env, cwd)
        asyncio.run(on_tables(database, "ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        tokens = {user: token_for(user, env, cwd) for user in (ANALYSED, FRESH)}
        port = helpers.free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:

            def read_cpu() -> CpuReading:
                return asyncio.run(server_and_database_cpu(server, database))

            clients = {
                user: httpx.Client(
                    base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
                )
                for user, token in tokens.items()
            }
            started = time.monotonic()
            import_tasks(clients[ANALYSED], rng)
            asyncio.run(on_tables(database, "VACUUM (ANALYZE) {table}"))
            import_tasks(clients[FRESH], rng)
            log(f"imported {2 * TASKS} tasks in {time.monotonic() - started:.0f} s")
            rows = []
            cursors = {
                u: c.get("/api/tasks").headers.get("X-Next-Cursor") for u, c in clients.items()
            }
            names = [case.name for case in cases(cursors[ANALYSED])]
            for name in names:
                p50 = {}
                for user, client in clients.items():
                    case = next(c for c in cases(cursors[user]) if c.name == name)
                    samples, _, _ = measure_case(
                        client, case.params, args.warmup, args.requests, 30, read_cpu
                    )
                    p50[user] = median(samples)
                goal = GOAL_FACTOR * p50[ANALYSED] + GOAL_SLACK_MS
                met = "met" if p50[FRESH] <= goal else "**missed**"
                rows.append(
                    f"| {name} | {p50[ANALYSED]:.1f} | {p50[FRESH]:.1f} | {goal:.1f} | {met} |"
                )
                log(rows[-1])
            for client in clients.values():
                client.close()
    print("\n| case | analysed p50 ms | fresh p50 ms | goal | met |")
    print("|---|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
