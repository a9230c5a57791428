"""How GET /api/tasks scales: latency at 1 000 and 100 000 tasks per user, in a 2M-task table,
and for a member of 20 shared lists of 5 000 tasks each (with 1 000 tasks of their own).

    .venv/bin/python bench/list_scale.py                 # seed (~2-5 min), measure, drop the db
    .venv/bin/python bench/list_scale.py --keep          # keep the seeded database afterwards
    .venv/bin/python bench/list_scale.py --db NAME       # measure an existing (kept) database

It creates a PostgreSQL database with a random name on 127.0.0.1 (BENCH_ADMIN_URL, default
postgresql://postgres@127.0.0.1:5432/postgres), migrates it with `todo-api migrate`, seeds it
in SQL, starts `todo-api serve` (one worker) on a free port, mints tokens with `todo-api token`,
and sends sequential requests with httpx: per case and round, each user's block (a warm-up,
then requests whose CPU is measured), then the users in turn, request by request, for the
latencies (so that every user meets the same moments of a shared machine: two blocks a few
seconds apart differed by 2x). Each list case is judged against the scale goal
p50(100k) <= 1.5 x p50(1k) + 3 ms, and the member's against the sharing goal (as fast as the
user with 100 000 tasks of their own): p50(member) <= 1.5 x p50(100k). Beside each
case's latency, the server's and PostgreSQL's on-CPU time per measured request
(/proc/<pid>/task/*/schedstat of the server's processes and the database's client backends),
which a busy shared machine moves less than it moves latency.

Then the statements the service sends for the same cases (`pages.page_query` of the request's
shape, compiled for asyncpg, with `listing.parameters` bound in the compiled order) are timed
alone on a reused prepared statement and explained with EXPLAIN (ANALYZE, BUFFERS), on a
connection with `jit = off` as the service's connections have, each in the plan mode the
service gives it: made for each call's own values (`force_custom_plan`) where the shape is
planned per call, else `auto` (reused). The database is dropped at the
end, also on failure or Ctrl-C/SIGTERM (unless --keep or --db).

Every loop is bounded: --requests per case and round, and --case-seconds per case and round.
Figures are indicative: the machine is shared; compare medians of several rounds.
"""

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from benchlib import (
    BIG_USER,
    MEMBER_USER,
    SHARED_LISTS,
    SMALL_USER,
    TASKS_PER_SHARED_LIST,
    CpuReading,
    Server,
    cpu_spent,
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
    server_and_database_cpu,
    server_version,
    service_env,
    source_summary,
    token_for,
    work_dir,
)
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from todo_api.db.statements import compile_for
from todo_api.tasks import listing, pages
from todo_api.tasks.listing import CursorCodec, ListQuery, TaskFilters

SMALL, BIG, MEMBER = "1k", "100k", "member"
USERS = {SMALL: SMALL_USER, BIG: BIG_USER, MEMBER: MEMBER_USER}
# The scale goal: the large user's p50 within this factor of the small user's, plus this slack.
GOAL_FACTOR = 1.5
GOAL_SLACK_MS = 3.0
# The sharing goal: the member's p50 within this factor of the large user's, plus this slack
# (none: the factor holds the noise of one machine's rounds).
SHARED_GOAL_FACTOR = 1.5
SHARED_GOAL_SLACK_MS = 0.0
PAGE_2 = "page 2 (cursor)"


# A day with tasks due for both users (the seed's due dates run from a year ago to two months
# ahead), and an instant on it.
DUE_DAY = date.today() - timedelta(days=30)
DUE_CUT = datetime.combine(DUE_DAY, datetime.min.time(), UTC)
# The zones the seed's all-day tasks are in (issue 24): each sorts at the start of its date there.
ALL_DAY_ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]


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
            "tag=groceries",
            {"tag": "groceries"},
            ListQuery(filters=TaskFilters(tags=("groceries",))),
        ),
        Case(
            "tag=groceries&completed=false",
            {"tag": "groceries", "completed": "false"},
            ListQuery(filters=TaskFilters(tags=("groceries",), completed=False)),
        ),
        Case("sort=due_at", {"sort": "due_at"}, ListQuery(sort="due_at")),
        Case("sort=-due_at", {"sort": "-due_at"}, ListQuery(sort="-due_at")),
        Case(
            "due_on=<day>",
            {"due_on": DUE_DAY.isoformat()},
            ListQuery(filters=TaskFilters(due_on=DUE_DAY)),
        ),
        Case(
            "due_on=<day>&sort=due_at",
            {"due_on": DUE_DAY.isoformat(), "sort": "due_at"},
            ListQuery(filters=TaskFilters(due_on=DUE_DAY), sort="due_at"),
        ),
        Case(
            "due_before=<instant>&sort=due_at",
            {"due_before": DUE_CUT.isoformat(), "sort": "due_at"},
            ListQuery(filters=TaskFilters(due_before=DUE_CUT), sort="due_at"),
        ),
        Case("sort=title", {"sort": "title"}, ListQuery(sort="title")),
        Case(
            "completed=false&sort=-priority",
            {"completed": "false", "sort": "-priority"},
            ListQuery(filters=TaskFilters(completed=False), sort="-priority"),
        ),
    ]
    if cursor is not None:
        found.append(Case(PAGE_2, {"cursor": cursor}, ListQuery(cursor=cursor)))
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


def goal_ms(small_p50: float) -> float:
    return GOAL_FACTOR * small_p50 + GOAL_SLACK_MS


def shared_goal_ms(big_p50: float) -> float:
    return SHARED_GOAL_FACTOR * big_p50 + SHARED_GOAL_SLACK_MS


# --- HTTP -----------------------------------------------------------------------------------


def measure_case(
    client: httpx.Client,
    params: dict[str, str],
    warmup: int,
    requests: int,
    seconds: float,
    read_cpu: Callable[[], CpuReading],
) -> tuple[list[float], httpx.Response, tuple[float, float]]:
    """One user's block: the measured requests' latencies (ms), the last response, and the
    server's and PostgreSQL's on-CPU time per measured request (ms)."""
    response = None
    for _ in range(warmup):
        response = client.get("/api/tasks", params=params)
        response.raise_for_status()
    samples: list[float] = []
    before = read_cpu()
    deadline = time.monotonic() + seconds
    while len(samples) < requests and time.monotonic() < deadline:
        started = time.perf_counter()
        response = client.get("/api/tasks", params=params)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{params}: {response.status_code} {response.text[:300]}")
    server_s, database_s = cpu_spent(before, read_cpu())
    assert response is not None
    return samples, response, (server_s * 1000 / len(samples), database_s * 1000 / len(samples))


def latencies_in_turn(
    clients: dict[str, httpx.Client],
    params: dict[str, dict[str, str]],
    requests: int,
    seconds: float,
) -> dict[str, list[float]]:
    """Each user's latencies (ms), the users taking turns request by request."""
    samples: dict[str, list[float]] = {label: [] for label in clients}
    deadline = time.monotonic() + seconds
    for _ in range(requests):
        if time.monotonic() >= deadline:
            break
        for label, client in clients.items():
            started = time.perf_counter()
            response = client.get("/api/tasks", params=params[label])
            samples[label].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{params}: {response.status_code} {response.text[:300]}")
    return samples


def _cpu(timing: Timing) -> str:
    return f"{timing.stat('server_cpu'):.2f} + {timing.stat('database_cpu'):.2f}"


def run_http(
    server: Server, database: str, tokens: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, list[Case]], dict[tuple[str, str], Timing]]:
    per_user: dict[str, list[Case]] = {}

    def read_cpu() -> CpuReading:
        return asyncio.run(server_and_database_cpu(server, database))

    clients = {
        label: httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        for label, token in tokens.items()
    }
    try:
        for label, client in clients.items():
            first = client.get("/api/tasks")
            first.raise_for_status()
            per_user[label] = cases(first.headers.get("X-Next-Cursor"))
        names = [
            c.name
            for c in per_user[SMALL]
            if all(c.name in {d.name for d in per_user[label]} for label in clients)
        ]
        timings: dict[tuple[str, str], Timing] = {}
        for round_no in range(1, args.rounds + 1):
            for name in names:
                params = {
                    label: next(c for c in per_user[label] if c.name == name).params
                    for label in clients
                }
                blocks = {
                    label: measure_case(
                        client,
                        params[label],
                        args.warmup,
                        args.requests,
                        args.case_seconds,
                        read_cpu,
                    )
                    for label, client in clients.items()
                }
                in_turn = latencies_in_turn(clients, params, args.requests, args.case_seconds)
                for label, (_, response, (server_ms, database_ms)) in blocks.items():
                    samples = in_turn[label]
                    timing = timings.setdefault((label, name), Timing())
                    timing.total = response.headers.get("X-Total-Count", "?")
                    timing.page_size = len(response.json())
                    timing.rounds.append(
                        {
                            "n": len(samples),
                            "p50": median(samples),
                            "p95": percentile(samples, 95),
                            "server_cpu": server_ms,
                            "database_cpu": database_ms,
                        }
                    )
                    log(
                        f"round {round_no} {label:>4} {name:<32} "
                        f"p50 {median(samples):6.1f} ms  p95 {percentile(samples, 95):6.1f} ms"
                        f"  (n={len(samples)})"
                    )
        return per_user, timings
    finally:
        for client in clients.values():
            client.close()


async def make_all_day(database: str, fraction: float) -> None:
    """Turn a fraction of the dated tasks into all-day tasks, as the service writes them: the
    date in a zone, and as due_at the instant that date starts there."""
    zones = "ARRAY[" + ", ".join(f"'{z}'" for z in ALL_DAY_ZONES) + "]::text[]"
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        await conn.execute("SET statement_timeout = 0")
        started = time.monotonic()
        status = await conn.execute(
            f"""
            UPDATE tasks SET timezone = zone, due_date = day,
                             due_at = day::timestamp AT TIME ZONE zone
            FROM (
                SELECT id, zone, (due_at AT TIME ZONE zone)::date AS day
                FROM (
                    SELECT id, due_at,
                           ({zones})[1 + floor(random() * {len(ALL_DAY_ZONES)})::int] AS zone
                    FROM tasks WHERE due_at IS NOT NULL AND random() < {float(fraction)}
                ) picked
            ) chosen
            WHERE tasks.id = chosen.id
            """  # noqa: S608 (constants only)
        )
        await conn.execute("VACUUM (ANALYZE) tasks")
        log(f"made all-day: {status} in {time.monotonic() - started:.0f} s")
    finally:
        await conn.close()


# --- SQL ------------------------------------------------------------------------------------

DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def service_statement(
    user_id: uuid.UUID, query: ListQuery, secret: str, tagged: int | None = None
) -> tuple[str, list[Any], listing.Shape]:
    """The page statement the service sends for this request, compiled for asyncpg, and its
    arguments in the order of the compiled statement's parameters. `tagged`: the count of
    pages.TAGGED, which the service runs first for a tag filter."""
    last = None
    if query.cursor is not None:
        last, _seen = CursorCodec(secret).decode(user_id, query, query.cursor)
    shape = listing.shape(query, "postgresql", last, tagged)
    compiled = compile_for(pages.page_query(shape).statement, DIALECT, prebuilt=True)
    params = listing.parameters(query, user_id, datetime.now(UTC), last)  # the users: UTC
    return compiled.sql, compiled.arguments(params), shape


async def tagged_count(
    conn: asyncpg.Connection, user_id: uuid.UUID, query: ListQuery
) -> int | None:
    """What the service's first statement of a tag filter counts (None without one)."""
    if not query.filters.tags:
        return None
    compiled = compile_for(pages.TAGGED.statement, DIALECT, prebuilt=True)
    params = listing.parameters(query, user_id, datetime.now(UTC), None)
    count: int = await conn.fetchval(compiled.sql, *compiled.arguments(params))
    return count


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
    """Time spent in the scalar count subquery (an InitPlan or SubPlan; a common table is an
    InitPlan too, named CTE, and is the page's)."""
    total = 0.0
    for child in plan.get("Plans", []):
        common_table = child.get("Subplan Name", "").startswith("CTE ")
        if child.get("Parent Relationship") in {"InitPlan", "SubPlan"} and not common_table:
            total += child["Actual Total Time"] * child["Actual Loops"]
        else:
            total += _count_ms(child)
    return total


def _access_paths(plan: dict[str, Any], in_count: bool = False) -> dict[str, list[str]]:
    """How the page and the count read the table: index names, or "Seq Scan"."""
    found: dict[str, list[str]] = {"page": [], "count": []}
    where = "count" if in_count else "page"
    if "Index Name" in plan:
        kind = plan["Node Type"].replace(" Scan", "").replace("Index", "").strip()
        found[where].append(f"{plan['Index Name']}{f' ({kind})' if kind else ''}")
    elif plan["Node Type"] in {"Seq Scan", "Sort"}:
        found[where].append(plan["Node Type"])
    for child in plan.get("Plans", []):
        nested = in_count or child.get("Parent Relationship") in {"InitPlan", "SubPlan"}
        for key, names in _access_paths(child, nested).items():
            found[key] += [n for n in names if n not in found[key]]
    return found


async def explain_case(
    conn: asyncpg.Connection, sql: str, params: list[Any], repeats: int
) -> dict[str, Any]:
    # 1. The statement alone, on a prepared statement reused like the service's connection
    #    does (in the plan mode the service gives it: see run_explain).
    prepared = await conn.prepare(sql)
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        await prepared.fetch(*params)
        durations.append((time.perf_counter() - started) * 1000)

    # 2. Its plan for these values, the third time (caches warm).
    literals = ", ".join(_sql_literal(p) for p in params)
    await conn.execute(f"PREPARE bench_page AS {sql}")
    try:
        text = ""
        for _ in range(3):
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_page({literals})")
            text = "\n".join(r[0] for r in rows)
        raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_page({literals})")
    finally:
        await conn.execute("DEALLOCATE bench_page")
    document = json.loads(raw)[0]
    return {
        "sql_ms": median(durations),
        "exec_ms": document["Execution Time"],
        "count_ms": _count_ms(document["Plan"]),
        "paths": _access_paths(document["Plan"]),
        "plan": text,
    }


async def run_explain(
    database: str, secret: str, per_user: dict[str, list[Case]], repeats: int
) -> dict[tuple[str, str], dict[str, Any]]:
    conn = await asyncpg.connect(
        db_url(database),
        timeout=10,
        # As the service's sessions (todo_api.db.database): no JIT.
        server_settings={
            "jit": "off",
            "statement_timeout": "60s",
        },
    )
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        for label, user_cases in per_user.items():
            for case in user_cases:
                user_id = uuid.UUID(USERS[label])
                tagged = await tagged_count(conn, user_id, case.query)
                sql, params, shape = service_statement(user_id, case.query, secret, tagged)
                # As the service: planned per call, or once and reused.
                custom = pages.page_query(shape).custom_plans
                mode = "force_custom_plan" if custom else "auto"
                await conn.execute(f"SET plan_cache_mode = {mode}")
                results[(label, case.name)] = {
                    "sql": sql,
                    "params": [str(p) for p in params],
                    **await explain_case(conn, sql, params, repeats),
                }
                log(f"explained {label:>4} {case.name}")
    finally:
        await conn.close()
    return results


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
                "AS milk, count(*) FILTER (WHERE tags @> '[\"groceries\"]') AS groceries, "
                "count(*) FILTER (WHERE NOT is_completed) AS open "
                "FROM tasks WHERE user_id = $1 "
                "OR list_id IN (SELECT list_id FROM list_members WHERE user_id = $1)",
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
            f"User {label}: sees {f['tasks']:,} tasks, {f['milk']:,} match 'milk', "
            f"{f['groceries']:,} tagged groceries, {f['open']:,} not completed."
        )
    lines += [
        "",
        f"HTTP: sequential; per case and round, each user's block ({args.warmup} warm-up + "
        f"{args.requests} requests, for CPU), then {args.requests} requests per user with the "
        f"users in turn (latency); {args.rounds} rounds; each figure is the median over the "
        "rounds of that round's statistic (ms). Goal: p50(100k) <= "
        f"{GOAL_FACTOR} x p50(1k) + {GOAL_SLACK_MS:g} ms.",
        "",
        "| case | 1k p50 | 1k p95 | 100k p50 | 100k p95 | goal | met | 100k p50 range | totals |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for case in per_user[SMALL]:
        small, big = timings.get((SMALL, case.name)), timings.get((BIG, case.name))
        if small is None or big is None:
            continue
        goal = goal_ms(small.stat("p50"))
        met = "met" if big.stat("p50") <= goal else "**missed**"
        lines.append(
            f"| {case.name} | {small.stat('p50'):.1f} | {small.stat('p95'):.1f} | "
            f"{big.stat('p50'):.1f} | {big.stat('p95'):.1f} | {goal:.1f} | {met} | "
            f"{big.spread()} | {small.total} / {big.total} |"
        )
    lines += [
        "",
        f"Sharing: the member of {SHARED_LISTS} lists of {TASKS_PER_SHARED_LIST:,} tasks "
        f"against the user with 100 000 tasks of their own. Goal: p50(member) <= "
        f"{SHARED_GOAL_FACTOR} x p50(100k) + {SHARED_GOAL_SLACK_MS:g} ms. CPU: the server's and "
        "PostgreSQL's on-CPU time per measured request (ms), steadier than latency on a shared "
        "machine.",
        "",
        "| case | 100k p50 | member p50 | member p95 | goal | met | member p50 range | "
        "CPU server + PG, 100k / member | totals |",
        "|---|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for case in per_user[BIG]:
        big, member = timings.get((BIG, case.name)), timings.get((MEMBER, case.name))
        if big is None or member is None:
            continue
        goal = shared_goal_ms(big.stat("p50"))
        met = "met" if member.stat("p50") <= goal else "**missed**"
        lines.append(
            f"| {case.name} | {big.stat('p50'):.1f} | {member.stat('p50'):.1f} | "
            f"{member.stat('p95'):.1f} | {goal:.1f} | {met} | {member.spread()} | "
            f"{_cpu(big)} / {_cpu(member)} | {big.total} / {member.total} |"
        )
    lines += [
        "",
        f"SQL: the service's page statement alone on a reused prepared statement, planned as "
        "the service plans it, per call or once "
        f"(median of {args.sql_repeats}, ms); exec and count: EXPLAIN ANALYZE execution time "
        "and the part spent in the capped count subquery.",
        "",
        "| user | case | SQL | exec | count | access paths |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, user_cases in per_user.items():
        for case in user_cases:
            p = plans[(label, case.name)]
            paths = "; ".join(f"{k}: {' + '.join(v)}" for k, v in p["paths"].items() if v)
            lines.append(
                f"| {label} | {case.name} | {p['sql_ms']:.2f} | {p['exec_ms']:.2f} | "
                f"{p['count_ms']:.2f} | {paths} |"
            )
    lines.append("")
    for label, user_cases in per_user.items():
        for case in user_cases:
            p = plans[(label, case.name)]
            lines += [f"### {label}: {case.name}", "", "```", p["sql"], f"-- {p['params']}", ""]
            lines += [p["plan"], "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-tasks", type=int, default=1_900_000)
    parser.add_argument("--bulk-users", type=int, default=19_000)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--case-seconds", type=float, default=20.0)
    parser.add_argument("--sql-repeats", type=int, default=30)
    parser.add_argument(
        "--all-day",
        type=float,
        default=0.3,
        help="the fraction of dated tasks made all-day, in several zones (issue 24)",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--db", help="measure this existing database (never dropped)")
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
                    {SMALL_USER: 1_000, BIG_USER: 100_000, MEMBER_USER: 1_000},
                    shared_with=MEMBER_USER,
                )
            )
            asyncio.run(make_all_day(database, args.all_day))
            log(f"migrated and seeded in {time.monotonic() - started:.0f} s")
        facts = asyncio.run(table_facts(database))
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
        ]
        tokens = {label: token_for(user, env, cwd) for label, user in USERS.items()}
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            per_user, timings = run_http(server, database, tokens, args)
        plans = asyncio.run(run_explain(database, secret, per_user, args.sql_repeats))
        text = report(header, facts, per_user, timings, plans, args)
        print(text)
        if args.out:
            args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
