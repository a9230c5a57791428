"""Prometheus metrics: requests and their latency by route template, and the database pool.

Labels stay few whatever clients send: the route is the matched route's template
(`/api/tasks/{task_id}`), or "unmatched" for every path no route serves; a method outside
HTTP's usual ones is "other". Each worker process counts its own requests.
"""

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from todo_api.db import Database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the hot routes answer in milliseconds, a slow list or a stalled database in more.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "http_requests",
            "Requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        # Read when scraped (see todo_api.edge.ops): how long the longest-open transaction that
        # holds the change feed back has been open.
        self.feed_lag = Gauge(
            "feed_lag_seconds",
            "How long the change feed has been held back by a transaction still open",
            registry=self.registry,
        )
        self.registry.register(_PoolCollector(db))
        # The labelled series of each (method, route, status) seen: found once, not per request.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            label = method if method in METHODS else "other"
            series = self._series[key] = (
                self._requests.labels(label, route, str(status)),
                self._duration.labels(label, route),
            )
        series[0].inc()
        series[1].observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
