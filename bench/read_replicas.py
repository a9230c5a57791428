"""Read replicas under a mixed soak: where the reads went, and the primary's CPU per request
without and with a replica, side by side in one run.

    .venv/bin/python bench/read_replicas.py                        # 20 s each way, 16 people
    .venv/bin/python bench/read_replicas.py --duration 30 --people 32 --rounds 2

The script starts a primary and a hot standby of its own (tests/replicas.py: Debian's
PostgreSQL 15 programs, a temporary folder, free ports, fsync off, commits synchronous as in
production), migrates the primary,
gives each person 40 tasks, then, each round, runs the same soak against `todo-api serve
--workers 1` twice: on the primary alone (DATABASE_URL), then with the standby in
DATABASE_READ_URLS and REDIS_URL set (each person's read position in Redis). The soak: --people
people at once, each in a loop with no pause: 85 % reads (their list, one of their tasks, the
change feed from their last token) and 15 % writes (a new task, a task's priority changed), so
that most people have written a moment before most reads (the read-your-writes check is
exercised, not idle). Around the measured --duration seconds (after --warmup) it reads the CPU
of the server's processes, of every process of the primary's cluster (its backends, WAL
sender, background processes) and of the standby's, from /proc (schedstat), and the service's
/metrics: `database_reads_total` by target says the share of reading requests the replica
answered. Any answer but 2xx stops the script.
"""

import argparse
import asyncio
import os
import random
import re
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import benchlib
import httpx
from tests.replicas import Cluster, Server, cluster

from todo_api.auth.tokens import mint_token
from todo_api.config import Settings

READ_SHARE = 0.85
TASKS_EACH = 40


def cluster_cpu(server: Server) -> float:
    """On-CPU seconds of every live process of a PostgreSQL cluster (its postmaster's tree)."""
    pid = int((server.folder / "postmaster.pid").read_text().split()[0])
    return sum(benchlib.scheduler_cpu_seconds_of(benchlib.process_tree(pid)).values())


def server_cpu(server: benchlib.Server) -> float:
    tree = benchlib.process_tree(server.process.pid)
    return sum(benchlib.scheduler_cpu_seconds_of(tree).values())


async def reads_by_target(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    found = re.finditer(r'^database_reads_total\{target="(\w+)"\} (\S+)$', text, re.M)
    return {m[1]: float(m[2]) for m in found}


class Person:
    def __init__(self, token: str) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tasks: list[str] = []
        self.since: str | None = None


async def seed(url: str, people: list[Person]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for person in people:
            operations = [
                {"op": "create", "data": {"title": f"Task {n}"}} for n in range(TASKS_EACH)
            ]
            made = await http.post(
                "/api/tasks/bulk", json={"operations": operations}, headers=person.headers
            )
            made.raise_for_status()
            person.tasks = [result["id"] for result in made.json()["results"]]


async def soak(url: str, people: list[Person], seconds: float) -> tuple[int, int]:
    """Every person in a loop for `seconds`: (requests, reading requests)."""
    counts = [0, 0]
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=len(people), max_keepalive_connections=len(people))

    async def one(http: httpx.AsyncClient, person: Person, rng: random.Random) -> None:
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < READ_SHARE:
                kind = rng.random()
                if kind < 0.6:
                    answer = await http.get("/api/tasks", headers=person.headers)
                elif kind < 0.85:
                    task = rng.choice(person.tasks)
                    answer = await http.get(f"/api/tasks/{task}", headers=person.headers)
                else:
                    params = {"since": person.since} if person.since else {}
                    answer = await http.get(
                        "/api/tasks/changes", params=params, headers=person.headers
                    )
                    if answer.status_code == 200:
                        person.since = answer.json()["next"]
                counts[1] += 1
            elif roll < READ_SHARE + (1 - READ_SHARE) * 2 / 3:
                answer = await http.post(
                    "/api/tasks", json={"title": "From the soak"}, headers=person.headers
                )
                if answer.status_code == 201:
                    person.tasks.append(answer.json()["id"])
            else:
                task = rng.choice(person.tasks)
                answer = await http.patch(
                    f"/api/tasks/{task}",
                    json={"priority": rng.choice(["low", "high"])},
                    headers=person.headers,
                )
            if answer.status_code >= 300:
                raise SystemExit(f"{answer.request.method} {answer.request.url}: {answer.text}")
            counts[0] += 1

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        await asyncio.gather(*(one(http, p, random.Random(i)) for i, p in enumerate(people)))
    return counts[0], counts[1]


def measure(
    name: str,
    env: dict[str, str],
    cwd: Path,
    servers: Cluster,
    people: list[Person],
    args: argparse.Namespace,
) -> dict[str, Any]:
    port = benchlib.helpers.free_port()
    with benchlib.running_server(name, benchlib.serve_argv(port), env, cwd, port) as server:
        url = f"http://127.0.0.1:{port}"
        asyncio.run(soak(url, people, args.warmup))
        before_reads = asyncio.run(_reads(url))
        primary, standby, own = (
            cluster_cpu(servers.primary),
            cluster_cpu(servers.standbys[0]),
            server_cpu(server),
        )
        requests, reading = asyncio.run(soak(url, people, args.duration))
        primary = cluster_cpu(servers.primary) - primary
        standby = cluster_cpu(servers.standbys[0]) - standby
        own = server_cpu(server) - own
        after_reads = asyncio.run(_reads(url))
    on_replica = after_reads.get("replica", 0) - before_reads.get("replica", 0)
    on_primary = after_reads.get("primary", 0) - before_reads.get("primary", 0)
    return {
        "name": name,
        "requests": requests,
        "per_second": requests / args.duration,
        "reading": reading,
        "replica_share": on_replica / max(1.0, on_replica + on_primary),
        "primary_ms": primary * 1000 / requests,
        "standby_ms": standby * 1000 / requests,
        "server_ms": own * 1000 / requests,
    }


async def _reads(url: str) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=url) as http:
        return await reads_by_target(http)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    benchlib.exit_cleanly_on_sigterm()
    # Commits as in production (the tests' clusters commit asynchronously, WAL a moment late).
    with cluster(1, "synchronous_commit=on") as servers, benchlib.work_dir() as cwd:
        secret = benchlib.new_secret()
        env = benchlib.service_env("unused", secret, LOG_LEVEL="WARNING")
        env["DATABASE_URL"] = servers.primary.url
        benchlib.migrate(env, cwd)
        settings = Settings(database_url=servers.primary.url, jwt_secret=secret)
        people = [
            Person(mint_token(settings, subject=str(uuid.uuid4()))) for _ in range(args.people)
        ]
        port = benchlib.helpers.free_port()
        with benchlib.running_server("seed", benchlib.serve_argv(port), env, cwd, port):
            asyncio.run(seed(f"http://127.0.0.1:{port}", people))
        servers.caught_up(servers.standbys[0])
        replicated = {
            **env,
            "DATABASE_READ_URLS": servers.standbys[0].url,
            "REDIS_URL": args.redis,
        }
        results: dict[str, list[dict[str, Any]]] = {"primary only": [], "with a replica": []}
        for n in range(args.rounds):
            benchlib.log(f"round {n + 1} of {args.rounds}")
            results["primary only"].append(measure("primary", env, cwd, servers, people, args))
            results["with a replica"].append(
                measure("replica", replicated, cwd, servers, people, args)
            )
    print(f"\n{benchlib.source_summary()}; {benchlib.machine_summary()}; load {os.getloadavg()}")
    print(
        f"{args.people} people, {args.duration:.0f} s measured, {args.rounds} round(s), "
        "medians of the rounds\n"
    )
    print(
        "| setting | requests/s | reads on the replica | primary CPU ms/request "
        "| replica CPU ms/request | server CPU ms/request |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():

        def mid(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(run[key] for run in runs)

        share = f"{mid('replica_share') * 100:.1f} %" if name != "primary only" else "-"
        print(
            f"| {name} | {mid('per_second'):.0f} | {share} | {mid('primary_ms'):.3f} "
            f"| {mid('standby_ms'):.3f} | {mid('server_ms'):.3f} |"
        )


if __name__ == "__main__":
    main()
