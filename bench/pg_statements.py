"""What PostgreSQL does for each statement of the hot routes: planning and execution time, and
its CPU per execution when each call is planned anew and when a prepared plan is reused.

    .venv/bin/python bench/cpu_per_request.py --keep --rounds 1       # prints the database kept
    .venv/bin/python bench/pg_statements.py --db bench_cpu_...        # then this, on it

pg_stat_statements is not loaded on this PostgreSQL (it needs shared_preload_libraries, a
server restart), so the statements are caught in the service itself: one request per route
(list 50, get one, create, PATCH, complete, as cpu_per_request.py sends them) through the app
in this process, recording what its connections send. Then, for each statement, on connections
of their own and inside transactions that are rolled back:

- EXPLAIN (ANALYZE, TIMING OFF, SUMMARY): planning and execution time (ms) of a plan made
  for the values (TIMING OFF: no clock reading per row, which would swell a 1 001-row count);
- PostgreSQL CPU per execution (µs; the backend's utime + stime from /proc over --executions
  runs of the prepared statement) with `plan_cache_mode=force_custom_plan` (every execution
  planned: the service before this change) and `auto` (PostgreSQL's default, the service's now
  for these statements), and the plans PostgreSQL made (`pg_prepared_statements`).

Last, the plan PostgreSQL reuses for every unfiltered list shape (each sort, without and with
a cursor; `force_generic_plan`, EXPLAIN EXECUTE): each is to walk its sort's index, no Sort.

A create's new id is replaced by a fresh one on each execution; a complete is a no-op after
its first execution (the task is then completed): its figure is planning plus a lookup.
"""

import argparse
import asyncio
import json
import typing
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from benchlib import SMALL_USER, WRITER_USER, cpu_seconds_of, db_url, new_secret
from cpu_per_request import COMPLETE_USER, PATCH_USER
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from todo_api.app import create_app
from todo_api.auth.tokens import mint_token
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.db.database import Compiled, PostgresConnection, Result
from todo_api.kit.deps import held
from todo_api.tasks import listing, pages

MODES = ("force_custom_plan", "auto")


@dataclass
class Caught:
    route: str
    sql: str
    args: list[Any]


async def catch_statements(database: str) -> tuple[list[Caught], set[uuid.UUID]]:
    """The statements of one request per hot route, and the ids the create made."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=db_url(database), jwt_secret=new_secret(), log_level="ERROR"
    )
    app = create_app(settings)
    caught: list[Caught] = []
    route = "warm-up"
    original = PostgresConnection.run

    async def recording(self: PostgresConnection, compiled: Compiled, args: list[Any]) -> Result:
        caught.append(Caught(route, compiled.sql, list(args)))
        return await original(self, compiled, args)

    PostgresConnection.run = recording  # type: ignore[method-assign]
    created: set[uuid.UUID] = set()
    try:
        transport = httpx.ASGITransport(app=app)

        def client(user: str) -> httpx.AsyncClient:
            token = mint_token(settings, subject=user, email=None)
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.AsyncClient(transport=transport, base_url="http://b", headers=headers)

        async with (
            client(SMALL_USER) as reader,
            client(WRITER_USER) as writer,
            client(PATCH_USER) as patcher,
            client(COMPLETE_USER) as completer,
        ):
            listed = (await reader.get("/api/tasks")).json()
            await writer.get("/api/tasks?limit=1")
            todo = (await patcher.get("/api/tasks?limit=1")).json()[0]["id"]
            open_ = (await completer.get("/api/tasks?completed=false&limit=1")).json()[0]["id"]
            caught.clear()  # users ensured, statements prepared
            route = "list 50"
            (await reader.get("/api/tasks")).raise_for_status()
            route = "get one"
            (await reader.get(f"/api/tasks/{listed[10]['id']}")).raise_for_status()
            route = "create"
            made = await writer.post(
                "/api/tasks", json={"title": "Buy milk", "priority": "low", "tags": ["groceries"]}
            )
            created.add(uuid.UUID(made.raise_for_status().json()["id"]))
            route = "PATCH"
            (
                await patcher.patch(f"/api/tasks/{todo}", json={"priority": "high"})
            ).raise_for_status()
            route = "complete"
            (await completer.post(f"/api/tasks/{open_}/complete")).raise_for_status()
    finally:
        PostgresConnection.run = original  # type: ignore[method-assign]
        await held(app, Database).close()
    return [c for c in caught if c.sql not in {"BEGIN", "COMMIT"}], created


def fresh(args: list[Any], created: set[uuid.UUID]) -> list[Any]:
    return [uuid.uuid4() if isinstance(a, uuid.UUID) and a in created else a for a in args]


async def explain(database: str, statement: Caught, created: set[uuid.UUID]) -> tuple[float, ...]:
    """Planning and execution ms (the third EXPLAIN on the connection: its caches are warm, as
    a pooled session's are), and how many trigger calls the statement made."""
    conn = await asyncpg.connect(db_url(database))
    try:
        tx = conn.transaction()
        await tx.start()
        for _ in range(3):
            plan = await conn.fetchval(
                "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY, FORMAT JSON) " + statement.sql,
                *fresh(statement.args, created),
            )
        await tx.rollback()
    finally:
        await conn.close()
    summary = json.loads(plan)[0]
    triggers = sum(t["Calls"] for t in summary.get("Triggers", []))
    return summary["Planning Time"], summary["Execution Time"], triggers


async def per_execution(
    database: str, statement: Caught, created: set[uuid.UUID], mode: str, executions: int
) -> tuple[float, int, int]:
    """PostgreSQL CPU per execution (µs) of the prepared statement, and the generic and custom
    plans PostgreSQL made for it."""
    conn = await asyncpg.connect(db_url(database), server_settings={"plan_cache_mode": mode})
    pid = conn.get_server_pid()
    try:
        tx = conn.transaction()
        await tx.start()
        prepared = await conn.prepare(statement.sql)
        for _ in range(10):  # past the five custom plans of `auto`
            await prepared.fetch(*fresh(statement.args, created))
        before = cpu_seconds_of([pid])[pid]
        for _ in range(executions):
            await prepared.fetch(*fresh(statement.args, created))
        after = cpu_seconds_of([pid])[pid]
        row = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            statement.sql,
        )
        await tx.rollback()
    finally:
        await conn.close()
    return 1e6 * (after - before) / executions, row["generic_plans"], row["custom_plans"]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


async def unfiltered_plans(database: str) -> list[str]:
    """The generic plan's access path of each unfiltered list shape (the page, not the count)."""
    conn = await asyncpg.connect(db_url(database))
    lines = ["| sort | cursor | generic plan of the page |", "|---|---|---|"]
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        for n, sort in enumerate(typing.get_args(listing.Sort)):
            query = listing.ListQuery(sort=sort)
            for last in (None, [_cursor_value(query.sort_field), uuid.uuid4()]):
                page = pages.page_query(listing.shape(query, "postgresql", last))
                compiled = page.compiled(PGDialect_asyncpg())  # type: ignore[no-untyped-call]
                params = listing.parameters(query, uuid.UUID(SMALL_USER), datetime.now(UTC), last)
                name = f"shape_{n}_{last is not None:d}"
                await conn.execute(f"PREPARE {name} AS {compiled.sql}")
                values = ", ".join(_literal(v) for v in compiled.arguments(params))
                plan = [r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE {name}({values})")]
                steps = [
                    line.strip(" ->").split("  (")[0]
                    for line in plan
                    if ("Scan" in line or "Sort" in line) and "tasks_1" not in line
                ]
                cursor = "yes" if last else "no"
                lines.append(f"| `{sort}` | {cursor} | {'; '.join(steps)} |")
    finally:
        await conn.close()
    return lines


def _cursor_value(sort_field: str) -> Any:
    return {"title": "m", "priority": 1, "position": 5}.get(
        sort_field, datetime(2026, 1, 1, tzinfo=UTC)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a database kept by cpu_per_request --keep")
    parser.add_argument("--executions", type=int, default=500)
    args = parser.parse_args()
    if not 10 <= args.executions <= 100_000:
        parser.error("--executions 10 to 100 000")
    statements, created = await catch_statements(args.db)
    print(
        "| route | statement | planning ms | execution ms | trigger calls "
        "| CPU µs/exec, force_custom_plan | CPU µs/exec, auto | plans made with auto "
        "(generic/custom) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for statement in statements:
        planning, execution, triggers = await explain(args.db, statement, created)
        cpu = {}
        plans = ""
        for mode in MODES:
            cpu[mode], generic, custom = await per_execution(
                args.db, statement, created, mode, args.executions
            )
            plans = f"{generic}/{custom}"
        words = statement.sql.split()
        head = " ".join(words[:3]) + (" ..." if len(words) > 3 else "")
        where = statement.sql.find("WHERE")
        tail = " ".join(statement.sql[where : where + 60].split()) if where >= 0 else ""
        print(
            f"| {statement.route} | `{head} {tail}` | {planning:.3f} "
            f"| {execution:.3f} | {triggers:.0f} | {cpu['force_custom_plan']:.0f} "
            f"| {cpu['auto']:.0f} | {plans} |"
        )
    print()
    print("\n".join(await unfiltered_plans(args.db)))


if __name__ == "__main__":
    asyncio.run(main())
