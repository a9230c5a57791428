"""Webhook fairness: how long a healthy receiver's delivery takes while another user's 20
webhooks point at a receiver that accepts connections and never answers, with 2 000 of their
deliveries pending ("an event arrives within 5 s of its commit, whatever other webhooks'
receivers do").

A scratch PostgreSQL database per run, one `todo-api serve --workers 1` with
WEBHOOK_ALLOW_PRIVATE_URLS=true and every other setting at its default (an attempt's timeout
10 s, poll 1 s), two receivers on 127.0.0.1:

- a silent one, in this process: it accepts each connection, reads the request and never
  answers (the sender gives up after its timeout);
- a healthy one, webhook_receiver.py under uvicorn (its own process), answering 200 at once
  and noting when each delivery arrived.

Each run: the stuck user makes 20 webhooks (the most a user may have) to the silent receiver
and creates 100 tasks in one bulk request: 2 000 deliveries. Once the silent receiver holds
attempts of every stuck webhook, the healthy user (one webhook) creates a task, one at a time,
a second apart, and each time the benchmark waits for its delivery: its latency is from the
task's `created_at` (stamped in its transaction, just before the commit) to its arrival at
the receiver. A delivery that has not arrived after `--give-up` seconds ends the run.

    .venv/bin/python bench/webhook_fairness.py                       # ~1 min
    .venv/bin/python bench/webhook_fairness.py --src before=/tmp/before/src --src after=src

`--src NAME=PATH` (repeatable) runs once per source tree, e.g. `git archive <commit> src | tar
-x -C /tmp/before` for the code before a change.
"""

import argparse
import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from benchlib import (
    Server,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    running_server,
    scratch_database,
    serve_argv,
    service_env,
    source_summary,
    token_for,
    uvicorn_argv,
    work_dir,
)
from events_throughput import add_sources_argument, sources

STUCK_USER = "00000000-0000-4000-8000-0000000f0001"
HEALTHY_USER = "00000000-0000-4000-8000-0000000f0002"
STUCK_WEBHOOKS = 20  # the most a user may have
STUCK_TASKS = 100  # one bulk request: a delivery each to every stuck webhook
IN_FLIGHT_WAIT_SECONDS = 60.0


@dataclass
class Silent:
    """A receiver that never answers: what it accepted, and the connections it holds."""

    port: int = 0
    paths: set[str] = field(default_factory=set)
    accepted: int = 0
    held: set[asyncio.StreamWriter] = field(default_factory=set)
    handlers: set[asyncio.Task[Any]] = field(default_factory=set)

    async def hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.held.add(writer)
        handler = asyncio.current_task()
        assert handler is not None
        self.handlers.add(handler)
        try:
            line = await reader.readline()
            parts = line.split(b" ")
            if len(parts) > 1:
                self.paths.add(parts[1].decode())
            await reader.read()  # until the sender gives up and closes
        except OSError:
            pass
        finally:
            self.held.discard(writer)
            self.handlers.discard(handler)
            writer.close()

    async def stop(self) -> None:
        """Close every connection held, and let their handlers end."""
        for writer in list(self.held):
            writer.close()
        if self.handlers:
            await asyncio.wait(list(self.handlers), timeout=10)


@dataclass
class Run:
    latencies: list[float]  # seconds, from created_at to arrival, of each healthy delivery
    gave_up: bool  # the last healthy delivery did not arrive within --give-up seconds
    stuck_accepted: int  # connections the silent receiver accepted by then
    stuck_pending: int  # stuck deliveries still pending by then
    stuck_untouched: int  # ... of which no attempt has ended yet


async def _post(client: httpx.AsyncClient, token: str, path: str, body: Any) -> Any:
    answer = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    return answer.json()


async def _stuck_deliveries(
    client: httpx.AsyncClient, token: str, hooks: list[str]
) -> tuple[int, int]:
    """The stuck user's deliveries that are pending, and of those, with no attempt ended."""
    pending = untouched = 0
    for hook in hooks:
        answer = await client.get(
            f"/api/webhooks/{hook}/deliveries",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {token}"},
        )
        rows = answer.json()
        pending += sum(1 for row in rows if row["status"] == "pending")
        untouched += sum(1 for row in rows if row["status"] == "pending" and not row["attempts"])
    return pending, untouched


async def _arrival(receiver: httpx.AsyncClient, count: int, give_up: float) -> float | None:
    """When the receiver got its `count`-th event (Unix seconds); None after `give_up` s."""
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        stats = (await receiver.get("/stats")).json()
        if stats["events"] >= count:
            return float(stats["last"])
        await asyncio.sleep(0.02)
    return None


async def one_run(
    server: Server, receiver_url: str, tokens: dict[str, str], args: argparse.Namespace
) -> Run:
    silent = Silent()
    listener = await asyncio.start_server(silent.hold, "127.0.0.1", 0)
    silent.port = listener.sockets[0].getsockname()[1]
    try:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=60) as client,
            httpx.AsyncClient(base_url=receiver_url, timeout=30) as receiver,
        ):
            await receiver.post("/reset")
            stuck = tokens["stuck"]
            hooks = [
                (
                    await _post(
                        client,
                        stuck,
                        "/api/webhooks",
                        {"url": f"http://127.0.0.1:{silent.port}/stuck/{n}", "events": ["*"]},
                    )
                )["id"]
                for n in range(STUCK_WEBHOOKS)
            ]
            operations = [
                {"op": "create", "data": {"title": f"stuck {n}"}} for n in range(STUCK_TASKS)
            ]
            await _post(client, stuck, "/api/tasks/bulk", {"operations": operations})
            deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
            # Attempts in flight to the silent receiver (every stuck webhook's, when the
            # sender spreads them; at least a turn's worth otherwise).
            while len(silent.paths) < STUCK_WEBHOOKS and silent.accepted < 50:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {silent.accepted} stuck attempts started")
                await asyncio.sleep(0.05)
            log(
                f"stuck attempts in flight: {silent.accepted} connections, "
                f"{len(silent.paths)} webhooks"
            )

            healthy = tokens["healthy"]
            await _post(
                client, healthy, "/api/webhooks", {"url": f"{receiver_url}/hook", "events": ["*"]}
            )
            latencies: list[float] = []
            gave_up = False
            for n in range(args.healthy):
                task = await _post(client, healthy, "/api/tasks", {"title": f"healthy {n}"})
                committed = datetime.fromisoformat(task["created_at"]).timestamp()
                arrived = await _arrival(receiver, n + 1, args.give_up)
                if arrived is None:
                    gave_up = True
                    break
                latencies.append(arrived - committed)
                log(f"healthy delivery {n + 1}: {latencies[-1] * 1000:.0f} ms")
                await asyncio.sleep(1.0)
            pending, untouched = await _stuck_deliveries(client, stuck, hooks)
            return Run(latencies, gave_up, silent.accepted, pending, untouched)
    finally:
        listener.close()
        await silent.stop()
        with contextlib.suppress(Exception):
            await listener.wait_closed()


def _latency(run: Run, give_up: float) -> str:
    if not run.latencies:
        return f"not within {give_up:g} s"
    text = f"{statistics.median(run.latencies) * 1000:.0f} ({min(run.latencies) * 1000:.0f}-"
    text += f"{max(run.latencies) * 1000:.0f})"
    if run.gave_up:
        text += f", then one not within {give_up:g} s"
    return text


def report(runs: dict[str, list[Run]], args: argparse.Namespace, header: list[str]) -> str:
    names = list(runs)
    rows = [
        (
            f"healthy delivery, commit to arrival (ms), median (min-max) of {args.healthy}",
            lambda r: _latency(r, args.give_up),
        ),
        ("healthy deliveries that arrived", lambda r: f"{len(r.latencies)}/{args.healthy}"),
        ("connections the silent receiver accepted meanwhile", lambda r: str(r.stuck_accepted)),
        ("stuck deliveries still pending afterwards", lambda r: str(r.stuck_pending)),
        ("... with no attempt ended yet", lambda r: str(r.stuck_untouched)),
    ]
    lines = [
        *header,
        "",
        f"| {STUCK_WEBHOOKS} stuck webhooks, {STUCK_WEBHOOKS * STUCK_TASKS} deliveries pending "
        f"| {' | '.join(names)} |",
        "|---|" + "---:|" * len(names),
    ]
    for label, cell in rows:
        for round_no in range(len(runs[names[0]])):
            suffix = f" (run {round_no + 1})" if len(runs[names[0]]) > 1 else ""
            lines.append(
                f"| {label}{suffix} | {' | '.join(cell(runs[name][round_no]) for name in names)} |"
            )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--healthy", type=int, default=5, help="healthy tasks, one at a time")
    parser.add_argument("--give-up", type=float, default=60.0, help="seconds per delivery")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each source tree")
    add_sources_argument(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    trees = sources(args)
    header = [
        f"Machine: {machine_summary()}",
        f"Source: {source_summary()}",
        f"One `todo-api serve --workers 1`, default webhook settings; {STUCK_WEBHOOKS} webhooks "
        f"of one user to a receiver that never answers, {STUCK_TASKS} tasks created in one "
        f"bulk request; then another user's {args.healthy} tasks, one at a time, to a "
        "receiver (uvicorn) answering 200 at once.",
    ]
    if args.src:
        header.append("Sources: " + ", ".join(args.src))
    runs: dict[str, list[Run]] = {name: [] for name in trees}
    receiver_port, port = free_port(), free_port()
    with work_dir() as cwd:
        receiver_env = service_env("postgres", secret)
        with running_server(
            "receiver",
            uvicorn_argv("webhook_receiver:app", receiver_port),
            receiver_env,
            cwd,
            receiver_port,
        ) as rx:
            for round_no in range(args.rounds):
                for name, tree_env in trees.items():
                    with scratch_database("bench_fair") as database:
                        env = service_env(
                            database, secret, WEBHOOK_ALLOW_PRIVATE_URLS="true", **tree_env
                        )
                        migrate(env, cwd)
                        tokens = {
                            "stuck": token_for(STUCK_USER, env, cwd),
                            "healthy": token_for(HEALTHY_USER, env, cwd),
                        }
                        with running_server("todo-api", serve_argv(port), env, cwd, port) as server:
                            run = asyncio.run(one_run(server, rx.url, tokens, args))
                    runs[name].append(run)
                    log(
                        f"run {round_no + 1}, {name}: healthy delivery (ms) "
                        f"{_latency(run, args.give_up)}; "
                        f"{run.stuck_pending} stuck deliveries pending"
                    )
    print(report(runs, args, header))


if __name__ == "__main__":
    main()
