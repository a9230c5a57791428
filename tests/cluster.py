"""Several `todo-api serve` instances behind HAProxy, as a deployment that has outgrown one
process runs them: Debian's HAProxy (checks on `/ready`, `option redispatch`, retries) in front
of the instances on free ports, PgBouncer in transaction mode in front of PostgreSQL, and a
redis-server of the cluster's own (never the machine's: it is restarted at will). Each instance
can be killed (SIGKILL) or drained (SIGTERM, a rolling deploy) and started again on its port.

Used by tests/test_scale_out_server.py and bench/scale_out.py. `extra_env` goes to every
instance (a primary and standby pair, later: `DATABASE_READ_URLS`).

HAProxy comes from scripts/setup-ci.sh: without it the test skips locally and fails in CI.
"""

import csv
import io
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from tests import replicas
from tests.helpers_server import (
    STARTUP_TIMEOUT,
    PgBouncer,
    Server,
    clean_env,
    free_port,
    launch_server,
    pgbouncer_binary,
    running_pgbouncer,
    wait_until_healthy,
)
from tests.reminders.smtp import Mailbox, mailbox
from tests.support import TEST_SECRET
from tests.test_redis_outage_server import RedisServer
from tests.webhooks.receiver import Receiver, receiving

HAPROXY_CANDIDATES = ("haproxy", "/usr/sbin/haproxy")
METRICS_TOKEN = "scrape"
# Each instance's pool: its connections to PgBouncer never exceed this.
POOL_SIZE = 5
# HAProxy checks /ready every CHECK_INTERVAL_MS and takes an instance out after two failures.
# A check waits up to CHECK_TIMEOUT_SECONDS: /ready asks the database through the instance's
# pool, and on a busy machine a busy instance answers it late (checks that gave up after 2 s
# took every instance out at once, and the proxy answered 503 for seconds).
CHECK_INTERVAL_MS = 1000
CHECK_TIMEOUT_SECONDS = 5
# After SIGTERM an instance keeps serving this long while /ready fails: more than HAProxy
# needs to see it (two failed checks, CHECK_INTERVAL_MS apart).
SHUTDOWN_DELAY_SECONDS = 3
# A start on a busy machine: a fresh database's migrations alone may take half a minute there.
START_SECONDS = max(STARTUP_TIMEOUT, 240.0)


def haproxy_binary() -> str | None:
    """Debian's haproxy (installed by scripts/setup-ci.sh), or None."""
    for candidate in HAPROXY_CANDIDATES:
        if found := shutil.which(candidate):
            return found
    return None


def haproxy_config(port: int, stats_port: int, backends: Mapping[str, int]) -> str:
    """HTTP load balancing over `backends` (name: port) with health checks on /ready: a
    connection refused is tried again on another instance (`option redispatch`), so is an
    idle server connection that an instance closed under a request (`empty-response`); a
    request in flight on an instance that dies is the proxy's 502."""
    servers = "".join(
        f"    server {name} 127.0.0.1:{backend} check\n" for name, backend in backends.items()
    )
    return (
        "global\n"
        "    maxconn 4096\n"
        "defaults\n"
        "    mode http\n"
        "    timeout connect 2s\n"
        "    timeout client 120s\n"
        "    timeout server 120s\n"  # live streams send a keep-alive every 15 s
        "    timeout http-request 10s\n"
        f"    timeout check {CHECK_TIMEOUT_SECONDS}s\n"
        "    option redispatch\n"
        "    retries 3\n"
        "    retry-on conn-failure empty-response\n"
        "frontend api\n"
        f"    bind 127.0.0.1:{port}\n"
        "    option forwardfor\n"
        "    default_backend instances\n"
        "backend instances\n"
        "    balance roundrobin\n"
        "    option httpchk GET /ready\n"
        "    http-check expect status 200\n"
        f"    default-server inter {CHECK_INTERVAL_MS}ms fall 2 rise 1\n"
        f"{servers}"
        "listen stats\n"
        f"    bind 127.0.0.1:{stats_port}\n"
        "    stats enable\n"
        "    stats uri /stats\n"
    )


@dataclass
class HAProxy:
    process: subprocess.Popen[bytes]
    port: int
    stats_port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def states(self) -> dict[str, str]:
        """Each instance's state as HAProxy sees it (UP, DOWN, ...)."""
        answer = httpx.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5)
        rows = csv.DictReader(io.StringIO(answer.text.lstrip("# ")))
        return {
            row["svname"]: row["status"].split()[0]
            for row in rows
            if row["pxname"] == "instances" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def wait_for(self, name: str, state: str, timeout: float = START_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while self.states().get(name) != state:
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, f"{name} not {state}: {self.states()}"
            time.sleep(0.05)


@contextmanager
def running_haproxy(binary: str, folder: Path, backends: Mapping[str, int]) -> Iterator[HAProxy]:
    port, stats_port = free_port(), free_port()
    config = folder / "haproxy.cfg"
    config.write_text(haproxy_config(port, stats_port, backends))
    log_path = folder / "haproxy.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [binary, "-db", "-f", str(config)],  # -db: in the foreground
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proxy = HAProxy(process, port, stats_port, log_path)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert process.poll() is None, f"haproxy exited:\n{log_path.read_text()}"
            with suppress(httpx.TransportError):
                proxy.states()
                break
            assert time.monotonic() < deadline, "haproxy did not start"
            time.sleep(0.05)
        yield proxy
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Instance:
    name: str
    folder: Path
    port: int
    env: dict[str, str]
    # Every process this instance has been, oldest first (their logs share one file).
    pids: list[int] = field(default_factory=list)
    server: Server = field(init=False)

    def start(self) -> None:
        self.server = launch_server(self.folder, self.env, self.folder / "server.log", self.port)
        self.pids.append(self.server.process.pid)

    @property
    def pid(self) -> int:
        return self.server.process.pid

    def stop(self) -> None:
        """Stops its current process (the one started last)."""
        self.server.stop()

    def alive(self) -> bool:
        return self.server.process.poll() is None


@dataclass
class Cluster:
    proxy: HAProxy
    pooler: PgBouncer
    redis: RedisServer
    instances: list[Instance]

    @property
    def url(self) -> str:
        return self.proxy.url

    def kill(self, index: int) -> None:
        """SIGKILL: requests in flight there are cut (the proxy answers them 502)."""
        instance = self.instances[index]
        instance.server.process.send_signal(signal.SIGKILL)
        instance.server.process.wait(timeout=10)
        self.proxy.wait_for(instance.name, "DOWN")

    def drain(self, index: int) -> int:
        """SIGTERM, as a rolling deploy stops an instance; its exit status once it has gone."""
        instance = self.instances[index]
        instance.server.process.send_signal(signal.SIGTERM)
        self.proxy.wait_for(instance.name, "DOWN")
        return instance.server.process.wait(timeout=60)

    def start(self, index: int) -> None:
        """Starts an instance that is down again on its port, once HAProxy sends it requests."""
        instance = self.instances[index]
        assert not instance.alive()
        instance.start()
        wait_until_healthy(instance.server, START_SECONDS)
        self.proxy.wait_for(instance.name, "UP")

    def restart_redis(self, down_seconds: float = 1.0) -> None:
        self.redis.stop()
        time.sleep(down_seconds)
        self.redis.start()

    def logs(self) -> str:
        return "\n".join(i.server.log() for i in self.instances)


def instance_env(
    postgres_url: str, pooled_url: str, redis_url: str, extra_env: Mapping[str, str]
) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=pooled_url,
        DATABASE_DIRECT_URL=postgres_url,
        DATABASE_STATEMENT_CACHE="false",
        DATABASE_POOL_SIZE=str(POOL_SIZE),
        REDIS_URL=redis_url,
        TRUSTED_PROXIES="127.0.0.1",
        METRICS_TOKEN=METRICS_TOKEN,
        SHUTDOWN_DELAY_SECONDS=str(SHUTDOWN_DELAY_SECONDS),
        SHUTDOWN_GRACE_SECONDS="10",
        AUTH_RATE_LIMIT_ATTEMPTS="100000",  # the load signs many people in from 127.0.0.1
        **extra_env,
    )


@contextmanager
def running_cluster(
    folder: Path,
    postgres_url: str,
    *,
    size: int = 3,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """`size` instances on `postgres_url` (through a PgBouncer of the cluster's own) behind
    HAProxy, with a redis-server of their own; `extra_env` goes to every instance. All
    stopped afterwards. Needs haproxy, pgbouncer and redis-server (the caller checks)."""
    haproxy, bouncer = haproxy_binary(), pgbouncer_binary()
    assert haproxy is not None
    assert bouncer is not None
    direct = make_url(postgres_url)
    with ExitStack() as stack:
        pooler = stack.enter_context(
            running_pgbouncer(bouncer, folder, direct.host or "127.0.0.1", direct.port or 5432)
        )
        pooled = direct.set(host="127.0.0.1", port=pooler.port).render_as_string(False)
        redis = RedisServer(free_port(), folder)
        redis.start()
        stack.callback(redis.stop)
        env = instance_env(postgres_url, pooled, redis.url, extra_env or {})
        instances = []
        for n in range(size):
            home = folder / f"instance-{n + 1}"
            home.mkdir(exist_ok=True)
            instances.append(Instance(f"i{n + 1}", home, free_port(), env))
        for n, instance in enumerate(instances):
            instance.start()
            stack.callback(instance.stop)
            if n == 0:  # the first migrates the database; the others start side by side
                wait_until_healthy(instance.server, START_SECONDS)
        for instance in instances[1:]:
            wait_until_healthy(instance.server, START_SECONDS)
        proxy = stack.enter_context(
            running_haproxy(haproxy, folder, {i.name: i.port for i in instances})
        )
        for instance in instances:
            proxy.wait_for(instance.name, "UP")
        yield Cluster(proxy, pooler, redis, instances)


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB (0 once it has gone)."""
    with suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pool_connections(instance: Instance) -> tuple[float, float] | None:
    """The instance's database pool from its own /metrics: (open, most it may open), or None
    when it does not answer."""
    try:
        answer = httpx.get(
            f"{instance.server.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=5,
        )
    except httpx.TransportError:
        return None
    values = {}
    for line in answer.text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("db_pool_size", "db_pool_max_size"):
            values[name] = float(value)
    return values.get("db_pool_size", 0.0), values.get("db_pool_max_size", 0.0)


@dataclass
class Setting:
    """A running cluster with what it is watched by: its primary's hot standby (taking its
    reads), the webhooks' receiver and the reminders' mailbox."""

    cluster: Cluster
    standby: replicas.Server
    receiver: Receiver
    box: Mailbox


@contextmanager
def running_with_standby(folder: Path) -> Iterator[Setting]:
    """`running_cluster` on a primary and a hot standby of its own (tests/replicas.py), with
    a webhook receiver and a mail server; all stopped afterwards."""
    # Three instances' pools on the primary (through the pooler) and on the standby (directly).
    with (
        replicas.cluster(1, "max_connections=200") as databases,
        receiving() as receiver,
        mailbox() as box,
    ):
        standby = databases.standbys[0]
        env = {**service_env(box.url), "DATABASE_READ_URLS": standby.url}
        with running_cluster(folder, databases.primary.url, extra_env=env) as cluster:
            yield Setting(cluster, standby, receiver, box)


def replica_reads(cluster: Cluster) -> float:
    """The reads the live instances sent to a replica (`database_reads_total`, their own
    /metrics: a restarted instance counts from its start)."""
    total = 0.0
    for instance in cluster.instances:
        if not instance.alive():
            continue
        answer = httpx.get(
            f"{instance.server.url}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=5,
        )
        for line in answer.text.splitlines():
            if line.startswith('database_reads_total{target="replica"}'):
                total += float(line.rpartition(" ")[2])
    return total


def tools_missing() -> list[str]:
    """The programs a cluster needs that this machine lacks."""
    wanted = {
        "haproxy": haproxy_binary(),
        "pgbouncer": pgbouncer_binary(),
        "redis-server": shutil.which("redis-server"),
    }
    return [name for name, found in wanted.items() if found is None]


def sampler(cluster: Cluster) -> Callable[[], dict[str, Any]]:
    """Each live instance's pid, resident memory and pool, for `mixed_load.run`."""

    def sample() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for instance in cluster.instances:
            if instance.alive():
                seen[instance.name] = {
                    "pid": instance.pid,
                    "rss_mb": round(rss_mb(instance.pid), 1),
                    "pool": pool_connections(instance),
                }
        return seen

    return sample


def service_env(smtp_url: str) -> dict[str, str]:
    """What every instance runs with beside the cluster's own: webhooks to 127.0.0.1, quick
    retries and short leases, reminder emails to the test's mail server."""
    return {
        "JWT_SECRET": TEST_SECRET,
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_POLL_SECONDS": "0.3",
        "WEBHOOK_RETRY_SCHEDULE": "0.5,1,2,4,8",
        "SMTP_URL": smtp_url,
        "REMINDER_EMAIL_FROM": "reminders@example.test",
        "REMINDER_EMAIL_RETRY_SCHEDULE": "0.5,1,2,4",
    }


def steady_problems(samples: list[dict[str, Any]]) -> list[str]:
    """Each process within its pool, and not growing: its last resident size within 1.5 times
    (and 40 MB) of the largest in the first half of its life."""
    problems = []
    by_pid: dict[int, list[float]] = {}
    for sample in samples:
        for name, seen in sample.items():
            if name == "at":
                continue
            by_pid.setdefault(seen["pid"], []).append(seen["rss_mb"])
            if seen["pool"] is not None and seen["pool"][0] > seen["pool"][1]:
                problems.append(f"{name} held {seen['pool']} connections at {sample['at']} s")
    for pid, sizes in by_pid.items():
        early = max(sizes[: max(1, len(sizes) // 2)])
        if sizes[-1] > early * 1.5 + 40:
            problems.append(f"process {pid} grew from {early} MB to {sizes[-1]} MB")
    return problems
