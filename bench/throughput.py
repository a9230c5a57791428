"""Throughput of the hot routes against the budget: todo-api vs raw Starlette + asyncpg.

    .venv/bin/python bench/throughput.py                  # seed, 3 rounds, drop the database
    .venv/bin/python bench/throughput.py --rounds 5 --duration 15
    .venv/bin/python bench/throughput.py --db NAME        # an existing database (kept)

DESIGN.md's performance budget: list 50 tasks, get one and create are to reach at least 60 %
of the throughput of a raw Starlette + asyncpg handler doing the same work (bench/
baseline_app.py), with one worker each. This script creates a PostgreSQL database with a random
name on 127.0.0.1, migrates and seeds it (a user with 1 000 tasks among --bulk-tasks others),
then, round after round, starts each server alone with one worker on a free port:

- todo-api: `todo-api serve --workers 1` (uvloop, httptools) as configured by default;
- two diagnostic variants, configuration only: DATABASE_POOL_SIZE=20 (the default 10 + 10
  overflow reopens connections under 16 concurrent requests), and that plus LOG_LEVEL=WARNING
  (no log line per request); --no-variants leaves them out;
- baseline: `uvicorn baseline_app:app --workers 1 --loop uvloop --http httptools`;

and measures each route with wrk (-t1 -c16, --warmup seconds first, then --duration seconds;
POST through bench/post_task.lua). Before measuring it checks that both servers answer the same
bodies and headers. It counts the PostgreSQL sessions that ended during each run (connection
churn) and, afterwards, the database transactions per request (pg_stat_database).
Needs wrk (Debian: apt-get install wrk). The database is dropped at the end, also on failure.
Figures are indicative: wrk, the server and PostgreSQL share the machine's cores.
"""

import argparse
import asyncio
import shutil
import time
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from benchlib import (
    SMALL_USER,
    WRITER_USER,
    Server,
    baseline_argv,
    db_url,
    exit_cleanly_on_sigterm,
    free_port,
    log,
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
STATS_FLUSH_SECONDS = 12  # backends report their statistics at most ~10 s after going idle


@dataclass(frozen=True)
class App:
    name: str
    kind: str  # "service" or "baseline"
    extra_env: tuple[tuple[str, str], ...] = ()

    def argv(self, port: int) -> list[str]:
        if self.kind == "service":
            return serve_argv(port)
        return baseline_argv(port)


SERVICE = App("todo-api", "service")
# Diagnostic variants, configuration only: a pool that covers wrk's 16 connections (the default
# 10 + 10 overflow closes and reopens overflow connections all the time), then also without
# the one INFO log line per request.
SERVICE_POOL = App("todo-api, DATABASE_POOL_SIZE=20", "service", (("DATABASE_POOL_SIZE", "20"),))
SERVICE_QUIET = App(
    "todo-api, pool 20, LOG_LEVEL=WARNING",
    "service",
    (("DATABASE_POOL_SIZE", "20"), ("LOG_LEVEL", "WARNING")),
)
BASELINE = App("baseline (Starlette + asyncpg)", "baseline")


@dataclass(frozen=True)
class Route:
    name: str
    path: str
    token: str
    script: Path | None = None


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int  # non-2xx responses and socket errors
    sessions: int = 0  # database sessions that ended during the run (connection churn)


@dataclass
class Cell:
    runs: list[WrkResult] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return median([r.rps for r in self.runs])


def run_wrk(url: str, route: Route, args: argparse.Namespace, seconds: float) -> WrkResult:
    run = wrk(
        url + route.path,
        token=route.token,
        seconds=seconds,
        connections=args.connections,
        threads=args.threads,
        script=route.script,
    )
    return WrkResult(
        rps=run.rps, p50_ms=run.p50_ms, p99_ms=run.p99_ms, requests=run.requests, bad=run.bad
    )


async def pick_task(database: str) -> str:
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        task_id = await conn.fetchval(
            "SELECT id FROM tasks WHERE user_id = $1 ORDER BY created_at DESC OFFSET 10 LIMIT 1",
            uuid.UUID(SMALL_USER),
        )
        return str(task_id)
    finally:
        await conn.close()


async def ended_sessions(database: str) -> int:
    """Sessions ended on the database so far (counted when a backend exits)."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        count: int = await conn.fetchval(
            "SELECT sessions FROM pg_stat_database WHERE datname = $1", database
        )
        return count
    finally:
        await conn.close()


async def committed_transactions(database: str) -> int:
    """The database's transaction counter, read in one transaction of a new connection."""
    conn = await asyncpg.connect(db_url(database), timeout=10)
    try:
        count: int = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            database,
        )
        return count
    finally:
        await conn.close()


def same_answers(
    service_url: str, baseline_url: str, routes: list[Route]
) -> tuple[list[str], list[str]]:
    """Where the two servers differ on the measured routes: bodies and totals (problems),
    cursors (notes: a changed signature scheme costs the same)."""
    problems: list[str] = []
    notes: list[str] = []
    for route in routes:
        headers = {"Authorization": f"Bearer {route.token}"}
        if route.script is None:
            a = httpx.get(service_url + route.path, headers=headers, timeout=10)
            b = httpx.get(baseline_url + route.path, headers=headers, timeout=10)
            if a.status_code != 200 or b.status_code != 200:
                problems.append(f"{route.name}: status {a.status_code} vs {b.status_code}")
            elif a.json() != b.json():
                problems.append(f"{route.name}: the bodies differ")
            for name in ("X-Total-Count", "X-Next-Cursor", "Link", "ETag"):
                mine = a.headers.get(name, "").replace(service_url, "")
                theirs = b.headers.get(name, "").replace(baseline_url, "")
                if mine != theirs:
                    found = problems if name == "X-Total-Count" else notes
                    found.append(
                        f"{route.name}: header {name} differs: "
                        f"{a.headers.get(name)} vs {b.headers.get(name)}"
                    )
        else:
            body = {"title": "Check", "priority": "low", "tags": ["groceries"]}
            a = httpx.post(service_url + route.path, headers=headers, json=body, timeout=10)
            b = httpx.post(baseline_url + route.path, headers=headers, json=body, timeout=10)
            if a.status_code != 201 or b.status_code != 201:
                problems.append(f"{route.name}: status {a.status_code} vs {b.status_code}")
                continue
            ja, jb = a.json(), b.json()
            volatile = {"id", "created_at", "updated_at"}
            if list(ja) != list(jb) or any(ja[k] != jb[k] for k in set(ja) - volatile):
                problems.append(f"{route.name}: the bodies differ: {ja} vs {jb}")
    return problems, notes


def transactions_per_request(
    url: str, routes: list[Route], database: str, requests: int
) -> dict[str, float]:
    """Database transactions per request of each route (an autocommit statement counts one,
    BEGIN ... COMMIT counts one), from pg_stat_database around sequential requests."""

    def send(client: httpx.Client, route: Route, count: int) -> None:
        for _ in range(count):
            if route.script is None:
                client.get(route.path).raise_for_status()
            else:
                client.post(route.path, json={"title": "Count"}).raise_for_status()

    found: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=10) as client:
        for route in routes:  # warm: connections opened, statements prepared, users ensured
            client.headers["Authorization"] = f"Bearer {route.token}"
            send(client, route, 20)
        time.sleep(STATS_FLUSH_SECONDS)
        before = asyncio.run(committed_transactions(database))
        for route in routes:
            client.headers["Authorization"] = f"Bearer {route.token}"
            send(client, route, requests)
            time.sleep(STATS_FLUSH_SECONDS)
            after = asyncio.run(committed_transactions(database))
            # The previous reading's own transaction is in the count too.
            found[route.name] = (after - before - 1) / requests
            before = after
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-tasks", type=int, default=200_000)
    parser.add_argument("--bulk-users", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk before")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--no-variants", action="store_true", help="only todo-api as configured and the baseline"
    )
    parser.add_argument("--no-tx-check", action="store_true")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--db", help="use this existing database (never dropped)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (Debian: apt-get install wrk)")
    exit_cleanly_on_sigterm()
    variants = [] if args.no_variants else [SERVICE_POOL, SERVICE_QUIET]
    apps = [SERVICE, *variants, BASELINE]

    secret = new_secret()
    with (
        work_dir() as cwd,
        scratch_database("bench_tp", keep=args.keep, existing=args.db) as database,
    ):
        env = service_env(database, secret)
        if not args.db:
            migrate(env, cwd)
            asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, {SMALL_USER: 1_000}))
        reader = token_for(SMALL_USER, env, cwd)
        writer = token_for(WRITER_USER, env, cwd)
        task_id = asyncio.run(pick_task(database))
        routes = [
            Route("list 50 (GET /api/tasks)", "/api/tasks", reader),
            Route("get one (GET /api/tasks/{id})", f"/api/tasks/{task_id}", reader),
            Route("create (POST /api/tasks)", "/api/tasks", writer, POST_SCRIPT),
        ]
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
            f"wrk -t{args.threads} -c{args.connections}: {args.warmup:g} s warm-up, then "
            f"{args.duration:g} s measured; {args.rounds} rounds, servers restarted and their "
            "order rotated each round; figures are medians over the rounds.",
        ]

        def start(app: App) -> AbstractContextManager[Server]:
            port = free_port()
            app_env = {**env, **dict(app.extra_env)}
            return running_server(app.kind, app.argv(port), app_env, cwd, port)

        with start(SERVICE) as service, start(BASELINE) as baseline:
            problems, notes = same_answers(service.url, baseline.url, routes)
        for note in notes:
            log(f"note: {note}")
        for problem in problems:
            log(f"MISMATCH {problem}")
        if problems:
            raise SystemExit("the baseline does not answer as the service does")
        log("service and baseline answer the same bodies and headers")

        cells: dict[tuple[str, str], Cell] = {}
        for round_no in range(args.rounds):
            order = apps[round_no % len(apps) :] + apps[: round_no % len(apps)]
            for app in order:
                with start(app) as server:
                    for route in routes:
                        run_wrk(server.url, route, args, args.warmup)
                        before = asyncio.run(ended_sessions(database))
                        result = run_wrk(server.url, route, args, args.duration)
                        time.sleep(1)  # backends that were closed finish exiting
                        # Less the session that read the counter before.
                        result.sessions = asyncio.run(ended_sessions(database)) - before - 1
                        cells.setdefault((app.name, route.name), Cell()).runs.append(result)
                        log(
                            f"round {round_no + 1} {app.name:<30} {route.name:<30} "
                            f"{result.rps:8.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                            f"p99 {result.p99_ms:6.2f} ms  bad {result.bad}  "
                            f"sessions {result.sessions}"
                        )

        transactions: dict[tuple[str, str], float] = {}
        if not args.no_tx_check:
            for app in (SERVICE, BASELINE):
                with start(app) as server:
                    counted = transactions_per_request(server.url, routes, database, 200)
                for route_name, per_request in counted.items():
                    transactions[(app.name, route_name)] = per_request

    lines = [*header, ""]
    lines += [
        "| route | server | req/s | range | p50 ms | p99 ms | errors | new db sessions "
        "/ 1000 req | db tx / req |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for route in routes:
        for app in apps:
            cell = cells[(app.name, route.name)]
            rps = [r.rps for r in cell.runs]
            churn = 1000 * sum(r.sessions for r in cell.runs) / sum(r.requests for r in cell.runs)
            tx = transactions.get((app.name, route.name))
            lines.append(
                f"| {route.name} | {app.name} | {cell.rps:.0f} | {min(rps):.0f}-{max(rps):.0f} "
                f"| {median([r.p50_ms for r in cell.runs]):.2f} "
                f"| {median([r.p99_ms for r in cell.runs]):.2f} "
                f"| {sum(r.bad for r in cell.runs)} | {churn:.1f} "
                f"| {'' if tx is None else f'{tx:.2f}'} |"
            )
    services = [app for app in apps if app.kind == "service"]
    lines += ["", "| route | " + " | ".join(f"{a.name} / baseline" for a in services) + " |"]
    lines += ["|---|" + "---:|" * len(services)]
    for route in routes:
        base = cells[(BASELINE.name, route.name)].rps
        ratios = []
        for app in services:
            ratio = cells[(app.name, route.name)].rps / base
            verdict = "" if ratio >= 0.6 else " (below 60 %)"
            ratios.append(f"{ratio:.0%}{verdict}")
        lines.append(f"| {route.name} | " + " | ".join(ratios) + " |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
