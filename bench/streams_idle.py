"""1 000 idle `GET /api/events` streams on one worker: the server's memory per stream, the
PostgreSQL connections the database has while they are idle, and how long one change per user
takes to reach every stream (issue 23, "Cost").

A scratch PostgreSQL database and one `todo-api serve --workers 1`; USERS users with
EVENT_STREAMS_PER_USER (10 by default) streams each, opened with bearer tokens (signed with the
service's JWT_SECRET, as `todo-api token` signs them) and each read until its first message (the
empty page that starts a stream). Then:

- the server's resident memory (VmRSS of its process tree) before the streams and with them
  open, after a settling pause; per stream is the difference over the number of streams;
- the client backends on the database (pg_stat_activity), sampled for IDLE_SECONDS while the
  streams are idle: the pool's connections, not one per stream, is the contract;
- every user creates one task at once (POST /api/tasks, all concurrently): the time from the
  start until every stream has received its `event: changes`, and per user from its answer to
  its last stream's message.

    .venv/bin/python bench/streams_idle.py              # ~1 min
    .venv/bin/python bench/streams_idle.py --users 10 --streams-per-user 100

Before and after in one run: `--src NAME=PATH` (repeatable, as in events_throughput.py) measures
each source tree in turn, `--rounds` times, on the same database, side by side.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
from benchlib import (
    ADMIN_URL,
    Server,
    cpu_spent,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    percentile,
    rss_mb,
    running_server,
    scratch_database,
    serve_argv,
    server_and_database_cpu,
    server_version,
    service_env,
    source_summary,
    work_dir,
)
from events_throughput import add_sources_argument, sources

SETTLE_SECONDS = 2.0  # after the streams opened, before reading memory
IDLE_SECONDS = 5.0  # how long the backends are sampled while the streams are idle
OPEN_TIMEOUT_SECONDS = 120.0
CHANGE_TIMEOUT_SECONDS = 30.0
CPU_WINDOW_SECONDS = 5.0  # after one write, for the stream reads it causes
SINGLE_CHANGES = 5  # users who, one after another, make one change each


def bearer(secret: str, user: str) -> str:
    """A token as `todo-api token --sub` signs it (HS256 with JWT_SECRET); minted here because
    a hundred CLI runs would take a minute."""
    now = datetime.now(UTC)
    claims = {"sub": user, "iat": now, "exp": now + timedelta(hours=2)}
    return jwt.encode(claims, secret, algorithm="HS256")


class Stream:
    """One open `GET /api/events`, read line by line in a task of its own."""

    def __init__(self, user: str, token: str) -> None:
        self.user, self.token = user, token
        self.opened = asyncio.Event()
        self.changed = asyncio.Event()
        self.changed_at = 0.0
        self.pages = 0

    async def run(self, client: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        async with client.stream("GET", "/api/events", headers=headers) as answer:
            if answer.status_code != 200:
                raise RuntimeError(f"stream: {answer.status_code} {(await answer.aread())[:300]!r}")
            async for line in answer.aiter_lines():
                if line == "event: changes":
                    self.pages += 1
                    if self.pages == 1:
                        self.opened.set()
                    elif not self.changed.is_set():
                        self.changed_at = time.monotonic()
                        self.changed.set()


async def _backends(database: str) -> tuple[int, int]:
    """The client backends on the database, and how many of them are not idle (asked from the
    admin database, so that this connection is not one of them)."""
    conn = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE state <> 'idle') AS busy "
            "FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
            database,
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["total"]), int(row["busy"])


async def measure(
    server: Server, database: str, secret: str, users: int, per_user: int
) -> list[tuple[str, str]]:
    ids = [str(uuid.UUID(int=0xE0E0_0000_0000_4000_8000_0000_0000_0000 + n)) for n in range(users)]
    tokens = {user: bearer(secret, user) for user in ids}
    total = users * per_user
    limits = httpx.Limits(max_connections=total + 200, max_keepalive_connections=200)
    timeout = httpx.Timeout(30, read=None)  # a stream is idle for as long as it likes
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as client:
        # Warm-up: each user's first request (the user's row is made then), so that the
        # memory before counts the users but no stream.
        for user in ids:
            answer = await client.get(
                "/api/tasks", headers={"Authorization": f"Bearer {tokens[user]}"}
            )
            answer.raise_for_status()
        await asyncio.sleep(SETTLE_SECONDS)
        rss_before, _ = rss_mb(server.process.pid)
        backends_before, _ = await _backends(database)

        streams = [Stream(user, tokens[user]) for user in ids for _ in range(per_user)]
        started = time.monotonic()
        runners = [asyncio.ensure_future(s.run(client)) for s in streams]
        opening = asyncio.gather(*(s.opened.wait() for s in streams))
        waiting: list[asyncio.Future[Any]] = [asyncio.ensure_future(opening), *runners]
        await asyncio.wait(
            waiting,
            timeout=OPEN_TIMEOUT_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for runner in runners:
            if runner.done() and runner.exception():
                raise RuntimeError(f"a stream failed: {runner.exception()}")
        opened_in = time.monotonic() - started
        if sum(s.opened.is_set() for s in streams) < total:
            raise RuntimeError(f"only {sum(s.opened.is_set() for s in streams)} streams opened")
        log(f"{total} streams open in {opened_in:.1f} s")
        await asyncio.sleep(SETTLE_SECONDS)
        rss_after, _ = rss_mb(server.process.pid)
        samples = []
        cpu_before = await server_and_database_cpu(server, database)
        deadline = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < deadline:
            samples.append(await _backends(database))
            await asyncio.sleep(0.5)
        idle_cpu = cpu_spent(cpu_before, await server_and_database_cpu(server, database))

        # The CPU that one write costs with the streams open: one task of one user, then
        # CPU_WINDOW_SECONDS for whatever it wakes.
        cpu_before = await server_and_database_cpu(server, database)
        answer = await client.post(
            "/api/tasks",
            json={"title": "streams_idle write"},
            headers={"Authorization": f"Bearer {tokens[ids[-1]]}"},
        )
        answer.raise_for_status()
        await asyncio.sleep(CPU_WINDOW_SECONDS)
        write_cpu = cpu_spent(cpu_before, await server_and_database_cpu(server, database))
        for s in streams:
            s.changed.clear()
        log(f"CPU idle {idle_cpu}, after one write {write_cpu} (server, PostgreSQL s)")
        log(f"RSS {rss_before:.1f} -> {rss_after:.1f} MiB; backends idle {samples}")

        # One change of one user at a time (its 10 streams get a page; the others stay idle).
        single: list[float] = []
        for user in ids[:SINGLE_CHANGES]:
            mine = [s for s in streams if s.user == user]
            answer = await client.post(
                "/api/tasks",
                json={"title": "streams_idle change"},
                headers={"Authorization": f"Bearer {tokens[user]}"},
            )
            answer.raise_for_status()
            answered_at = time.monotonic()
            await asyncio.wait_for(
                asyncio.gather(*(s.changed.wait() for s in mine)), CHANGE_TIMEOUT_SECONDS
            )
            single.append(max(s.changed_at for s in mine) - answered_at)
            for s in mine:
                s.changed.clear()
            await asyncio.sleep(0.5)
        log(f"one user's change to its streams: {[round(1000 * t) for t in single]} ms")

        # One change per user, all at once.
        answered: dict[str, float] = {}

        async def change(user: str) -> None:
            answer = await client.post(
                "/api/tasks",
                json={"title": "streams_idle change"},
                headers={"Authorization": f"Bearer {tokens[user]}"},
            )
            answer.raise_for_status()
            answered[user] = time.monotonic()

        changed_from = time.monotonic()
        await asyncio.gather(*(change(user) for user in ids))
        await asyncio.wait_for(
            asyncio.gather(*(s.changed.wait() for s in streams)), CHANGE_TIMEOUT_SECONDS
        )
        every_stream = max(s.changed_at for s in streams) - changed_from
        lags = [
            max(s.changed_at for s in streams if s.user == user) - answered[user] for user in ids
        ]
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)

    return [
        ("time to open them all (s)", f"{opened_in:.1f}"),
        ("server RSS before / with the streams (MiB)", f"{rss_before:.1f} / {rss_after:.1f}"),
        ("server RSS per stream (KiB)", f"{1024 * (rss_after - rss_before) / total:.0f}"),
        ("PostgreSQL client backends of the database, before the streams", f"{backends_before}"),
        (
            f"the same while the streams are idle (min-max of {len(samples)} samples over "
            f"{IDLE_SECONDS:.0f} s)",
            f"{min(t for t, _ in samples)}-{max(t for t, _ in samples)}",
        ),
        (
            "of which not idle (a query running or a transaction open), max",
            f"{max(b for _, b in samples)}",
        ),
        (
            f"CPU over {IDLE_SECONDS:.0f} s with the streams idle: server / PostgreSQL (ms)",
            f"{1000 * idle_cpu[0]:.0f} / {1000 * idle_cpu[1]:.0f}",
        ),
        (
            f"CPU over the {CPU_WINDOW_SECONDS:.0f} s after one task created by one user: "
            "server / PostgreSQL (ms)",
            f"{1000 * write_cpu[0]:.0f} / {1000 * write_cpu[1]:.0f}",
        ),
        (
            f"one user's change, from its answer to the last of its {per_user} streams' page: "
            f"median (min-max) of {len(single)} users one after another (ms)",
            f"{1000 * statistics.median(single):.0f} ({1000 * min(single):.0f}-"
            f"{1000 * max(single):.0f})",
        ),
        (
            "one change per user, all at once: until every stream had its page (ms)",
            f"{1000 * every_stream:.0f}",
        ),
        (
            "per user, from its answer to its last stream's page: median / p95 / max (ms)",
            f"{1000 * statistics.median(lags):.0f} / {1000 * percentile(lags, 95):.0f} / "
            f"{1000 * max(lags):.0f}",
        ),
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--streams-per-user", type=int, default=10)
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each source tree")
    add_sources_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    with work_dir() as cwd, scratch_database("bench_streams") as database:
        env = service_env(
            database, secret, EVENT_STREAMS_PER_USER=str(max(10, args.streams_per_user))
        )
        migrate(env, cwd)
        port = free_port()
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Source: {source_summary()}",
            "One `todo-api serve --workers 1` (DATABASE_POOL_SIZE at its default); the streams "
            "are httpx streaming requests of one client process, each holding its own "
            "connection.",
        ]
        trees = sources(args)
        if args.src:
            header.append("Sources: " + ", ".join(args.src))
        columns: list[tuple[str, list[tuple[str, str]]]] = []
        for round_no in range(args.rounds):
            order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
            for name in order:
                tree_env = {**env, **trees[name]}
                with running_server("todo-api", serve_argv(port), tree_env, cwd, port) as server:
                    measured = asyncio.run(
                        measure(server, database, secret, args.users, args.streams_per_user)
                    )
                columns.append((f"{name}, run {round_no + 1}", measured))
    total = args.users * args.streams_per_user
    rows = [
        f"| {total} idle streams ({args.users} users x {args.streams_per_user}), one worker | "
        + " | ".join(name for name, _ in columns)
        + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for index, (label, _) in enumerate(columns[0][1]):
        rows.append(f"| {label} | " + " | ".join(m[index][1] for _, m in columns) + " |")
    text = "\n".join([*header, "", *rows])
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
