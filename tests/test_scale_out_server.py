"""Three `todo-api serve` instances behind HAProxy, on a PostgreSQL primary through PgBouncer
in transaction mode and a hot standby of it (DATABASE_READ_URLS, tests/replicas.py), with
Redis, under a few seconds of mixed load (tests/mixed_load.py) while one instance is killed
(SIGKILL) and started again, one is drained (SIGTERM, a rolling deploy) and started again,
the standby stops and comes back, and Redis restarts. Then: every acknowledged write is there
exactly once; the only 5xx are the proxy's, for requests in flight on the killed instance; every
webhook came (one webhook-id per event); every due reminder fired and was emailed once; every
live stream resumed and missed nothing; each instance stayed within its pool, without
growing.

bench/scale_out.py runs the same for minutes. haproxy, pgbouncer and redis-server come from
scripts/setup-ci.sh: without them this skips locally and fails in CI.
"""

from pathlib import Path

import pytest

from tests import mixed_load, replicas
from tests.cluster import (
    Cluster,
    replica_reads,
    running_with_standby,
    sampler,
    steady_problems,
    tools_missing,
)
from tests.support import IN_CI

LOAD_SECONDS = 14.0
PEOPLE = 4


def fault_plan(
    cluster: Cluster, standby: replicas.Server, seconds: float
) -> list[mixed_load.Fault]:
    """Every fault once, spread over the load: a kill and restart, a drain and restart, the
    replica going away and coming back, Redis going away and coming back."""

    def drain_and_start() -> None:
        exit_status = cluster.drain(1)
        assert exit_status == 0, cluster.instances[1].server.log()
        cluster.start(1)

    return [
        (seconds * 0.15, "kill i1", lambda: cluster.kill(0)),
        (seconds * 0.15, "start i1", lambda: cluster.start(0)),
        (seconds * 0.35, "drain i2", drain_and_start),
        (seconds * 0.5, "stop replica", standby.stop),
        (seconds * 0.6, "start replica", standby.start),
        (seconds * 0.75, "restart redis", cluster.restart_redis),
    ]


async def test_three_instances_keep_every_promise_through_a_kill_a_drain_a_replica_and_redis(
    tmp_path: Path,
) -> None:
    missing = tools_missing()
    if missing:
        message = f"{', '.join(missing)} not installed (sh scripts/setup-ci.sh installs them)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with running_with_standby(tmp_path) as setting:
        cluster = setting.cluster
        people, record, samples = await mixed_load.run(
            cluster.url,
            setting.receiver,
            setting.box,
            people=PEOPLE,
            seconds=LOAD_SECONDS,
            faults=fault_plan(cluster, setting.standby, LOAD_SECONDS),
            sample=sampler(cluster),
        )
        try:
            outcome = await mixed_load.check(people, record, setting.receiver, setting.box)
        finally:
            await mixed_load.close(people)
        read_on_replica = replica_reads(cluster)
        logs = cluster.logs()
    faults = [name for name, *_ in record.faults]
    assert faults == [
        "kill i1",
        "start i1",
        "drain i2",
        "stop replica",
        "start replica",
        "restart redis",
    ]
    assert read_on_replica > 0  # the reads went to the standby while it was there
    assert outcome.problems == [], (outcome.problems, outcome.counts)
    assert steady_problems(samples) == []
    counts = outcome.counts
    # The load did what it is for: writes of each kind, reminders, and streams that resumed.
    assert counts["acknowledged_writes"] >= PEOPLE * 3, counts
    assert counts["reminders"] >= 1, counts
    assert counts["stream_opens"] > PEOPLE, counts  # the kill and the drain ended some
    assert "Traceback" not in logs, logs
