"""Server CPU per request of quick add (POST /api/tasks/quick) against a plain create
(POST /api/tasks) of a task like it: one todo-api worker, the same user, PostgreSQL.

    .venv/bin/python bench/quick_add_cpu.py                 # seed, 3 rounds, drop the db
    .venv/bin/python bench/quick_add_cpu.py --rounds 2 --duration 6

The goal (issue 51): quick add's server CPU within 2 x a plain create's. Quick add reads its
words (todo_api.words: a grammar over each language's words, no dateparser for a quick
add's text) and the user's zone, then makes the task on the create path. The bodies:
bench/post_task.lua (a title, description, priority and two tags) and bench/quick_add.lua
(`Buy milk tomorrow 5pm @groceries @errands p3`).

Each round starts one server, then runs wrk (-t1 -c32 by default) on each route in turn (the
order rotated every round): --warmup seconds, then --duration seconds measured. CPU is read as
in cpu_per_request.py (the server's process tree and the database's backends, from /proc).
Figures are medians over the rounds. Needs wrk (bench/setup.sh). The database is dropped at
the end.
"""

import argparse
import asyncio
import shutil
import time
from pathlib import Path

from benchlib import (
    SMALL_USER,
    WrkRun,
    cpu_spent,
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
    server_and_database_cpu,
    server_version,
    service_env,
    source_summary,
    token_for,
    work_dir,
    wrk,
)

SETTLE_SECONDS = 0.5
GOAL = 2.0
BENCH_DIR = Path(__file__).resolve().parent
ROUTES = {
    "create": ("/api/tasks", BENCH_DIR / "post_task.lua"),
    "quick add": ("/api/tasks/quick", BENCH_DIR / "quick_add.lua"),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bulk-tasks", type=int, default=20_000)
    parser.add_argument("--bulk-users", type=int, default=200)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (sh bench/setup.sh)")
    return args


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    with work_dir() as cwd, scratch_database("bench_quick") as database:
        env = service_env(database, new_secret())
        migrate(env, cwd)
        asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, {SMALL_USER: 1_000}))
        jwt = token_for(SMALL_USER, env, cwd)
        port = free_port()
        kinds = list(ROUTES)
        results: dict[str, list[tuple[float, float, WrkRun]]] = {kind: [] for kind in kinds}
        for round_no in range(args.rounds):
            with running_server("service", serve_argv(port), env, cwd, port) as server:
                order = kinds[round_no % 2 :] + kinds[: round_no % 2]
                for kind in order:

                    def load(seconds: float, route: tuple[str, Path] = ROUTES[kind]) -> WrkRun:
                        run = wrk(
                            server.url + route[0],
                            token=jwt,
                            seconds=seconds,
                            connections=args.connections,
                            script=route[1],
                        )
                        if run.bad:
                            raise SystemExit(f"errors:\n{run.output}")
                        return run

                    load(args.warmup)
                    before = asyncio.run(server_and_database_cpu(server, database))
                    run = load(args.duration)
                    time.sleep(SETTLE_SECONDS)
                    after = asyncio.run(server_and_database_cpu(server, database))
                    server_s, db_s = cpu_spent(before, after)
                    server_ms, db_ms = 1000 * server_s / run.requests, 1000 * db_s / run.requests
                    results[kind].append((server_ms, db_ms, run))
                    log(
                        f"round {round_no + 1} {kind:<15} server {server_ms:.3f} ms/req  "
                        f"PostgreSQL {db_ms:.3f} ms/req  {run.rps:.0f} req/s  "
                        f"p50 {run.p50_ms:.1f} ms  p99 {run.p99_ms:.1f} ms"
                    )
        lines = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
            f"POST, wrk -t1 -c{args.connections}, {args.warmup:g} s warm-up, "
            f"{args.duration:g} s measured, {args.rounds} rounds (medians)",
            "",
            "| route | server ms/req | PostgreSQL ms/req | total | req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        totals = {}
        for kind in kinds:
            rows = results[kind]
            server_ms = median([r[0] for r in rows])
            db_ms = median([r[1] for r in rows])
            totals[kind] = server_ms
            total = median([r[0] + r[1] for r in rows])
            lines.append(
                f"| {kind} | {server_ms:.3f} | {db_ms:.3f} | {total:.3f} | "
                f"{median([r[2].rps for r in rows]):.0f} | "
                f"{median([r[2].p50_ms for r in rows]):.1f} | "
                f"{median([r[2].p99_ms for r in rows]):.1f} |"
            )
        ratio = totals["quick add"] / totals["create"]
        verdict = "holds" if ratio <= GOAL else "misses"
        lines += ["", f"quick add / create (server CPU): {ratio:.2f} ({verdict} <= {GOAL})"]
        print("\n".join(lines))


if __name__ == "__main__":
    main()
