"""Webhook delivery throughput: 10 000 events delivered to a local receiver, with the CPU they
cost the server and PostgreSQL (issue 23, "Cost").

A scratch PostgreSQL database, one `todo-api serve --workers 1` with
WEBHOOK_ALLOW_PRIVATE_URLS=true, and a receiver (webhook_receiver.py under uvicorn, its own
process) that answers 200 at once and counts deliveries by `webhook-id`. One user has a webhook
for `["*"]`; another has none. Each round:

1. the user without a webhook creates N tasks (POST /api/tasks/bulk, 100 per request): the CPU
   of making the changes alone;
2. the user with the webhook creates N tasks the same way, and the round waits until the
   receiver has N distinct events (then a few seconds more, for repeats): the CPU of making the
   changes and delivering their events.

Delivery CPU per event is (2) - (1) over N. The rate is N over the time from the first delivery
received to the last (and, second, from the first request to the last delivery). CPU is the
scheduler's on-CPU time (/proc/.../schedstat) of the server's process tree and of the client
backends on the database. A sample of the received requests is checked with `standardwebhooks`.

    .venv/bin/python bench/events_throughput.py                 # ~4 min: 2 rounds of 10 000
    .venv/bin/python bench/events_throughput.py --rounds 3      # ~6 min (the figures in README)
    .venv/bin/python bench/events_throughput.py --rounds 1 --events 2000   # quicker

Before and after in one run: `--src NAME=PATH` (repeatable) runs each round once per source
tree (e.g. `git archive <commit> src | tar -x -C /tmp/before`, then `--src
before=/tmp/before/src --src after=/tmp/after/src`), a server of each in turn on the same
database and receiver, and reports them side by side.
"""

import argparse
import asyncio
import contextlib
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    Server,
    database_cpu,
    exit_cleanly_on_sigterm,
    free_port,
    log,
    machine_summary,
    migrate,
    new_secret,
    process_tree,
    running_server,
    scheduler_cpu_seconds_of,
    scratch_database,
    serve_argv,
    server_version,
    service_env,
    source_summary,
    token_for,
    uvicorn_argv,
    work_dir,
)
from standardwebhooks import Webhook

HOOKED_USER = "00000000-0000-4000-8000-0000000e0001"
QUIET_USER = "00000000-0000-4000-8000-0000000e0002"
BULK_SIZE = 100  # the contract's most operations per bulk request
SETTLE_SECONDS = 0.3  # after the last answer or delivery: the backends' counters catch up
REPEAT_WAIT_SECONDS = 3.0  # after the last event arrived, for any second delivery of one
DELIVERY_TIMEOUT_SECONDS = 240.0


def receiver_argv(port: int) -> list[str]:
    return uvicorn_argv("webhook_receiver:app", port)


@dataclass
class Sample:
    quiet_server_us: float  # per task: creating tasks, no webhook
    quiet_db_us: float
    hooked_server_us: float  # per task: creating tasks and delivering their events
    hooked_db_us: float
    rate: float  # events per second, first delivery to last
    end_to_end_rate: float  # events per second, first request to last delivery
    repeated: int  # events that arrived more than once
    signatures_ok: int
    signatures_checked: int

    @property
    def delivery_server_us(self) -> float:
        return self.hooked_server_us - self.quiet_server_us

    @property
    def delivery_db_us(self) -> float:
        return self.hooked_db_us - self.quiet_db_us


def _server_cpu(server: Server) -> float:
    return sum(scheduler_cpu_seconds_of(process_tree(server.process.pid)).values())


async def _create_tasks(client: httpx.AsyncClient, token: str, n: int, concurrency: int) -> None:
    batches = [
        [
            {"op": "create", "data": {"title": f"event bench {i}"}}
            for i in range(s, min(n, s + BULK_SIZE))
        ]
        for s in range(0, n, BULK_SIZE)
    ]
    queue = list(reversed(batches))

    async def worker() -> None:
        while queue:
            operations = queue.pop()
            answer = await client.post(
                "/api/tasks/bulk",
                json={"operations": operations},
                headers={"Authorization": f"Bearer {token}"},
            )
            if answer.status_code != 200:
                raise RuntimeError(f"bulk: {answer.status_code} {answer.text[:300]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _measured(database: str, server: Server, work: Any) -> tuple[float, float]:
    """Server and PostgreSQL CPU seconds spent while `work` runs (plus a settling pause)."""
    db_before = await database_cpu(database)
    cpu_before = _server_cpu(server)
    await work
    await asyncio.sleep(SETTLE_SECONDS)
    cpu_after = _server_cpu(server)
    db_after = await database_cpu(database)
    return cpu_after - cpu_before, sum(t - db_before.get(p, 0.0) for p, t in db_after.items())


async def _until_delivered(receiver: httpx.AsyncClient, n: int) -> dict[str, Any]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        stats = (await receiver.get("/stats")).json()
        if stats["events"] >= n:
            return stats
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {stats['events']} of {n} events arrived")
        await asyncio.sleep(0.1)


def _check_signatures(secret: str, samples: list[dict[str, Any]]) -> int:
    webhook, ok = Webhook(secret), 0
    for sample in samples:
        with contextlib.suppress(Exception):  # a bad signature is counted, not raised
            webhook.verify(sample["body"], sample["headers"])
            ok += 1
    return ok


async def one_round(
    database: str,
    server: Server,
    receiver_url: str,
    tokens: dict[str, str],
    secret: str,
    n: int,
    concurrency: int,
) -> Sample:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=60) as client,
        httpx.AsyncClient(base_url=receiver_url, timeout=30) as receiver,
    ):
        quiet_cpu, quiet_db = await _measured(
            database, server, _create_tasks(client, tokens["quiet"], n, concurrency)
        )
        await receiver.post("/reset")

        async def create_and_deliver() -> dict[str, Any]:
            await _create_tasks(client, tokens["hooked"], n, concurrency)
            return await _until_delivered(receiver, n)

        started = time.time()
        task = asyncio.ensure_future(create_and_deliver())
        hooked_cpu, hooked_db = await _measured(database, server, task)
        stats = task.result()
        await asyncio.sleep(REPEAT_WAIT_SECONDS)
        final = (await receiver.get("/stats")).json()
    span = stats["last"] - stats["first"]
    return Sample(
        quiet_server_us=1e6 * quiet_cpu / n,
        quiet_db_us=1e6 * quiet_db / n,
        hooked_server_us=1e6 * hooked_cpu / n,
        hooked_db_us=1e6 * hooked_db / n,
        rate=(stats["events"] - 1) / span if span > 0 else float("inf"),
        end_to_end_rate=stats["events"] / (stats["last"] - started),
        repeated=final["repeated"],
        signatures_ok=_check_signatures(secret, final["samples"]),
        signatures_checked=len(final["samples"]),
    )


async def _create_webhook(server: Server, token: str, url: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        answer = await client.post(
            "/api/webhooks",
            json={"url": url, "events": ["*"], "description": "events_throughput"},
            headers={"Authorization": f"Bearer {token}"},
        )
    if answer.status_code != 201:
        raise RuntimeError(f"creating the webhook: {answer.status_code} {answer.text[:300]}")
    return str(answer.json()["secret"])


def _cell(samples: list[Sample], value: Any, fmt: str = "{:.0f}") -> str:
    values = [value(s) for s in samples]
    text = fmt.format(statistics.median(values))
    if len(values) > 1:
        text += f" ({fmt.format(min(values))}-{fmt.format(max(values))})"
    return text


def report(samples: dict[str, list[Sample]], args: argparse.Namespace, header: list[str]) -> str:
    rows = [
        ("events delivered per second (first to last delivery)", lambda s: s.rate),
        ("events per second (first request to last delivery)", lambda s: s.end_to_end_rate),
        ("server CPU per event, delivery alone (µs)", lambda s: s.delivery_server_us),
        ("PostgreSQL CPU per event, delivery alone (µs)", lambda s: s.delivery_db_us),
        ("server CPU per task created, no webhook (µs)", lambda s: s.quiet_server_us),
        ("PostgreSQL CPU per task created, no webhook (µs)", lambda s: s.quiet_db_us),
        ("server CPU per task created and delivered (µs)", lambda s: s.hooked_server_us),
        ("PostgreSQL CPU per task created and delivered (µs)", lambda s: s.hooked_db_us),
        ("events that arrived more than once", lambda s: s.repeated),
    ]
    names = list(samples)
    rounds = len(samples[names[0]])
    lines = [
        *header,
        "",
        f"| {args.events} events, median of {rounds} rounds (min-max) | {' | '.join(names)} |",
        "|---|" + "---|" * len(names),
        *(
            f"| {row} | {' | '.join(_cell(samples[name], value) for name in names)} |"
            for row, value in rows
        ),
        "",
        *(
            f"Signatures checked with standardwebhooks ({name}): "
            + ", ".join(f"{s.signatures_ok}/{s.signatures_checked}" for s in samples[name])
            for name in names
        ),
    ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="tasks created per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=2, help="bulk requests in flight")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    add_sources_argument(parser)
    return parser.parse_args()


def add_sources_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a source tree to measure (repeatable; default: the installed one)",
    )


def sources(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """Each source tree measured, by name: what its server's environment adds."""
    if not args.src:
        return {"value": {}}
    found = {}
    for item in args.src:
        name, _, path = item.partition("=")
        if not path or not (Path(path) / "todo_api").is_dir():
            raise SystemExit(f"--src {item}: give NAME=PATH, PATH holding todo_api/")
        found[name] = {"PYTHONPATH": str(Path(path).resolve())}
    return found


def main() -> None:
    args = parse_args()
    exit_cleanly_on_sigterm()
    secret = new_secret()
    with work_dir() as cwd, scratch_database("bench_ev") as database:
        env = service_env(database, secret, WEBHOOK_ALLOW_PRIVATE_URLS="true")
        migrate(env, cwd)
        tokens = {
            "hooked": token_for(HOOKED_USER, env, cwd),
            "quiet": token_for(QUIET_USER, env, cwd),
        }
        receiver_port, port = free_port(), free_port()
        header = [
            f"Machine: {machine_summary()}",
            f"Database: {asyncio.run(server_version(database))}",
            f"Source: {source_summary()}",
            f"One `todo-api serve --workers 1`; bulk creates of {BULK_SIZE} tasks, "
            f"{args.concurrency} in flight; the receiver is uvicorn (its own process) answering "
            "200 at once. CPU: scheduler on-CPU time of the server's processes and of the "
            "database's client backends. Delivery alone = (tasks created by the user with the "
            "webhook) - (the same by a user with none), per event.",
        ]
        trees = sources(args)
        if args.src:
            header.append("Sources: " + ", ".join(args.src))
        samples: dict[str, list[Sample]] = {name: [] for name in trees}
        with running_server(
            "receiver", receiver_argv(receiver_port), env, cwd, receiver_port
        ) as rx:
            webhook_secret = ""
            for round_no in range(args.rounds):
                # Each tree in turn, in alternating order from round to round.
                order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
                for name in order:
                    tree_env = {**env, **trees[name]}
                    with running_server(
                        "todo-api", serve_argv(port), tree_env, cwd, port
                    ) as server:
                        if not webhook_secret:
                            webhook_secret = asyncio.run(
                                _create_webhook(server, tokens["hooked"], f"{rx.url}/hook")
                            )
                        sample = asyncio.run(
                            one_round(
                                database,
                                server,
                                rx.url,
                                tokens,
                                webhook_secret,
                                args.events,
                                args.concurrency,
                            )
                        )
                    samples[name].append(sample)
                    log(
                        f"round {round_no + 1}, {name}: {sample.rate:.0f} events/s, delivery "
                        f"{sample.delivery_server_us:.0f} µs server + "
                        f"{sample.delivery_db_us:.0f} µs PostgreSQL per event, "
                        f"{sample.repeated} repeated, signatures "
                        f"{sample.signatures_ok}/{sample.signatures_checked}"
                    )
    text = report(samples, args, header)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
