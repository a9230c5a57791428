"""Prometheus metrics: requests and their latency by route template, and the database pool.

Labels stay few whatever clients send: the route is the matched route's template
(`/api/tasks/{task_id}`), or "unmatched" for every path no route serves; a method outside
HTTP's usual ones is "other". Each worker process counts its own requests.
"""

import math
import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from todo_api.db import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the hot routes answer in milliseconds, a slow list or a stalled database in more.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self._requests = _Requests()
        self.registry.register(self._requests)
        # Read when scraped (see todo_api.edge.ops): how long the longest-open transaction that
        # holds the change feed back has been open.
        self.feed_lag = Gauge(
            "feed_lag_seconds",
            "How long the change feed has been held back by a transaction still open",
            registry=self.registry,
        )
        self.registry.register(_PoolCollector(db))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.observe(method, route, status, seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


REQUESTS = ("http_requests", "Requests answered, by method, route template and status")
DURATIONS = (
    "http_request_duration_seconds",
    "Time to answer a request, by method and route template",
)
# Each bucket's upper bound, +Inf last, and its label.
_BOUNDS = (*BUCKETS, math.inf)
_LE = tuple(floatToGoString(bound) for bound in _BOUNDS)  # type: ignore[no-untyped-call]


class _Requests(Collector):
    """Requests answered and the time each took, counted as prometheus_client's Counter
    (REQUESTS, by method, route and status) and Histogram (DURATIONS, by method and route)
    count them and written as they write them (test_metrics_and_logs compares), with plain
    numbers per request: their `inc` and `observe` took a lock and a loop over the buckets
    each time (1.1 µs a request; this, a third of it). Counted in the event loop's thread;
    a scrape (an async route) reads them in the same thread."""

    def __init__(self) -> None:
        # By label values: [count, created] and [count per bucket..., sum, created].
        self._counts: dict[tuple[str, str, str], list[float]] = {}
        self._durations: dict[tuple[str, str], list[float]] = {}
        # The two of each (method, route, status) seen, found once, not per request.
        self._series: dict[tuple[str, str, int], tuple[list[float], list[float]]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            series = self._series[(method, route, status)] = self._new(method, route, status)
        counted, durations = series
        counted[0] += 1
        durations[bisect_left(_BOUNDS, seconds)] += 1  # the first bound >= seconds
        durations[-2] += seconds

    def _new(self, method: str, route: str, status: int) -> tuple[list[float], list[float]]:
        label = method if method in METHODS else "other"
        now = time.time()
        counted = self._counts.setdefault((label, route, str(status)), [0.0, now])
        durations = self._durations.setdefault((label, route), [0.0] * len(_BOUNDS) + [0.0, now])
        return counted, durations

    def collect(self) -> Iterator[Metric]:
        name, documentation = REQUESTS
        requests = Metric(name, documentation, "counter")
        for (method, route, status), (count, created) in self._counts.items():
            labels = {"method": method, "route": route, "status": status}
            requests.add_sample(f"{name}_total", labels, count)
            requests.add_sample(f"{name}_created", labels, created)
        yield requests
        name, documentation = DURATIONS
        durations = Metric(name, documentation, "histogram")
        for (method, route), values in self._durations.items():
            labels = {"method": method, "route": route}
            seen = 0.0
            for le, count in zip(_LE, values, strict=False):
                seen += count
                durations.add_sample(f"{name}_bucket", {**labels, "le": le}, seen)
            durations.add_sample(f"{name}_count", labels, seen)
            durations.add_sample(f"{name}_sum", labels, values[-2])
            durations.add_sample(f"{name}_created", labels, values[-1])
        yield durations


class _PoolCollector(Collector):
    """The pool's connections, read when scraped."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        size, in_use = self._db.pool_stats()
        yield GaugeMetricFamily("db_pool_size", "Database connections open", value=size)
        yield GaugeMetricFamily(
            "db_pool_checked_out", "Database connections in use by requests", value=in_use
        )
        yield GaugeMetricFamily(
            "db_pool_max_size", "Database connections the pool may open", value=self._db.max_size
        )
