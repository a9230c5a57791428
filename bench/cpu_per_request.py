"""Server CPU per request of the hot routes: todo-api vs the raw baseline and the floor.

    .venv/bin/python bench/cpu_per_request.py                      # seed, 3 rounds, drop the db
    .venv/bin/python bench/cpu_per_request.py --rounds 1 --duration 5
    .venv/bin/python bench/cpu_per_request.py --routes list,get --connections 16
    .venv/bin/python bench/cpu_per_request.py --routes quick,filter,comments  # the new routes
    .venv/bin/python bench/cpu_per_request.py --keep               # keep the seeded database
    .venv/bin/python bench/cpu_per_request.py --db NAME            # a database kept that way

DESIGN.md's performance budget: on the hot routes todo-api is to spend at most 1/0.6 of the
server CPU per request of a raw Starlette + asyncpg handler doing the same work
(bench/baseline_app.py, as lean as the service could be: orjson, uvloop, httptools, the same
token cache, the service's SQL, bodies and headers), one worker each, and issue 55's goal at
most 1.25 times; the report gives todo-api / baseline (lower is better). Its p99 latency is to
stay within 3 times the baseline's. The routes: list 50 (GET /api/tasks, default sort and
limit: X-Total-Count, X-Next-Cursor and Link), get one, create (bench/post_task.lua's body),
PATCH (a priority, "high" and "low" in turn, over --patch-tasks tasks) and complete (POST
/api/tasks/{id}/complete, each request a different open task: the --complete-tasks tasks are
reopened in SQL before every wrk run, and a run that would need more fails).

Under the baseline, the floor (issue 87): the same five routes as one bare ASGI callable over
asyncpg, without Starlette (bench/floor_app.py: the baseline's work, the same SQL, bodies and
headers, under the same uvicorn settings), measured in the same rounds as a third server. Its
goal: todo-api at most 1.2 times the floor's server CPU on each of the five routes; the report
gives todo-api / floor and baseline / floor (what Starlette itself costs).

Issue 55's new routes, each against its own lean baseline (goal: at most 1.5 times its CPU),
measured when named in --routes: quick add (POST /api/tasks/quick, bench/quick_add.lua's
words), a filtered list (GET /api/tasks?filter=p1 & @work: a user of 1 000 tasks, every fifth
high and tagged work, so that the page is full and has a next one) and a task's comments (GET
/api/tasks/{id}/comments: 20 comments, every fifth mentioning the user).

The script creates a PostgreSQL database with a random name on 127.0.0.1, migrates and seeds
it, checks that the baseline and the floor answer the service's bodies and headers and send its
statements and parameters (`sql_parity.py`), then, round after round, starts the three servers
with one worker each on free ports (todo-api: `todo-api serve --workers 1` as configured by
default; baseline and floor: `uvicorn --workers 1 --loop uvloop --http httptools`) and runs wrk
on each route, on one server then at once on the next (their order rotated each round; the
others idle meanwhile), -t1 -c32 by default: --warmup seconds, then --duration seconds
measured. The runs of a route are seconds apart, so that a machine whose speed drifts (a shared
host's neighbours) slows them alike: the CPU ratio reported is the median of the rounds'
ratios, not the ratio of two medians taken minutes apart. Around the measured run it reads
utime + stime of the server's processes (the server and its children) from /proc/<pid>/stat and
divides by the requests wrk made; the CPU of the PostgreSQL backends serving the database is
read the same way (backends alive at the end of the run), beside the sessions opened
(connection churn). Any non-2xx answer or socket error stops the script. Figures are medians
over the rounds. Needs wrk (bench/setup.sh). The database is dropped at the end, also on
failure."""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from benchlib import (
    ADMIN_URL,
    COMMENTS,
    FILTER,
    FILTER_USER,
    QUICK_TEXT,
    SENTENCES,
    SMALL_USER,
    WRITER_USER,
    Server,
    WrkRun,
    baseline_argv,
    cpu_seconds,
    cpu_seconds_of,
    db_url,
    exit_cleanly_on_sigterm,
    floor_argv,
    free_port,
    log,
    machine_cpu_seconds,
    machine_summary,
    median,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    seed,
    serve_argv,
    server_version,
    service_env,
    source_summary,
    token_for,
    work_dir,
    wrk,
)

BENCH_DIR = Path(__file__).resolve().parent
POST_SCRIPT = BENCH_DIR / "post_task.lua"
QUICK_SCRIPT = BENCH_DIR / "quick_add.lua"
IDS_SCRIPT = BENCH_DIR / "task_ids.lua"
PATCH_USER = "00000000-0000-4000-8000-000000009a7c"  # the tasks PATCH changes
COMPLETE_USER = "00000000-0000-4000-8000-00000000c0de"  # the tasks complete closes
PATCH_BODIES = ('{"priority": "high"}', '{"priority": "low"}')
DEFAULT_ROUTES = ("list", "get", "create", "patch", "complete")
NEW_ROUTES = ("quick", "filter", "comments")
ROUTE_NAMES = DEFAULT_ROUTES + NEW_ROUTES
CPU_BUDGET = 0.6  # baseline CPU / todo-api CPU, at least (DESIGN.md)
CPU_GOAL = 1.25  # todo-api CPU / baseline CPU, at most (issue 55's goal)
NEW_ROUTE_GOAL = 1.5  # the same for issue 55's new routes
P99_BUDGET = 3.0  # todo-api p99 / baseline p99, at most
DB_BUDGET = 2.0  # todo-api PostgreSQL CPU / baseline PostgreSQL CPU, at most
SETTLE_SECONDS = 0.5  # after wrk: in-flight requests finish, exiting backends report


@dataclass(frozen=True)
class App:
    name: str
    kind: str  # "service", "baseline" or "floor"

    def argv(self, port: int) -> list[str]:
        if self.kind == "service":
            return serve_argv(port)
        if self.kind == "floor":
            return floor_argv(port)
        return baseline_argv(port)

    def serves(self, route: "Route") -> bool:
        return self.kind != "floor" or route.key in DEFAULT_ROUTES


SERVICE = App("todo-api", "service")
BASELINE = App("baseline", "baseline")
FLOOR = App("floor", "floor")
APPS = (SERVICE, BASELINE, FLOOR)
FLOOR_GOAL = 1.2  # todo-api CPU / floor CPU, at most (issue 87's goal)


@dataclass(frozen=True)
class Route:
    key: str
    name: str
    path: str  # for wrk; the ids script adds the task's id
    token: str
    script: Path | None = None
    script_args: tuple[str, ...] = ()

    @property
    def goal(self) -> float:
        return NEW_ROUTE_GOAL if self.key in NEW_ROUTES else CPU_GOAL


@dataclass
class Measure:
    cpu_ms: float  # server CPU per request
    db_cpu_ms: float  # PostgreSQL backends' CPU per request
    machine_cpu_ms: float  # the whole machine's CPU per request (wrk and others included)
    sessions: int  # database sessions opened during the run
    run: WrkRun


@dataclass
class Cell:
    runs: list[Measure] = field(default_factory=list)

    def median(self, value: Callable[[Measure], float]) -> float:
        return median([value(m) for m in self.runs])

    def spread(self, value: Callable[[Measure], float], digits: int) -> str:
        values = [value(m) for m in self.runs]
        return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


# --- the database ---------------------------------------------------------------------------


async def _connect(url: str) -> asyncpg.Connection:
    """A connection of the script's own, waited for while the shared server has no slot left
    (other people's suites), rather than a run lost between two measurements."""
    for _ in range(30):
        try:
            return await asyncpg.connect(url, timeout=10)
        except asyncpg.TooManyConnectionsError:
            await asyncio.sleep(1)
    return await asyncpg.connect(url, timeout=10)


async def _fetch(database: str, query: str, *params: Any) -> list[asyncpg.Record]:
    conn = await _connect(db_url(database))
    try:
        return await conn.fetch(query, *params)
    finally:
        await conn.close()


def task_ids(database: str, user: str, limit: int) -> list[str]:
    rows = asyncio.run(
        _fetch(
            database,
            "SELECT id FROM tasks WHERE user_id = $1 ORDER BY id LIMIT $2",
            uuid.UUID(user),
            limit,
        )
    )
    return [str(r["id"]) for r in rows]


def reopen_all(database: str, user: str) -> int:
    """Reopens the user's completed tasks; returns how many there were."""
    rows = asyncio.run(
        _fetch(
            database,
            "WITH reopened AS (UPDATE tasks SET is_completed = false, completed_at = NULL "
            "WHERE user_id = $1 AND is_completed RETURNING 1) SELECT count(*) FROM reopened",
            uuid.UUID(user),
        )
    )
    count: int = rows[0][0]
    return count


async def _db_snapshot(database: str) -> tuple[dict[int, float], int]:
    """The CPU seconds of each client backend on the database, and its session counter
    (read from the admin database, so that this connection is counted in neither)."""
    conn = await _connect(ADMIN_URL)
    try:
        pids = await conn.fetch(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = $1 AND backend_type = 'client backend'",
            database,
        )
        sessions: int = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", database
        )
    finally:
        await conn.close()
    return cpu_seconds_of([r["pid"] for r in pids]), sessions


def db_snapshot(database: str) -> tuple[dict[int, float], int]:
    return asyncio.run(_db_snapshot(database))


async def seed_new_routes(database: str) -> None:
    """What the filter and comments routes read: every fifth of FILTER_USER's tasks (in
    creation order) made high and tagged work, beside the tags the seed gave it, and COMMENTS
    comments on their first task by id, oldest first an hour apart, every fifth mentioning
    the user."""
    user = uuid.UUID(FILTER_USER)
    conn = await _connect(db_url(database))
    try:
        await conn.execute(
            "UPDATE tasks SET priority = 3, "
            "tags = CASE WHEN tags @> '[\"work\"]' THEN tags ELSE tags || '[\"work\"]' END "
            "FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n "
            "      FROM tasks WHERE user_id = $1) AS numbered "
            "WHERE tasks.id = numbered.id AND numbered.n % 5 = 0",
            user,
        )
        await conn.execute(
            "INSERT INTO task_comments (id, task_id, user_id, list_id, author_id, body, "
            "mentions, created_at, updated_at) "
            "SELECT gen_random_uuid(), task.id, $1::uuid, NULL, $1::uuid, "
            "($3::text[])[1 + g % cardinality($3::text[])] "
            "|| CASE WHEN g % 5 = 0 THEN ' @[Me](' || $1::text || ')' ELSE '' END, "
            "CASE WHEN g % 5 = 0 THEN json_build_array($1::text) ELSE '[]'::json END, "
            "now() - ($2::int - g) * interval '1 hour', now() - ($2::int - g) * interval '1 hour' "
            "FROM (SELECT id FROM tasks WHERE user_id = $1::uuid ORDER BY id LIMIT 1) AS task, "
            "generate_series(1, $2::int) AS g",
            user,
            COMMENTS,
            SENTENCES,
        )
        for table in ("tasks", "task_tags", "task_comments"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()


# --- checks ---------------------------------------------------------------------------------


PER_REQUEST = ("date", "x-request-id")


def headers_of(response: httpx.Response, *left_out: str) -> list[tuple[str, str]]:
    """The response's headers, sorted, but for those that differ on every request and
    `left_out` (lower case)."""
    skipped = {*PER_REQUEST, *left_out}
    return sorted((k, v) for k, v in response.headers.multi_items() if k not in skipped)


def same_answers(
    service_url: str, baseline_url: str, routes: list[Route], ids: dict[str, str]
) -> list[str]:
    """Where the two servers' answers differ on the measured routes (empty: none)."""
    problems: list[str] = []
    # Both servers write to one database: the second create goes after the first (position).
    volatile = {"id", "position", "created_at", "updated_at"}

    def call(base: str, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, base + path, headers=headers, json=body, timeout=10)

    for route in routes:
        token = route.token
        if route.key in {"list", "get", "filter", "comments"}:
            a = call(service_url, "GET", route.path, token)
            b = call(baseline_url, "GET", route.path, token)
            if a.status_code != 200 or b.status_code != 200:
                problems.append(f"{route.key}: status {a.status_code} vs {b.status_code}")
                continue
            if a.content != b.content:  # byte for byte: field order, spacing, escapes
                problems.append(f"{route.key}: the bodies differ")
            # Every header but the request's own id and the date (the cursor is signed with the
            # shared secret: the same last task, the same bytes).
            if headers_of(a) != headers_of(b):
                problems.append(f"{route.key}: headers {headers_of(a)} vs {headers_of(b)}")
        elif route.key in {"create", "quick"}:
            body: dict[str, Any] = {"title": "Check", "priority": "low", "tags": ["groceries"]}
            if route.key == "quick":
                body = {"text": QUICK_TEXT}
            a = call(service_url, "POST", route.path, token, body)
            b = call(baseline_url, "POST", route.path, token, body)
            if a.status_code != 201 or b.status_code != 201:
                problems.append(f"{route.key}: status {a.status_code} vs {b.status_code}")
                continue
            ja, jb = a.json(), b.json()
            if list(ja) != list(jb) or any(ja[k] != jb[k] for k in set(ja) - volatile):
                problems.append(f"{route.key}: the bodies differ: {ja} vs {jb}")
            if headers_of(a, "location", "content-length") != headers_of(
                b, "location", "content-length"
            ):
                problems.append(f"{route.key}: headers {headers_of(a)} vs {headers_of(b)}")
        elif route.key == "patch":
            path = f"/api/tasks/{ids['patch']}"
            a = call(service_url, "PATCH", path, token, {"priority": "medium"})
            b = call(baseline_url, "PATCH", path, token, {"priority": "medium"})
            if a.status_code != 200 or b.status_code != 200:
                problems.append(f"patch: status {a.status_code} vs {b.status_code}")
                continue
            ja, jb = a.json(), b.json()
            if list(ja) != list(jb) or any(ja[k] != jb[k] for k in set(ja) - {"updated_at"}):
                problems.append(f"patch: the bodies differ: {ja} vs {jb}")
            if headers_of(a, "etag", "content-length") != headers_of(b, "etag", "content-length"):
                problems.append(f"patch: headers {headers_of(a)} vs {headers_of(b)}")
            versions = [int(r.headers.get("ETag", '"0"').strip('"')) for r in (a, b)]
            if versions[1] != versions[0] + 1:
                problems.append(f"patch: ETags {a.headers.get('ETag')}, {b.headers.get('ETag')}")
        elif route.key == "complete":
            # Each completes one open task, then the other server completes it again: that
            # answer is the task as it was left, the same body and ETag.
            for first, second, task in (
                (service_url, baseline_url, ids["complete_a"]),
                (baseline_url, service_url, ids["complete_b"]),
            ):
                path = f"/api/tasks/{task}/complete"
                a = call(first, "POST", path, token)
                b = call(second, "POST", path, token)
                if a.status_code != 200 or b.status_code != 200:
                    problems.append(f"complete: status {a.status_code} vs {b.status_code}")
                    continue
                if not a.json()["is_completed"] or a.json()["completed_at"] is None:
                    problems.append(f"complete: not completed: {a.json()}")
                if a.content != b.content or headers_of(a) != headers_of(b):
                    problems.append(f"complete: the answers differ: {a.json()} vs {b.json()}")
    return problems


def refuse_errors(route: Route, app: App, run: WrkRun, server: Server) -> None:
    if run.bad:
        tail = "\n".join(server.log().splitlines()[-20:])
        raise SystemExit(
            f"{app.name} {route.key}: {run.non_2xx} non-2xx answers and {run.socket_errors} "
            f"socket errors in {run.requests} requests\n{run.output}\n{app.name}'s log:\n{tail}"
        )


# --- the report -----------------------------------------------------------------------------


def report(cells: dict[tuple[str, str], Cell], routes: list[Route]) -> list[str]:
    lines = [
        "| route | server | CPU ms/req | range | req/s | p50 ms | p99 ms | db CPU ms/req "
        "| machine CPU ms/req | new db sessions / 1000 req |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route in routes:
        for app in APPS:
            if not app.serves(route):
                continue
            cell = cells[(app.name, route.key)]
            requests = sum(m.run.requests for m in cell.runs)
            churn = 1000 * sum(m.sessions for m in cell.runs) / requests
            lines.append(
                f"| {route.name} | {app.name} | {cell.median(lambda m: m.cpu_ms):.3f} "
                f"| {cell.spread(lambda m: m.cpu_ms, 3)} "
                f"| {cell.median(lambda m: m.run.rps):.0f} "
                f"| {cell.median(lambda m: m.run.p50_ms):.1f} "
                f"| {cell.median(lambda m: m.run.p99_ms):.1f} "
                f"| {cell.median(lambda m: m.db_cpu_ms):.3f} "
                f"| {cell.median(lambda m: m.machine_cpu_ms):.3f} | {churn:.1f} |"
            )
    lines += [
        "",
        f"| route | todo-api CPU / baseline CPU (budget <= {1 / CPU_BUDGET:.2f}) | goal "
        f"| todo-api p99 / baseline p99 (<= {P99_BUDGET:g}) | req/s todo-api / baseline "
        f"| todo-api db CPU / baseline db CPU (<= {DB_BUDGET:g}) "
        f"| baseline machine CPU / todo-api machine CPU (>= {CPU_BUDGET}) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for route in routes:
        mine, theirs = cells[(SERVICE.name, route.key)], cells[(BASELINE.name, route.key)]
        # A round measures a route on both servers seconds apart: its ratio is the two runs'
        # under the same conditions of the machine, and the median of those ratios is the one
        # the goal is read from.
        cpu = median([a.cpu_ms / b.cpu_ms for a, b in zip(mine.runs, theirs.runs, strict=True)])
        p99 = mine.median(lambda m: m.run.p99_ms) / theirs.median(lambda m: m.run.p99_ms)
        rps = mine.median(lambda m: m.run.rps) / theirs.median(lambda m: m.run.rps)
        db = mine.median(lambda m: m.db_cpu_ms) / theirs.median(lambda m: m.db_cpu_ms)
        machine = theirs.median(lambda m: m.machine_cpu_ms) / mine.median(
            lambda m: m.machine_cpu_ms
        )
        db_verdict = "" if db <= DB_BUDGET else " (missed)"
        machine_verdict = "" if machine >= CPU_BUDGET else " (missed)"
        cpu_verdict = (
            "" if cpu <= route.goal else " (goal missed)" if cpu <= 1 / CPU_BUDGET else " (missed)"
        )
        p99_verdict = "" if p99 <= P99_BUDGET else " (missed)"
        lines.append(
            f"| {route.name} | {cpu:.2f}{cpu_verdict} | <= {route.goal:g} "
            f"| {p99:.1f}{p99_verdict} | {rps:.2f} "
            f"| {db:.2f}{db_verdict} | {machine:.2f}{machine_verdict} |"
        )
    floored = [route for route in routes if FLOOR.serves(route)]
    if not floored:
        return lines
    lines += [
        "",
        f"| route | todo-api CPU / floor CPU (goal <= {FLOOR_GOAL:g}) | baseline CPU / floor CPU "
        "| todo-api p99 / floor p99 | todo-api db CPU / floor db CPU |",
        "|---|---:|---:|---:|---:|",
    ]
    for route in floored:
        floor = cells[(FLOOR.name, route.key)]

        mine = cells[(SERVICE.name, route.key)]
        cpu = _over(cells, SERVICE, route)
        verdict = "" if cpu <= FLOOR_GOAL else " (goal missed)"
        p99 = mine.median(lambda m: m.run.p99_ms) / floor.median(lambda m: m.run.p99_ms)
        db = mine.median(lambda m: m.db_cpu_ms) / floor.median(lambda m: m.db_cpu_ms)
        lines.append(
            f"| {route.name} | {cpu:.2f}{verdict} | {_over(cells, BASELINE, route):.2f} "
            f"| {p99:.1f} | {db:.2f} |"
        )
    return lines


def _over(cells: dict[tuple[str, str], Cell], app: App, route: Route) -> float:
    """The median of the rounds' ratios of `app`'s CPU per request to the floor's."""
    runs, floor = cells[(app.name, route.key)].runs, cells[(FLOOR.name, route.key)].runs
    return median([a.cpu_ms / b.cpu_ms for a, b in zip(runs, floor, strict=True)])


# --- the run --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--routes",
        default=",".join(DEFAULT_ROUTES),
        help=f"comma-separated, of {', '.join(ROUTE_NAMES)} (default: the first five)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before (0: none)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bulk-tasks", type=int, default=200_000)
    parser.add_argument("--bulk-users", type=int, default=2_000)
    parser.add_argument("--patch-tasks", type=int, default=1_000)
    parser.add_argument(
        "--complete-tasks",
        type=int,
        default=40_000,
        help="open tasks for complete; a run needing more fails",
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--db", help="a database kept by --keep (never dropped)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    args.route_keys = [r.strip() for r in args.routes.split(",") if r.strip()]
    unknown = set(args.route_keys) - set(ROUTE_NAMES)
    if unknown or not args.route_keys:
        parser.error(f"--routes: choose from {', '.join(ROUTE_NAMES)}")
    if not 1 <= args.rounds <= 20 or not 1 <= args.duration <= 600 or not 0 <= args.warmup <= 600:
        parser.error("--rounds 1 to 20, --duration 1 to 600 s, --warmup 0 to 600 s")
    if not 1 <= args.connections <= 1_000 or args.threads < 1:
        parser.error("--connections 1 to 1 000, --threads at least 1")
    if args.threads > args.connections or args.threads > args.patch_tasks:
        parser.error("--threads must not exceed --connections or --patch-tasks")
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (sh bench/setup.sh)")
    return args


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    with (
        work_dir() as cwd,
        scratch_database("bench_cpu", keep=args.keep, existing=args.db) as database,
    ):
        env = service_env(database, secret)
        if not args.db:
            migrate(env, cwd)
            specials = {
                SMALL_USER: 1_000,
                PATCH_USER: args.patch_tasks,
                COMPLETE_USER: args.complete_tasks,
                FILTER_USER: 1_000,
            }
            asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, specials))
            asyncio.run(seed_new_routes(database))
        reader = token_for(SMALL_USER, env, cwd)
        patch_ids = task_ids(database, PATCH_USER, args.patch_tasks)
        complete_ids = task_ids(database, COMPLETE_USER, args.complete_tasks)
        (cwd / "patch_ids.txt").write_text("\n".join(patch_ids) + "\n")
        (cwd / "complete_ids.txt").write_text("\n".join(complete_ids) + "\n")
        reopen_all(database, COMPLETE_USER)
        get_id = task_ids(database, SMALL_USER, 11)[-1]
        commented_id = task_ids(database, FILTER_USER, 1)[0]
        filter_reader = token_for(FILTER_USER, env, cwd)
        threads = str(args.threads)
        all_routes = {
            "list": Route("list", "list 50", "/api/tasks", reader),
            "get": Route("get", "get one", f"/api/tasks/{get_id}", reader),
            "create": Route(
                "create", "create", "/api/tasks", token_for(WRITER_USER, env, cwd), POST_SCRIPT
            ),
            "patch": Route(
                "patch",
                "PATCH",
                "/",
                token_for(PATCH_USER, env, cwd),
                IDS_SCRIPT,
                (str(cwd / "patch_ids.txt"), threads, "PATCH", "", *PATCH_BODIES),
            ),
            "complete": Route(
                "complete",
                "complete",
                "/",
                token_for(COMPLETE_USER, env, cwd),
                IDS_SCRIPT,
                (str(cwd / "complete_ids.txt"), threads, "POST", "/complete"),
            ),
            "quick": Route(
                "quick",
                "quick add",
                "/api/tasks/quick",
                token_for(WRITER_USER, env, cwd),
                QUICK_SCRIPT,
            ),
            "filter": Route(
                "filter", "filter", f"/api/tasks?{urlencode({'filter': FILTER})}", filter_reader
            ),
            "comments": Route(
                "comments", "comments", f"/api/tasks/{commented_id}/comments", filter_reader
            ),
        }
        routes = [all_routes[key] for key in ROUTE_NAMES if key in args.route_keys]
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
            f"wrk -t{args.threads} -c{args.connections}: {args.warmup:g} s warm-up, then "
            f"{args.duration:g} s measured; {args.rounds} rounds, the servers restarted and their "
            "order rotated each round, each route run on one server after the other; figures "
            "are medians over the rounds (range: min-max), CPU ratios the medians of the "
            "rounds' ratios.",
        ]

        def start(app: App) -> AbstractContextManager[Server]:
            port = free_port()
            return running_server(app.kind, app.argv(port), env, cwd, port)

        with start(SERVICE) as service, start(BASELINE) as baseline, start(FLOOR) as floor:
            problems = same_answers(
                service.url,
                baseline.url,
                routes,
                {
                    "patch": patch_ids[0],
                    "complete_a": complete_ids[0],
                    "complete_b": complete_ids[1],
                },
            )
            problems += [
                f"floor {problem}"
                for problem in same_answers(
                    service.url,
                    floor.url,
                    [route for route in routes if FLOOR.serves(route)],
                    {
                        "patch": patch_ids[1],
                        "complete_a": complete_ids[2],
                        "complete_b": complete_ids[3],
                    },
                )
            ]
        for problem in problems:
            log(f"MISMATCH {problem}")
        if problems:
            raise SystemExit("the baseline or the floor does not answer as the service does")
        log("service, baseline and floor answer the same bodies and headers")
        # ... having sent the same statements (in this process, not the servers: sql_parity.py)
        parity = [sys.executable, str(Path(__file__).with_name("sql_parity.py")), "--db", database]
        if subprocess.run(parity, env={**os.environ, **env}, check=False, timeout=300).returncode:
            raise SystemExit("the baseline or the floor does not send the service's statements")
        log("service, baseline and floor send the same statements and parameters")

        def load(route: Route, url: str, seconds: float) -> WrkRun:
            return wrk(
                url + route.path,
                token=route.token,
                seconds=seconds,
                connections=args.connections,
                threads=args.threads,
                script=route.script,
                script_args=route.script_args,
            )

        cells: dict[tuple[str, str], Cell] = {}
        for round_no in range(args.rounds):
            order = APPS[round_no % len(APPS) :] + APPS[: round_no % len(APPS)]
            with start(SERVICE) as service, start(BASELINE) as baseline, start(FLOOR) as floor:
                servers = {SERVICE.name: service, BASELINE.name: baseline, FLOOR.name: floor}
                for route in routes:
                    for app in order:
                        if not app.serves(route):
                            continue
                        server = servers[app.name]
                        pid = server.process.pid
                        if route.key == "complete":
                            reopen_all(database, COMPLETE_USER)
                        if args.warmup > 0:
                            warm = load(route, server.url, args.warmup)
                            refuse_errors(route, app, warm, server)
                        if route.key == "complete":
                            reopen_all(database, COMPLETE_USER)
                        db_before, sessions_before = db_snapshot(database)
                        cpu_before = cpu_seconds(pid)
                        machine_before = machine_cpu_seconds()
                        result = load(route, server.url, args.duration)
                        time.sleep(SETTLE_SECONDS)
                        machine_after = machine_cpu_seconds()
                        cpu_after = cpu_seconds(pid)
                        db_after, sessions_after = db_snapshot(database)
                        refuse_errors(route, app, result, server)
                        if route.key == "complete":
                            done = reopen_all(database, COMPLETE_USER)
                            if done < result.requests:
                                raise SystemExit(
                                    f"{app.name} complete: {result.requests} requests but only "
                                    f"{done} tasks completed: raise --complete-tasks"
                                )
                        db_cpu = sum(t - db_before.get(p, 0.0) for p, t in db_after.items())
                        measure = Measure(
                            cpu_ms=1000 * (cpu_after - cpu_before) / result.requests,
                            db_cpu_ms=1000 * db_cpu / result.requests,
                            machine_cpu_ms=1000
                            * (machine_after - machine_before)
                            / result.requests,
                            sessions=sessions_after - sessions_before,
                            run=result,
                        )
                        cells.setdefault((app.name, route.key), Cell()).runs.append(measure)
                        log(
                            f"round {round_no + 1} {app.name:<9} {route.name:<8} "
                            f"CPU {measure.cpu_ms:6.3f} ms/req  {result.rps:7.0f} req/s  "
                            f"p50 {result.p50_ms:6.1f} ms  p99 {result.p99_ms:6.1f} ms  "
                            f"db CPU {measure.db_cpu_ms:5.3f} ms/req  "
                            f"machine CPU {measure.machine_cpu_ms:5.3f} ms/req  "
                            f"sessions {measure.sessions}"
                        )

    text = "\n".join([*header, "", *report(cells, routes)])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
