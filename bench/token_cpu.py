"""CPU per request of GET /api/tasks/{id} with a personal access token against the same with a
JWT: server and PostgreSQL CPU, one todo-api worker, the same task of the same user.

    .venv/bin/python bench/token_cpu.py                    # seed, 3 rounds, drop the db
    .venv/bin/python bench/token_cpu.py --rounds 2 --duration 6

The goal: the personal token's server + PostgreSQL CPU per request within 1.15 x the JWT's.
A JWT is verified once and then remembered by its text (todo_api.auth.tokens); a personal
token is looked up by its hash on every request (todo_api.auth.personal), so that revoking it
holds at once on every process: that lookup is what this measures.

Each round starts one server, then runs wrk (-t1 -c32 by default) with each token in turn
(the order rotated every round): --warmup seconds, then --duration seconds measured. CPU is
read as in cpu_per_request.py (the server's process tree and the database's backends, from
/proc). The personal token is made through POST /api/tokens with the JWT. Figures are medians
over the rounds. Needs wrk (bench/setup.sh). The database is dropped at the end.
"""

import argparse
import asyncio
import shutil
import time

import httpx
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
from cpu_per_request import task_ids

SETTLE_SECONDS = 0.5
GOAL = 1.15


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bulk-tasks", type=int, default=200_000)
    parser.add_argument("--bulk-users", type=int, default=2_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (sh bench/setup.sh)")
    return args


def personal_token(url: str, jwt: str) -> str:
    response = httpx.post(
        f"{url}/api/tokens",
        json={"name": "bench", "scope": "read"},
        headers={"Authorization": f"Bearer {jwt}"},
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    with work_dir() as cwd, scratch_database("bench_tok") as database:
        env = service_env(database, new_secret())
        migrate(env, cwd)
        asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, {SMALL_USER: 1_000}))
        jwt = token_for(SMALL_USER, env, cwd)
        path = f"/api/tasks/{task_ids(database, SMALL_USER, 11)[-1]}"
        port = free_port()
        kinds = ["JWT", "personal token"]
        results: dict[str, list[tuple[float, float, WrkRun]]] = {kind: [] for kind in kinds}
        pat = None
        for round_no in range(args.rounds):
            with running_server("service", serve_argv(port), env, cwd, port) as server:
                pat = pat or personal_token(server.url, jwt)
                tokens = {"JWT": jwt, "personal token": pat}
                order = kinds[round_no % 2 :] + kinds[: round_no % 2]
                for kind in order:

                    def load(seconds: float, token: str = tokens[kind]) -> WrkRun:
                        run = wrk(
                            server.url + path,
                            token=token,
                            seconds=seconds,
                            connections=args.connections,
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
            f"GET {'/api/tasks/{id}'}, wrk -t1 -c{args.connections}, {args.warmup:g} s warm-up, "
            f"{args.duration:g} s measured, {args.rounds} rounds (medians)",
            "",
            "| token | server ms/req | PostgreSQL ms/req | total | req/s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        totals = {}
        for kind in kinds:
            rows = results[kind]
            server_ms = median([r[0] for r in rows])
            db_ms = median([r[1] for r in rows])
            totals[kind] = median([r[0] + r[1] for r in rows])
            lines.append(
                f"| {kind} | {server_ms:.3f} | {db_ms:.3f} | {totals[kind]:.3f} | "
                f"{median([r[2].rps for r in rows]):.0f} | "
                f"{median([r[2].p50_ms for r in rows]):.1f} | "
                f"{median([r[2].p99_ms for r in rows]):.1f} |"
            )
        ratio = totals["personal token"] / totals["JWT"]
        verdict = "holds" if ratio <= GOAL else "misses"
        lines += [
            "",
            f"personal token / JWT (server + PostgreSQL): {ratio:.2f} ({verdict} <= {GOAL})",
        ]
        print("\n".join(lines))


if __name__ == "__main__":
    main()
