"""What a filter costs against the plain listing parameters that say the same, on a user with
100 000 tasks in a 2-million-task table (`list_scale.py`'s seed).

    .venv/bin/python bench/filter_cost.py                 # seed (~2-5 min), measure, drop the db
    .venv/bin/python bench/filter_cost.py --db NAME       # measure a kept list_scale.py database

The goal (the contract, "Filters"): a filter costs at most 1.5 times the plain parameters,
server and PostgreSQL CPU per request: `filter=p1 & @work` against `priority=high&tag=work`.
A filter answers open tasks unless `completed` says otherwise, so the pair that says exactly
the same is `priority=high&tag=work&completed=false`; both are measured. Other pairs: a day
(`today` against `due_on=<today>`), `overdue`, a search, and a filter the parameters cannot say
in one request (`(p1 | p2) & !@work`, against `priority=high&priority=medium`, which leaves
the `!@work` out and so says less).

Per pair and round, each side's block (a warm-up, then requests whose CPU is measured: the
server's processes and the database's client backends, from /proc schedstat), the sides
alternating so that both meet the same moments of a shared machine. Median over rounds. The
database is dropped at the end, also on failure or Ctrl-C/SIGTERM (unless --keep or --db).
Every loop is bounded: --requests per side and round, and --case-seconds.
"""

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from benchlib import (
    BIG_USER,
    CpuReading,
    Server,
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
)

GOAL_FACTOR = 1.5
TODAY = datetime.now(UTC).date().isoformat()

Params = list[tuple[str, str | int | float | bool | None]]


@dataclass
class Pair:
    name: str
    plain: Params
    filtered: Params
    same_meaning: bool = True


PAIRS = [
    Pair(
        "p1 & @work (contract)",
        [("priority", "high"), ("tag", "work")],
        [("filter", "p1 & @work")],
        same_meaning=False,  # the plain side lists completed tasks too
    ),
    Pair(
        "p1 & @work (open)",
        [("priority", "high"), ("tag", "work"), ("completed", "false")],
        [("filter", "p1 & @work")],
    ),
    Pair("today", [("due_on", TODAY), ("completed", "false")], [("filter", "today")]),
    Pair("overdue", [("overdue", "true"), ("completed", "false")], [("filter", "overdue")]),
    Pair("search", [("q", "milk"), ("completed", "false")], [("filter", "search: milk")]),
    Pair(
        "(p1 | p2) & !@work",
        [("priority", "high"), ("priority", "medium"), ("completed", "false")],
        [("filter", "(p1 | p2) & !@work")],
        same_meaning=False,
    ),
]


@dataclass
class Side:
    server_ms: list[float] = field(default_factory=list)
    database_ms: list[float] = field(default_factory=list)
    total: str = "?"

    def cpu(self) -> float:
        return median(self.server_ms) + median(self.database_ms)


def measure(
    client: httpx.Client,
    params: Params,
    warmup: int,
    requests: int,
    seconds: float,
    server: Server,
    database: str,
) -> tuple[float, float, str]:
    """Server and PostgreSQL CPU per request (ms) of one block, and the total it answered."""

    def read_cpu() -> CpuReading:
        return asyncio.run(server_and_database_cpu(server, database))

    for _ in range(warmup):
        client.get("/api/tasks", params=params).raise_for_status()
    before = read_cpu()
    deadline = time.monotonic() + seconds
    count, response = 0, None
    while count < requests and time.monotonic() < deadline:
        response = client.get("/api/tasks", params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{params}: {response.status_code} {response.text[:300]}")
        count += 1
    server_s, database_s = cpu_spent(before, read_cpu())
    assert response is not None
    total = response.headers.get("X-Total-Count", "?")
    return server_s * 1000 / count, database_s * 1000 / count, total


def run(server: Server, database: str, token: str, args: argparse.Namespace) -> list[str]:
    sides: dict[tuple[str, str], Side] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:
        for round_no in range(1, args.rounds + 1):
            for pair in PAIRS:
                for label, params in (("plain", pair.plain), ("filter", pair.filtered)):
                    server_ms, database_ms, total = measure(
                        client,
                        params,
                        args.warmup,
                        args.requests,
                        args.case_seconds,
                        server,
                        database,
                    )
                    side = sides.setdefault((pair.name, label), Side())
                    side.server_ms.append(server_ms)
                    side.database_ms.append(database_ms)
                    side.total = total
                    log(
                        f"round {round_no} {pair.name:<24} {label:<6} "
                        f"server {server_ms:5.2f} ms + PostgreSQL {database_ms:5.2f} ms"
                    )
    lines = [
        "| pair | plain: server + PostgreSQL (total) | filter: server + PostgreSQL (total) "
        "| filter / plain | goal |",
        "|---|---:|---:|---:|---|",
    ]
    for pair in PAIRS:
        plain, filtered = sides[(pair.name, "plain")], sides[(pair.name, "filter")]
        ratio = filtered.cpu() / plain.cpu()
        verdict = ("met" if ratio <= GOAL_FACTOR else "MISSED") if pair.same_meaning else "-"
        lines.append(
            f"| {pair.name} | {median(plain.server_ms):.2f} + {median(plain.database_ms):.2f} "
            f"({plain.total}) | {median(filtered.server_ms):.2f} + "
            f"{median(filtered.database_ms):.2f} ({filtered.total}) | {ratio:.2f} | {verdict} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk-tasks", type=int, default=1_900_000)
    parser.add_argument("--bulk-users", type=int, default=19_000)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--case-seconds", type=float, default=20.0)
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--db", help="measure this existing database (never dropped)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    exit_cleanly_on_sigterm()

    secret = new_secret()
    with (
        work_dir() as cwd,
        scratch_database("bench_filter", keep=args.keep, existing=args.db) as database,
    ):
        env = service_env(database, secret)
        if not args.db:
            started = time.monotonic()
            migrate(env, cwd)
            asyncio.run(seed(database, args.bulk_tasks, args.bulk_users, {BIG_USER: 100_000}))
            log(f"migrated and seeded in {time.monotonic() - started:.0f} s")
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Code: {source_summary()}",
            "CPU ms per request of the user with 100 000 tasks, median of "
            f"{args.rounds} rounds of {args.requests} requests:",
            "",
        ]
        token = token_for(BIG_USER, env, cwd)
        port = free_port()
        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
            lines = run(server, database, token, args)
        text = "\n".join([*header, *lines])
        print(text)
        if args.out:
            args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
