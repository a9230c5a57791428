"""Operating the service: /metrics in Prometheus' format, and one log line per request (text,
or JSON with LOG_FORMAT=json)."""

import asyncio
import io
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.registry import Collector

from tests.helpers_server import clean_env, running_server, server_token
from tests.support import (
    TEST_SECRET,
    app_factory,
    assert_error,
    captured_logs,
    client_for,
    token_for,
)
from todo_api.config import LogFormat, Settings
from todo_api.edge.metrics import BUCKETS, DURATIONS, METHODS, REQUESTS, _Requests
from todo_api.edge.middleware import REQUEST_LINE
from todo_api.process.logs import (
    LINES_HELD_SECONDS,
    PENDING_LINES_MAX,
    EscapingFormatter,
    JsonFormatter,
    LineHandler,
    RequestLog,
    configure_logging,
)

HTTP_TIMEOUT = 30.0


def written(capsys: pytest.CaptureFixture[str]) -> str:
    """What the service logged on stderr, the request lines of the current turn of the event
    loop included (they go out at its end)."""
    for handler in logging.getLogger("todo_api").handlers:
        handler.flush()
    return capsys.readouterr().err


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text page (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        found = re.fullmatch(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?", series)
        assert found, line
        if found.group(1) == name and ",".join(sorted((found.group(2) or "").split(","))) == (
            wanted
        ):
            return float(value)
    return 0.0


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    async with app_factory(settings.database_url, tmp_path) as make:
        yield make


async def test_requests_are_counted_by_route_template(
    make_app: Callable[..., FastAPI], settings: Settings
) -> None:
    app = make_app()
    async with client_for(app, token_for(settings)) as client:
        task = (await client.post("/api/tasks", json={"title": "Counted"})).json()
        for _ in range(3):
            assert (await client.get(f"/api/tasks/{task['id']}")).status_code == 200
        assert (await client.get(f"/api/tasks/{uuid.uuid4()}")).status_code == 404
        assert (await client.get("/no/such/path")).status_code == 404
        assert (await client.get("/another/unknown")).status_code == 404
        assert (await client.get("/api/tasks?limit=2")).status_code == 200
        page = await client.get("/metrics")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text
    one_task = {"method": "GET", "route": "/api/tasks/{task_id}"}
    assert sample(text, "http_requests_total", **one_task, status="200") == 3
    assert sample(text, "http_requests_total", **one_task, status="404") == 1
    assert sample(text, "http_requests_total", method="POST", route="/api/tasks", status="201") == 1
    assert sample(text, "http_requests_total", method="GET", route="/api/tasks", status="200") == 1
    # Paths no route serves share one label; raw paths and ids never become labels.
    assert sample(text, "http_requests_total", method="GET", route="unmatched", status="404") == 2
    assert task["id"] not in text
    assert "/no/such/path" not in text
    # The latency histogram, by method and route.
    assert sample(text, "http_request_duration_seconds_count", **one_task) == 4
    assert sample(text, "http_request_duration_seconds_bucket", **one_task, le="+Inf") == 4
    assert sample(text, "http_request_duration_seconds_sum", **one_task) > 0


def test_requests_are_written_as_prometheus_clients_counter_and_histogram_write_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request metrics are counted without prometheus_client's per-request calls; the page
    is what its Counter and Histogram, given the same requests, write, byte for byte."""
    monkeypatch.setattr(time, "time", lambda: 1_767_225_600.25)  # the series' `_created`
    reference = CollectorRegistry()
    requests = Counter(*REQUESTS, ["method", "route", "status"], registry=reference)
    durations = Histogram(*DURATIONS, ["method", "route"], buckets=BUCKETS, registry=reference)
    mine = _Requests()
    assert generate_latest(_alone(mine)) == generate_latest(reference)  # nothing counted yet
    seen = [
        ("GET", "/api/tasks/{task_id}", 200, 0.0004),
        ("GET", "/api/tasks/{task_id}", 200, 0.001),  # on a bound: in its bucket
        ("GET", "/api/tasks/{task_id}", 404, 0.0031),
        ("POST", "/api/tasks", 201, 0.012),
        ("PROPFIND", "/dav/{path}", 207, 0.3),  # "other"
        ("MKCALENDAR", "/dav/{path}", 207, 0.2),
        ("GET", "/api/tasks", 200, 12.5),  # beyond the last bound
        ("GET", "unmatched", 404, 0.0001),
        ("GET", "/api/tasks/{task_id}", 200, 0.0025),
    ]
    for method, route, status, seconds in seen:
        label = method if method in METHODS else "other"
        requests.labels(label, route, str(status)).inc()
        durations.labels(label, route).observe(seconds)
        mine.observe(method, route, status, seconds)
    assert generate_latest(_alone(mine)) == generate_latest(reference)


def _alone(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)
    return registry


async def test_oauth_and_well_known_routes_have_their_own_labels(
    make_app: Callable[..., FastAPI], capsys: pytest.CaptureFixture[str]
) -> None:
    """Token failures are told from scans: each route of the authorization server and each
    `/.well-known/` document is counted, and logged, under its own template."""
    app = make_app(public_url="http://test", log_format="json", log_level="INFO")
    capsys.readouterr()
    requests = [
        ("GET", "/.well-known/oauth-protected-resource/mcp", 200),
        ("GET", "/.well-known/oauth-protected-resource", 200),
        ("GET", "/.well-known/oauth-authorization-server", 200),
        ("GET", "/.well-known/openid-configuration", 200),
        ("GET", "/.well-known/caldav", 301),
        ("POST", "/oauth/token", 401),
        ("GET", "/oauth/token", 405),
        ("POST", "/oauth/revoke", 401),
        ("POST", "/oauth/register", 400),
        ("GET", "/oauth/authorize", 400),
    ]
    # CalDAV's paths are its clients' names: one label for all of them, the mount's template.
    dav_paths = ["/dav/", "/dav/calendars/someone/inbox/", "/dav/principals/x/"]
    async with client_for(app) as client:
        for path in dav_paths:
            assert (await client.request("PROPFIND", path)).status_code == 401
        for method, path, status in requests:
            response = await client.request(method, path, data={"client_id": "nobody"})
            assert response.status_code == status, (path, response.text)
        assert (await client.get("/oauth/nothing")).status_code == 404
        text = (await client.get("/metrics")).text
    for method, path, status in requests:
        assert sample(text, "http_requests_total", method=method, route=path, status=str(status))
    assert sample(text, "http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert (
        sample(text, "http_requests_total", method="other", route="/dav/{path}", status="401") == 3
    )
    lines = [json.loads(line) for line in written(capsys).splitlines() if line]
    routes = {line["path"]: line["route"] for line in lines if "route" in line}
    assert routes["/oauth/token"] == "/oauth/token"
    assert routes["/.well-known/caldav"] == "/.well-known/caldav"
    assert routes["/oauth/nothing"] == "unmatched"


async def test_the_web_apps_pages_have_their_templates_as_labels(
    make_app: Callable[..., FastAPI],
) -> None:
    """The web app's pages are counted under their own templates, a method they do not take
    too; a path of the app that is no page is `unmatched`, as anywhere else."""
    app = make_app()
    requests = [
        ("GET", "/app/signin", 200),
        ("HEAD", "/app/signin", 200),
        ("GET", "/app/", 303),  # to the sign-in page
        ("GET", "/app/tasks/someone", 303),
        ("POST", "/app/", 405),
        ("GET", "/app/static/nothing.css", 404),
    ]
    async with client_for(app) as client:
        for method, path, status in requests:
            response = await client.request(method, path)
            assert response.status_code == status, (method, path, response.text)
        assert (await client.get("/app/no/such/page")).status_code == 404
        text = (await client.get("/metrics")).text
    labels = [
        ("GET", "/app/signin", "200"),
        ("HEAD", "/app/signin", "200"),
        ("GET", "/app/", "303"),
        ("GET", "/app/tasks/{task_id}", "303"),
        ("POST", "/app/", "405"),
        ("GET", "/app/static/{name}", "404"),
    ]
    for method, route, status in labels:
        found = sample(text, "http_requests_total", method=method, route=route, status=status)
        assert found == 1, (method, route, status)
    assert sample(text, "http_requests_total", method="GET", route="unmatched", status="404") == 1


async def test_unusual_methods_share_one_label(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()
    async with client_for(app) as client:
        for method in ("FROB", "XYZZY"):
            await client.request(method, "/api/tasks")
        text = (await client.get("/metrics")).text
    assert "FROB" not in text
    assert "XYZZY" not in text
    assert (
        sample(text, "http_requests_total", method="other", route="/api/tasks", status="405") == 2
    )


async def test_pool_size_and_checked_out_connections(
    make_app: Callable[..., FastAPI], settings: Settings
) -> None:
    app = make_app(database_pool_size=7)
    async with client_for(app, token_for(settings)) as client:
        assert (await client.get("/api/tasks")).status_code == 200
        text = (await client.get("/metrics")).text
    assert sample(text, "db_pool_max_size") == 7
    assert sample(text, "db_pool_size") >= 1  # the list's connection stays open, idle
    assert sample(text, "db_pool_checked_out") == 0  # /metrics itself holds none


async def test_metrics_token_is_required_when_set(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(metrics_token="scrape-me-please")
    async with client_for(app) as client:
        missing = await client.get("/metrics")
        assert_error(missing, 401, "UNAUTHORIZED")
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert_error(wrong, 401, "INVALID_TOKEN")
        right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert right.status_code == 200
    assert "http_requests_total" in right.text


async def test_json_log_line_per_request(
    make_app: Callable[..., FastAPI], settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(log_format="json", log_level="INFO")
    token = token_for(settings)
    async with client_for(app, token) as client:
        created = await client.post(
            "/api/tasks", json={"title": "Logged"}, headers={"X-Request-ID": "req-json-1"}
        )
        await client.get("/bad%0d%0apath", headers={"X-Request-ID": "req-json-2"})
    assert created.status_code == 201

    lines = [json.loads(line) for line in written(capsys).splitlines() if line]
    by_id = {line.get("request_id"): line for line in lines}
    created_line = by_id["req-json-1"]
    assert created_line["method"] == "POST"
    assert created_line["route"] == "/api/tasks"
    assert created_line["status"] == 201
    assert isinstance(created_line["duration_ms"], float)
    assert created_line["user_id"] == str(uuid.UUID(created.json()["user_id"]))
    assert created_line["level"] == "INFO"
    unmatched = by_id["req-json-2"]
    assert unmatched["route"] == "unmatched"
    assert unmatched["user_id"] is None
    assert unmatched["path"] == "/bad\r\npath"  # JSON escapes it: still one line


def test_a_real_server_logs_json_and_serves_metrics(tmp_path: Path) -> None:
    env = clean_env(
        DATABASE_URL=f"sqlite:///{tmp_path}/todo.db",
        JWT_SECRET=TEST_SECRET,
        LOG_FORMAT="json",
        METRICS_TOKEN="scrape",
    )
    headers = {"Authorization": f"Bearer {server_token(env, sub=str(uuid.uuid4()))}"}
    with running_server(tmp_path, env, tmp_path / "server.log") as server:
        listed = httpx.get(f"{server.url}/api/tasks", headers=headers, timeout=HTTP_TIMEOUT)
        scraped = httpx.get(
            f"{server.url}/metrics",
            headers={"Authorization": "Bearer scrape"},
            timeout=HTTP_TIMEOUT,
        )
        deadline = time.monotonic() + 10  # request lines are held a moment (LineHandler)
        while '"route":"/api/tasks"' not in (log := server.log()):
            assert time.monotonic() < deadline, log
            time.sleep(0.05)
    assert listed.status_code == 200
    assert scraped.status_code == 200
    assert (
        sample(scraped.text, "http_requests_total", method="GET", route="/api/tasks", status="200")
        == 1
    )
    # uvicorn's lines and the service's alike are JSON.
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line.get("route") == "/api/tasks" and line.get("status") == 200 for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)


# --- the request line without a LogRecord ------------------------------------------------------


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """These tests configure logging themselves: the loggers are left as they were found."""
    loggers = [logging.getLogger(name) for name in ("todo_api", "uvicorn")]
    kept = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield
    for logger, (handlers, level, propagate) in zip(loggers, kept, strict=True):
        logger.handlers[:], logger.propagate = handlers, propagate
        logger.setLevel(level)  # and forget the levels logging cached


REQUEST_ARGS = ("GET", "/api/tasks/0190\\r\\nx", 200, 1.25, "req-1", "-")
REQUEST_FIELDS: dict[str, object] = {
    "request_id": "req-1",
    "method": "GET",
    "route": "unmatched",
    "path": "/api/tasks/0190\r\nx",
    "status": 200,
    "duration_ms": 1.25,
    "user_id": uuid.UUID("0190a000-0000-7000-8000-000000000001"),
}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_line_without_a_record_is_the_line_logging_writes(log_format: LogFormat) -> None:
    """`info_line` gives, byte for byte, what each format makes of the record `logger.info`
    would make (the time's second and milliseconds included), whatever the instant."""
    configure_logging("INFO", log_format)
    formatter = logging.getLogger("todo_api").handlers[0].formatter
    assert isinstance(formatter, EscapingFormatter | JsonFormatter)
    for created in [0.0, 0.9995, 1.0, 59.999, 1_767_225_599.9999, 1_767_225_600.0004, 2**31 + 0.5]:
        record = logging.LogRecord(
            "todo_api.request", logging.INFO, __file__, 1, REQUEST_LINE, REQUEST_ARGS, None
        )
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        record.fields = REQUEST_FIELDS
        message = REQUEST_LINE % REQUEST_ARGS
        line = formatter.info_line("todo_api.request", created, message, REQUEST_FIELDS)
        assert line == formatter.format(record)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_request_line_is_written_by_the_handler_or_through_logging(
    log_format: LogFormat, caplog: pytest.LogCaptureFixture
) -> None:
    """As configure_logging sets it up, the line goes straight to the handler's stream; with
    another handler (a capture) or the level above INFO, `logging` decides, as before."""
    configure_logging("INFO", log_format)
    handler = logging.getLogger("todo_api").handlers[0]
    assert isinstance(handler, LineHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    request_log = RequestLog("todo_api.request")
    request_log.info(REQUEST_LINE, REQUEST_ARGS, REQUEST_FIELDS)
    [written] = stream.getvalue().splitlines()
    if log_format == "json":
        line = json.loads(written)
        assert line.pop("time")
        assert line == {
            "level": "INFO",
            "logger": "todo_api.request",
            "message": REQUEST_LINE % REQUEST_ARGS,
            **REQUEST_FIELDS,
            "user_id": str(REQUEST_FIELDS["user_id"]),
        }
    else:
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO todo_api.request "
            + re.escape(REQUEST_LINE % REQUEST_ARGS),
            written,
        )

    with captured_logs(caplog):  # a second handler: through logging, to both
        request_log.info(REQUEST_LINE, REQUEST_ARGS, REQUEST_FIELDS)
    [record] = [r for r in caplog.records if r.name == "todo_api.request"]
    assert record.getMessage() == REQUEST_LINE % REQUEST_ARGS
    assert record.__dict__["fields"] == REQUEST_FIELDS
    assert len(stream.getvalue().splitlines()) == 2

    logging.getLogger("todo_api").setLevel(logging.WARNING)
    request_log.info(REQUEST_LINE, REQUEST_ARGS, REQUEST_FIELDS)
    assert len(stream.getvalue().splitlines()) == 2  # not written


class _Writes(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


async def test_request_lines_are_written_together_soon_and_in_their_order() -> None:
    """In the event loop, request lines wait at most LINES_HELD_SECONDS and go out in one
    write; a record logged meanwhile (an error, a job's line) writes them first."""
    configure_logging("INFO", "text")
    handler = logging.getLogger("todo_api").handlers[0]
    stream = _Writes()
    handler.setStream(stream)
    request_log = RequestLog("todo_api.request")

    def log_request(request_id: str) -> None:
        args = (*REQUEST_ARGS[:4], request_id, "-")
        request_log.info(REQUEST_LINE, args, {**REQUEST_FIELDS, "request_id": request_id})

    for n in range(3):
        log_request(f"first-{n}")
        await asyncio.sleep(0)
    assert stream.writes == []  # held
    await asyncio.sleep(LINES_HELD_SECONDS * 2)
    [together] = stream.writes
    assert [line.rsplit("request_id=", 1)[1] for line in together.splitlines()] == [
        "first-0 user_id=-",
        "first-1 user_id=-",
        "first-2 user_id=-",
    ]

    log_request("second-0")
    logging.getLogger("todo_api.jobs").warning("after the request")
    lines = stream.getvalue().splitlines()
    assert "request_id=second-0" in lines[-2]
    assert lines[-1].endswith("WARNING todo_api.jobs after the request")
    await asyncio.sleep(LINES_HELD_SECONDS * 2)
    assert len(stream.getvalue().splitlines()) == 5  # nothing written twice

    for n in range(PENDING_LINES_MAX):
        log_request(f"many-{n}")
    assert len(stream.getvalue().splitlines()) == 5 + PENDING_LINES_MAX  # no waiting for more
