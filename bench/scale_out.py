"""Three instances behind HAProxy under a mixed load for minutes, with faults: what the
clients saw.

    .venv/bin/python bench/scale_out.py                  # 10 minutes, 8 people
    .venv/bin/python bench/scale_out.py --minutes 3 --people 6

The same harness as tests/test_scale_out_server.py (tests/cluster.py, tests/mixed_load.py):
three `todo-api serve` programs (one worker each) on a PostgreSQL primary of their own
through PgBouncer in transaction mode and a hot standby of it taking their reads
(DATABASE_READ_URLS; tests/replicas.py makes both with Debian's PostgreSQL 15 programs), a
redis-server of their own, Debian's HAProxy in front (checks on `/ready`, `option
redispatch`, retries); a local webhook receiver and mail server. People
create (with `Idempotency-Key`, some with reminders), quick-add, rename, complete, list, open
the inbox page and sync CalDAV, each with a live stream that resumes with `Last-Event-ID`.
Meanwhile, each round of faults (every 90 s, the first 45 s in): one instance
killed (SIGKILL) and started again, another drained (SIGTERM) and started again, the standby
stopped and started again, Redis restarted. Then the harness's checks (exactly once, no 5xx
but the proxy's for the kill, every webhook and reminder, streams complete), the answers by
status, latencies by kind (p50, p95, p99), and each instance's resident memory and pool over
time (sampled every second, printed every 30 s). Prints a Markdown section for bench/README.md.

Needs haproxy, pgbouncer and redis-server (scripts/setup-ci.sh).
"""

import argparse
import asyncio
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The harness is the tests' (tests/cluster.py): the root on sys.path. (Not benchlib, which
# imports tests/helpers_server.py under another name.)
sys.path.append(str(Path(__file__).resolve().parent.parent))

from tests import mixed_load, replicas
from tests.cluster import (
    Cluster,
    replica_reads,
    running_with_standby,
    sampler,
    steady_problems,
    tools_missing,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# An exception's line in a log: its qualified name, a colon (or the line's end).
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Failure|Exit|Warning))\b", re.M)


def by_exception(logs: str) -> str:
    """The tracebacks counted by the exception each ends with (a chained one counts each of
    its parts), e.g. " (DatabaseFailure 2, RuntimeError 1)"."""
    kinds: dict[str, int] = defaultdict(int)
    for at in (m.end() for m in re.finditer("Traceback", logs)):
        found = EXCEPTION_LINE.search(logs, at)
        kinds[found.group(1).rsplit(".", 1)[-1] if found else "?"] += 1
    ordered = sorted(kinds.items(), key=lambda kind: -kind[1])
    return f" ({', '.join(f'{name} {count}' for name, count in ordered)})" if kinds else ""


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def faults(cluster: Cluster, standby: replicas.Server, seconds: float) -> list[mixed_load.Fault]:
    plan: list[mixed_load.Fault] = []
    at, round_ = 45.0, 0
    while at + 40 < seconds:
        killed, drained = round_ % 3, (round_ + 1) % 3

        def drain(index: int = drained) -> None:
            assert cluster.drain(index) == 0, "a drained instance exits 0"
            cluster.start(index)

        plan += [
            (at, f"kill i{killed + 1}", lambda i=killed: cluster.kill(i)),
            (at, f"start i{killed + 1}", lambda i=killed: cluster.start(i)),
            (at + 20, f"drain i{drained + 1}", drain),
            (at + 30, "stop replica", standby.stop),
            (at + 35, "start replica", standby.start),
            (at + 40, "restart redis", cluster.restart_redis),
        ]
        at, round_ = at + 90, round_ + 1
    return plan


def latencies(record: mixed_load.Record) -> list[str]:
    by_kind: dict[str, list[float]] = defaultdict(list)
    for answer in record.answers:
        if 200 <= answer.status < 300 and answer.kind != "stream":
            by_kind[answer.kind].append(answer.seconds * 1000)
    rows = ["| kind | answers | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for kind, values in sorted(by_kind.items()):
        p50, p95, p99 = (percentile(values, q) for q in (50, 95, 99))
        rows.append(f"| {kind} | {len(values)} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
    return rows


def five_hundreds(errors: list[tuple[Any, ...]]) -> str:
    """How many 5xx, from whom, and when (10 s buckets of the load's time)."""
    if not errors:
        return "none"
    by_source: dict[str, int] = defaultdict(int)
    buckets: dict[int, int] = defaultdict(int)
    for _kind, status, at, source, _detail in errors:
        by_source[f"{status} from the {source}"] += 1
        buckets[int(at // 10 * 10)] += 1
    when = ", ".join(f"{b}-{b + 10} s: {n}" for b, n in sorted(buckets.items()))
    return f"{dict(by_source)}; when: {when}"


def over_time(samples: list[dict[str, Any]]) -> list[str]:
    rows = ["| s | " + " | ".join(f"i{n} RSS MB (pool)" for n in (1, 2, 3)) + " |"]
    rows.append("|---:|---:|---:|---:|")
    for sample in samples[::30]:
        cells = []
        for name in ("i1", "i2", "i3"):
            seen = sample.get(name)
            pool = seen and seen["pool"]
            cells.append(f"{seen['rss_mb']:.0f} ({pool[0]:.0f}/{pool[1]:.0f})" if pool else "-")
        rows.append(f"| {sample['at']:.0f} | " + " | ".join(cells) + " |")
    return rows


def logged(sample: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """`sample`, its result logged every 30th call (the run's progress)."""
    calls = [0]

    def logging_sample() -> dict[str, Any]:
        seen = sample()
        if calls[0] % 30 == 0:
            log(f"sample {calls[0]}: {seen}")
        calls[0] += 1
        return seen

    return logging_sample


async def measure(folder: Path, seconds: float, people: int) -> list[str]:
    with running_with_standby(folder) as setting:
        cluster = setting.cluster
        try:
            crowd, record, samples = await mixed_load.run(
                cluster.url,
                setting.receiver,
                setting.box,
                people=people,
                seconds=seconds,
                faults=faults(cluster, setting.standby, seconds),
                sample=logged(sampler(cluster)),
            )
        except BaseException:
            # The instances' logs go with the run's folder: their ends say what a fault met.
            for instance in cluster.instances:
                log(f"the end of {instance.name}'s log:\n{instance.server.log()[-6000:]}")
            raise
        try:
            outcome = await mixed_load.check(crowd, record, setting.receiver, setting.box)
        finally:
            await mixed_load.close(crowd)
        on_replica = replica_reads(cluster)
        logs = cluster.logs()
        tracebacks = [
            logs[max(0, at - 300) : at + 1500]
            for at in (m.start() for m in re.finditer("Traceback", logs))
        ]
    problems = outcome.problems + steady_problems(samples)
    counts = outcome.counts
    lines = [
        f"{people} people, {record.seconds / 60:.1f} minutes of load (asked: "
        f"{seconds / 60:.1f}; faults are waited for), 3 instances (one worker each) behind "
        "HAProxy, PgBouncer (transaction mode), Redis, a primary and a hot standby; on this "
        "machine beside other work.",
        "",
        "Faults (seconds into the load): "
        + ", ".join(f"{name} {start:.0f}-{end:.0f}" for name, start, end in record.faults),
        "",
        f"- requests: {counts['requests']}; by status: {counts['by_status']}",
        f"- acknowledged writes: {counts['acknowledged_writes']}, each there exactly once"
        if not any("times" in p and "is there" in p for p in problems)
        else "- acknowledged writes: some not there exactly once (below)",
        f"- webhook events: {counts['webhook_events']}, deliveries: {counts['webhook_deliveries']}",
        f"- reminders due: {counts['reminders']}, emails: {counts['reminder_emails']} "
        f"(sent again: {counts['emails_again']})",
        f"- live streams opened (first and resumed): {counts['stream_opens']}",
        f"- reads the live instances sent to the standby: {on_replica:.0f}",
        f"- 5xx seen: {five_hundreds(counts['server_errors'])}",
        f"- tracebacks in the instances' logs: {len(tracebacks)}" + by_exception(logs),
        f"- problems found by the checks: {len(problems)}"
        + "".join(
            f"\n  - {p.strip()[:160]}"
            for p in (problems if len(problems) <= 8 else problems[:3] + problems[-5:])
        ),
        "",
        *latencies(record),
        "",
        "Memory and pool (open/most) of each instance, every 30 s:",
        "",
        *over_time(samples),
        *(f"\n```\n{trace}\n```" for trace in tracebacks[:3]),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--people", type=int, default=8)
    args = parser.parse_args()
    if missing := tools_missing():
        sys.exit(f"{', '.join(missing)} not installed: sh scripts/setup-ci.sh")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))
    with tempfile.TemporaryDirectory(prefix="scale-out-") as folder:
        log(f"{args.people} people for {args.minutes} minutes")
        lines = asyncio.run(measure(Path(folder), args.minutes * 60, args.people))
        log("done")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
