"""How GET /api/tasks scales: latency at 1 000 and 100 000 tasks per user, in a 2M-task table.

    .venv/bin/python bench/list_scale.py                 # seed (~2-5 min), measure, drop the db
    .venv/bin/python bench/list_scale.py --keep          # keep the seeded database afterwards
    .venv/bin/python bench/list_scale.py --db NAME       # measure an existing (kept) database
    .venv/bin/python bench/list_scale.py --db NAME --plan-cache-mode force_custom_plan  # what if

It creates a PostgreSQL database with a random name on 127.0.0.1 (BENCH_ADMIN_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it with `todo-api migrate`, seeds it
in SQL, starts `todo-api serve` on a free port, mints tokens with `todo-api token`, and sends
sequential requests with httpx (warm-up first). Then, for the same statements the service
sends (built by calling `service.list_tasks` with a recording connection and compiled for
asyncpg), it times them directly on a prepared asyncpg statement and records
EXPLAIN (ANALYZE, BUFFERS), both as the planner sees them the first five times (custom plan)
and as a long-lived connection runs them from the sixth time on (the plan cache may switch to
a generic plan). The database is dropped at the end, also on failure or Ctrl-C/SIGTERM.

Every loop is bounded: --requests per case and round, and --case-seconds per case and round.
Figures are indicative: the machine is shared; compare medians of several rounds.
"""

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from benchlib import (
    BIG_USER,
    SMALL_USER,
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    median,
    migrate,
    new_secret,
    percentile,
    running_server,
    scratch_database,
    seed,
    serve_argv,
    server_version,
    service_env,
    source_summary,
    token_for,
    work_dir,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as AsyncpgDialect

from todo_api.tasks import service
from todo_api.tasks.listing import CursorCodec, ListQuery, TaskFilters

USERS = {"1k": SMALL_USER, "100k": BIG_USER}
SLOW_MS = 20.0


@dataclass
class Case:
    name: str
    params: dict[str, str]
    query: ListQuery


def cases(cursor: str | None) -> list[Case]:
    found = [
        Case("default (-created_at)", {}, ListQuery()),
        Case("q=milk", {"q": "milk"}, ListQuery(filters=TaskFilters(q="milk"))),
        Case(
            "q=xylophone (no match)",
            {"q": "xylophone"},
            ListQuery(filters=TaskFilters(q="xylophone")),
        ),
        Case(
            "tag=groceries",
            {"tag": "groceries"},
            ListQuery(filters=TaskFilters(tags=("groceries",))),
        ),
        Case("sort=due_at", {"sort": "due_at"}, ListQuery(sort="due_at")),
        Case("sort=-due_at", {"sort": "-due_at"}, ListQuery(sort="-due_at")),
        Case("sort=title", {"sort": "title"}, ListQuery(sort="title")),
    ]
    if cursor is not None:
        found.append(Case("page 2 (cursor)", {"cursor": cursor}, ListQuery(cursor=cursor)))
    return found


@dataclass
class Timing:
    rounds: list[dict[str, float]] = field(default_factory=list)
    total: str = "?"
    page_size: int = 0

    def stat(self, name: str) -> float:
        return median([r[name] for r in self.rounds])

    def spread(self) -> str:
        medians = [r["p50"] for r in self.rounds]
        return f"{min(medians):.1f}-{max(medians):.1f}"


# --- HTTP -----------------------------------------------------------------------------------


def measure_case(
    client: httpx.Client, params: dict[str, str], warmup: int, requests: int, seconds: float
) -> tuple[list[float], httpx.Response]:
    response = None
    for _ in range(warmup):
        response = client.get("/api/tasks", params=params)
        response.raise_for_status()
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while len(samples) < requests and time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get("/api/tasks", params=params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{params}: {response.status_code} {response.text[:300]}")
    assert response is not None
    return samples, response


def run_http(
    server_url: str, tokens: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, list[Case]], dict[tuple[str, str], Timing]]:
    per_user: dict[str, list[Case]] = {}
    clients = {
        label: httpx.Client(
            base_url=server_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        for label, token in tokens.items()
    }
    try:
        for label, client in clients.items():
            first = client.get("/api/tasks")
            first.raise_for_status()
            per_user[label] = cases(first.headers.get("X-Next-Cursor"))
        timings: dict[tuple[str, str], Timing] = {}
        for round_no in range(1, args.rounds + 1):
            for label, client in clients.items():
                for case in per_user[label]:
                    samples, response = measure_case(
                        client, case.params, args.warmup, args.requests, args.case_seconds
                    )
                    timing = timings.setdefault((label, case.name), Timing())
                    timing.total = response.headers.get("X-Total-Count", "?")
                    timing.page_size = len(response.json())
                    timing.rounds.append(
                        {
                            "n": len(samples),
                            "p50": median(samples),
                            "p95": percentile(samples, 95),
                            "p99": percentile(samples, 99),
                        }
                    )
                    log(
                        f"round {round_no} {label:>4} {case.name:<24} "
                        f"p50 {median(samples):6.1f} ms  p95 {percentile(samples, 95):6.1f} ms"
                        f"  (n={len(samples)})"
                    )
        return per_user, timings
    finally:
        for client in clients.values():
            client.close()


# --- SQL ------------------------------------------------------------------------------------


class _Recorder:
    """Stands in for the request's connection: records what the service would execute."""

    def __init__(self) -> None:
        self.dialect = AsyncpgDialect()
        self.statements: list[Any] = []

    async def execute(self, statement: Any) -> Any:
        self.statements.append(statement)
        return _NoRows()


class _NoRows(list[Any]):
    def scalar_one(self) -> int:
        return 0


async def service_statement(
    user_id: uuid.UUID, query: ListQuery, secret: str
) -> tuple[str, list[Any]]:
    """The list statement exactly as service.list_tasks builds it, compiled for asyncpg."""
    recorder = _Recorder()
    await service.list_tasks(
        conn=recorder,  # type: ignore[arg-type]
        user_id=user_id,
        query=query,
        cursors=CursorCodec(secret),
    )
    compiled = recorder.statements[0].compile(dialect=recorder.dialect)
    values = compiled.construct_params()
    params = [_driver_value(values[name]) for name in compiled.positiontup or []]
    return str(compiled), params


def _driver_value(value: Any) -> Any:
    if isinstance(value, list | dict):
        return json.dumps(value)  # what SQLAlchemy hands asyncpg for JSONB
    return value


def _sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return "'" + text.replace("'", "''") + "'"


def _count_ms(plan: dict[str, Any]) -> float:
    """Time spent in the scalar count subquery (an InitPlan or SubPlan)."""
    total = 0.0
    for child in plan.get("Plans", []):
        if child.get("Parent Relationship") in {"InitPlan", "SubPlan"}:
            total += child["Actual Total Time"] * child["Actual Loops"]
        else:
            total += _count_ms(child)
    return total


def _access_paths(plan: dict[str, Any], in_count: bool = False) -> dict[str, list[str]]:
    """How the page and the count read the table: index names, or "Seq Scan"."""
    found: dict[str, list[str]] = {"page": [], "count": []}
    where = "count" if in_count else "page"
    if "Index Name" in plan:
        found[where].append(plan["Index Name"])
    elif plan["Node Type"] == "Seq Scan":
        found[where].append("Seq Scan")
    for child in plan.get("Plans", []):
        nested = in_count or child.get("Parent Relationship") in {"InitPlan", "SubPlan"}
        for key, names in _access_paths(child, nested).items():
            found[key] += [n for n in names if n not in found[key]]
    return found


async def explain_case(
    conn: asyncpg.Connection, sql: str, params: list[Any], repeats: int
) -> dict[str, Any]:
    literals = ", ".join(_sql_literal(p) for p in params)

    # 1. The statement alone, on a prepared statement reused like the server's connection does.
    prepared = await conn.prepare(sql)
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        await prepared.fetch(*params)
        durations.append((time.perf_counter() - started) * 1000)

    # 2. The plan of the first five executions (a custom plan, with the values inlined).
    await conn.execute("SET plan_cache_mode = force_custom_plan")
    await conn.execute(f"PREPARE bench_custom AS {sql}")
    custom = ""
    for _ in range(3):
        rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_custom({literals})")
        custom = "\n".join(r[0] for r in rows)
    await conn.execute("DEALLOCATE bench_custom")

    # 3. From the sixth execution on, the plan cache may keep a generic plan instead.
    await conn.execute("RESET plan_cache_mode")
    await conn.execute(f"PREPARE bench_auto AS {sql}")
    for _ in range(5):
        await conn.execute(f"EXECUTE bench_auto({literals})")
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_auto({literals})")
    steady = "\n".join(r[0] for r in rows)
    raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_auto({literals})")
    await conn.execute("DEALLOCATE bench_auto")
    document = json.loads(raw)[0]
    return {
        "sql_ms": median(durations),
        "exec_ms": document["Execution Time"],
        "count_ms": _count_ms(document["Plan"]),
        # A custom plan shows the user's id; a generic plan shows `$1` in its place.
        "generic": str(params[0]) not in steady,
        "paths": _access_paths(document["Plan"]),
        "steady_plan": steady,
        "custom_plan": custom,
    }


async def run_explain(
    database: str, secret: str, per_user: dict[str, list[Case]], repeats: int
) -> dict[tuple[str, str], dict[str, Any]]:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        await conn.execute("SET statement_timeout = '60s'")
        for label, user_cases in per_user.items():
            for case in user_cases:
                sql, params = await service_statement(uuid.UUID(USERS[label]), case.query, secret)
                results[(label, case.name)] = {
                    "sql": sql,
                    "params": [str(p) for p in params],
                    **await explain_case(conn, sql, params, repeats),
                }
                log(f"explained {label:>4} {case.name}")
    finally:
        await conn.close()
    return results


async def set_plan_cache_mode(database: str, mode: str | None) -> None:
    """For new connections to the database; None puts the server's default back."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        if mode is None:
            await conn.execute(f'ALTER DATABASE "{database}" RESET plan_cache_mode')
        else:
            await conn.execute(f'ALTER DATABASE "{database}" SET plan_cache_mode = {mode}')
    finally:
        await conn.close()


async def table_facts(database: str) -> dict[str, Any]:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        facts: dict[str, Any] = dict(
            await conn.fetchrow(
                "SELECT count(*) AS tasks, count(DISTINCT user_id) AS users, "
                "pg_size_pretty(pg_table_size('tasks')) AS heap, "
                "pg_size_pretty(pg_indexes_size('tasks')) AS indexes FROM tasks"
            )
        )
        for label, user in USERS.items():
            row = await conn.fetchrow(
                "SELECT count(*) AS tasks, "
                "count(*) FILTER (WHERE title ILIKE '%milk%' OR description ILIKE '%milk%') "
                "AS milk, count(*) FILTER (WHERE tags @> '[\"groceries\"]') AS groceries "
                "FROM tasks WHERE user_id = $1",
                uuid.UUID(user),
            )
            facts[label] = dict(row)
        return facts
    finally:
        await conn.close()


# --- report ---------------------------------------------------------------------------------


def report(
    header: list[str],
    facts: dict[str, Any],
    per_user: dict[str, list[Case]],
    timings: dict[tuple[str, str], Timing],
    plans: dict[tuple[str, str], dict[str, Any]],
    args: argparse.Namespace,
) -> str:
    lines = [*header, ""]
    lines.append(
        f"Table: {facts['tasks']:,} tasks of {facts['users']:,} users; heap {facts['heap']}, "
        f"indexes {facts['indexes']}."
    )
    for label in USERS:
        f = facts[label]
        lines.append(
            f"User {label}: {f['tasks']:,} tasks, {f['milk']:,} match 'milk', "
            f"{f['groceries']:,} tagged groceries."
        )
    lines += [
        "",
        f"HTTP: sequential, {args.warmup} warm-up + {args.requests} measured requests per case "
        f"and round, {args.rounds} rounds; each figure is the median over the rounds of that "
        "round's statistic (ms). SQL: the service's statement alone on a reused prepared "
        f"asyncpg statement (median of {args.sql_repeats}); exec and count: EXPLAIN ANALYZE "
        "execution time and the part spent in the count subquery (steady-state plan).",
        "",
        "| user | case | total | p50 | p95 | p99 | p50 range | SQL | exec | count | plan |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for label, user_cases in per_user.items():
        for case in user_cases:
            t = timings[(label, case.name)]
            p = plans[(label, case.name)]
            flag = " **slow**" if t.stat("p50") > SLOW_MS else ""
            plan_kind = "generic" if p["generic"] else "custom"
            paths = "; ".join(f"{k}: {' + '.join(v)}" for k, v in p["paths"].items() if v)
            lines.append(
                f"| {label} | {case.name}{flag} | {t.total} | {t.stat('p50'):.1f} | "
                f"{t.stat('p95'):.1f} | {t.stat('p99'):.1f} | {t.spread()} | "
                f"{p['sql_ms']:.1f} | {p['exec_ms']:.1f} | {p['count_ms']:.1f} | "
                f"{plan_kind}; {paths} |"
            )
    lines.append("")
    for label, user_cases in per_user.items():
        for case in user_cases:
            p = plans[(label, case.name)]
            lines += [f"### {label}: {case.name}", "", "```", p["sql"], f"-- {p['params']}", ""]
            kind = "generic plan" if p["generic"] else "custom plan"
            lines += [f"-- steady state (6th execution on): {kind}", p["steady_plan"]]
            if p["custom_plan"] != p["steady_plan"]:
                lines += ["", "-- first five executions: custom plan", p["custom_plan"]]
            lines += ["```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-tasks", type=int, default=1_900_000)
    parser.add_argument("--bulk-users", type=int, default=19_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--case-seconds", type=float, default=60.0)
    parser.add_argument("--sql-repeats", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--db", help="measure this existing database (never dropped)")
    parser.add_argument(
        "--plan-cache-mode",
        choices=["auto", "force_custom_plan", "force_generic_plan"],
        help="set for the database (ALTER DATABASE) while measuring: what-if experiments",
    )
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()

    secret = new_secret()
    with (
        work_dir() as cwd,
        scratch_database("bench_list", keep=args.keep, existing=args.db) as database,
    ):
        env = service_env(database, secret)
        if not args.db:
            started = time.monotonic()
            migrate(env, cwd)
            asyncio.run(
                seed(
                    database,
                    args.bulk_tasks,
                    args.bulk_users,
                    {SMALL_USER: 1_000, BIG_USER: 100_000},
                )
            )
            log(f"migrated and seeded in {time.monotonic() - started:.0f} s")
        facts = asyncio.run(table_facts(database))
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
        ]
        tokens = {label: token_for(user, env, cwd) for label, user in USERS.items()}
        if args.plan_cache_mode:
            header.append(f"What if: ALTER DATABASE SET plan_cache_mode = {args.plan_cache_mode}")
            asyncio.run(set_plan_cache_mode(database, args.plan_cache_mode))
        try:
            port = free_port()
            with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
                per_user, timings = run_http(server.url, tokens, args)
            plans = asyncio.run(run_explain(database, secret, per_user, args.sql_repeats))
        finally:
            if args.plan_cache_mode:
                asyncio.run(set_plan_cache_mode(database, None))
        text = report(header, facts, per_user, timings, plans, args)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
