"""What a client sends cannot stall or mislead the service, through the ASGI app: the body
limit, the headers on every response, capped validation details, log lines a client cannot
forge, forwarded addresses from trusted proxies only, and redirects that ignore Host.

(The size and time bounds on request headers live in the server: test_transport_server.py.)
"""

import base64
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from lxml import etree

from tests.support import (
    app_for,
    assert_error,
    captured_logs,
    client_for,
    make_settings,
    operations,
    token_for,
    validation_details,
)
from todo_api.config import ConfigError, Settings, load_settings
from todo_api.process.logs import EscapingFormatter, loggable

JSON = {"content-type": "application/json"}
SMALL_LIMIT = 1024
FRONTEND = "http://localhost:3000"


@asynccontextmanager
async def app_with(settings: Settings, tmp_path: Path, **overrides: Any) -> AsyncIterator[FastAPI]:
    """An app on the session's database (SQLite or PostgreSQL) with some settings changed."""
    async with app_for(make_settings(settings.database_url or "", tmp_path, **overrides)) as app:
        yield app


def sized_task(size: int) -> bytes:
    """A valid TaskCreate body of exactly `size` bytes."""
    empty = json.dumps({"title": "Sized", "description": ""}).encode()
    body = json.dumps({"title": "Sized", "description": "x" * (size - len(empty))}).encode()
    assert len(body) == size
    return body


# --- the body limit --------------------------------------------------------------------------


@pytest.fixture
async def small_limit_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    async with app_with(settings, tmp_path, max_body_bytes=SMALL_LIMIT) as app:
        yield app


async def test_a_declared_length_over_the_limit_is_413_before_anything_else(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    subject = str(uuid.uuid4())
    async with client_for(small_limit_app, token_for(settings, subject)) as client:
        refused = await client.post("/api/tasks", content=sized_task(SMALL_LIMIT + 1), headers=JSON)
        listed = await client.get("/api/tasks")
    body = assert_error(refused, 413, "PAYLOAD_TOO_LARGE")
    assert str(SMALL_LIMIT) in body["error"]
    assert refused.headers["connection"] == "close"  # the rest of the body is never read
    assert listed.json() == []
    # Decided before the token is even looked at.
    async with client_for(small_limit_app) as anonymous:
        response = await anonymous.post("/api/tasks", content=b"x" * 5000, headers=JSON)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_body_at_the_limit_is_accepted(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    async with client_for(small_limit_app, token_for(settings)) as client:
        created = await client.post("/api/tasks", content=sized_task(SMALL_LIMIT), headers=JSON)
    assert created.status_code == 201, created.text


async def test_a_streamed_body_is_refused_once_it_passes_the_limit_without_reading_the_rest(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    chunk = b"x" * 256
    sent = 0

    async def endless_body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield chunk

    subject = str(uuid.uuid4())
    async with client_for(small_limit_app, token_for(settings, subject)) as client:
        response = await client.post("/api/tasks", content=endless_body(), headers=JSON)
        listed = await client.get("/api/tasks")
    assert "content-length" not in response.request.headers  # chunked: the length is unknown
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert sent * len(chunk) <= SMALL_LIMIT + len(chunk)  # stopped at the first chunk past it
    assert listed.json() == []


async def test_a_streamed_body_within_the_limit_is_served(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    body = sized_task(SMALL_LIMIT)

    async def in_pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    async with client_for(small_limit_app, token_for(settings)) as client:
        created = await client.post("/api/tasks", content=in_pieces(), headers=JSON)
        broken = await client.post("/api/tasks", content=_aiter(b'{"title": '), headers=JSON)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == json.loads(body)["description"]
    assert_error(broken, 400, "INVALID_REQUEST")  # counted, and otherwise as before


async def _aiter(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_the_default_limit_is_one_mebibyte(app: FastAPI, settings: Settings) -> None:
    assert settings.max_body_bytes == 1024 * 1024
    async with client_for(app, token_for(settings)) as client:
        response = await client.post("/api/tasks", content=b" " * (1024 * 1024 + 1), headers=JSON)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_on_dav_the_413_is_webdavs_error_declared_or_streamed(
    small_limit_app: FastAPI, settings: Settings
) -> None:
    """CalDAV's clients read WebDAV's error shape (todo_api.dav.errors), not the contract's."""
    async with client_for(small_limit_app, token_for(settings)) as client:
        declared = await client.request("PROPFIND", "/dav/", content=b"x" * 5000)
        streamed = await client.request("PROPFIND", "/dav/", content=_aiter(*[b"x" * 256] * 20))
    assert "content-length" not in streamed.request.headers
    for refused in (declared, streamed):
        assert refused.status_code == 413, refused.text
        assert refused.headers["content-type"] == "application/xml; charset=utf-8"
        assert refused.headers["connection"] == "close"
        error = etree.fromstring(refused.content)
        assert error.tag == "{DAV:}error"
        message = error.findtext("{urn:todo-api}message")
        assert message == f"The request body is larger than the limit of {SMALL_LIMIT} bytes"


# --- headers on every response ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/api/tasks", 401),
        ("GET", "/no/such/route", 404),
        ("GET", "/api/tasks/", 307),
        ("DELETE", "/health", 405),
        ("POST", "/api/auth/login", 400),
    ],
)
async def test_every_response_says_nosniff(
    anonymous: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    body = b"{not json" if method == "POST" else None
    response = await anonymous.request(method, path, content=body, headers=JSON)
    assert response.status_code == status, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in response.headers


async def test_413_and_500_and_preflights_say_nosniff_too(small_limit_app: FastAPI) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    small_limit_app.add_api_route("/boom", explode, methods=["GET"])
    async with client_for(small_limit_app) as client:
        responses = [
            await client.post("/api/tasks", content=b"x" * 5000, headers=JSON),
            await client.get("/boom"),
            await client.options(
                "/api/tasks",
                headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"},
            ),
            await client.options(
                "/api/tasks",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            ),
        ]
    assert [r.status_code for r in responses] == [413, 500, 200, 400]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"


# --- validation details ----------------------------------------------------------------------


async def test_a_login_with_a_hundred_thousand_unknown_keys_is_one_detail(
    anonymous: httpx.AsyncClient,
) -> None:
    fields: dict[str, Any] = {"email": "someone@example.com", "password": "long enough"}
    fields.update((f"{i:x}", 0) for i in range(100_000))
    body = json.dumps(fields, separators=(",", ":")).encode()
    assert len(body) <= 1024 * 1024  # under the default body limit: it reaches validation

    response = await anonymous.post("/api/auth/login", content=body, headers=JSON)

    (detail,) = validation_details(response)
    assert detail["field"] == "body"
    assert "100000 unknown fields" in detail["message"]


async def test_a_task_with_more_than_twenty_unknown_fields_is_one_detail(
    alice: httpx.AsyncClient,
) -> None:
    body = {"title": "t", **{f"field_{i}": i for i in range(50)}}
    response = await alice.post("/api/tasks", json=body)
    (detail,) = validation_details(response)
    assert detail["field"] == "body"
    assert "50 unknown fields" in detail["message"]


async def test_a_few_problems_are_all_listed(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "t", "a": 1, "b": 2, "c": 3})
    assert sorted(detail["field"] for detail in validation_details(response)) == ["a", "b", "c"]


# --- caches ----------------------------------------------------------------------------------


async def test_every_answer_to_an_accepted_token_is_private_and_revalidated(
    alice: httpx.AsyncClient,
) -> None:
    created = await alice.post("/api/tasks", json={"title": "t"})
    task_url = f"/api/tasks/{created.json()['id']}"
    responses = [
        created,
        await alice.get("/api/tasks"),
        await alice.get(task_url),
        await alice.get(task_url, headers={"If-None-Match": created.headers["etag"]}),
        await alice.patch(task_url, json={"title": ""}),  # 400
        await alice.get(f"/api/tasks/{uuid.uuid4()}"),  # 404
        await alice.get("/api/tasks/changes"),
        await alice.post("/api/lists", json={"name": "l"}),
        await alice.get("/api/lists"),
        await alice.get("/api/auth/me"),
    ]
    assert [r.status_code for r in responses] == [201, 200, 200, 304, 400, 404, 200, 201, 200, 200]
    for response in responses:
        assert response.headers["cache-control"] == "private, no-cache", response.request.url


async def test_answers_without_an_accepted_token_say_nothing_of_caches(
    anonymous: httpx.AsyncClient, alice: httpx.AsyncClient
) -> None:
    refused = await alice.get("/api/tasks", headers={"Authorization": "Bearer not-a-token"})
    for response in (refused, await anonymous.get("/api/tasks"), await anonymous.get("/health")):
        assert "cache-control" not in response.headers, response.request.url


# --- hostile JSON --------------------------------------------------------------------------

DEEP_ARRAY = "[" * 1100 + "]" * 1100  # 2.2 KB, deeper than Python's own parser goes


async def test_json_nested_too_deep_is_400_on_every_route_that_reads_json(
    alice: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    user_id = (await alice.get("/api/auth/me")).json()["id"]
    task_id = (await alice.post("/api/tasks", json={"title": "t"})).json()["id"]
    list_id = (await alice.post("/api/lists", json={"name": "l"})).json()["id"]
    # A host whose look-up fails here without asking DNS (a label over 63 characters).
    hook = {"url": f"https://{'a' * 64}.example/", "events": ["*"]}
    webhook_id = (await alice.post("/api/webhooks", json=hook)).json()["id"]
    delivery_id = (await alice.post(f"/api/webhooks/{webhook_id}/ping")).json()["id"]
    saved = {"name": "f", "query": "p1"}
    filter_id = (await alice.post("/api/filters", json=saved)).json()["id"]
    comment = {"body": "c"}
    comment_id = (await alice.post(f"/api/tasks/{task_id}/comments", json=comment)).json()["id"]
    section = {"name": "s"}
    section_id = (await alice.post(f"/api/lists/{list_id}/sections", json=section)).json()["id"]
    routes = [
        (method, path)
        for method, path, operation in operations(schema)
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert ("post", "/api/tasks/bulk") in routes
    for method, path in routes:
        url = path.format(
            user_id=user_id,
            task_id=task_id,
            list_id=list_id,
            webhook_id=webhook_id,
            delivery_id=delivery_id,
            filter_id=filter_id,
            comment_id=comment_id,
            section_id=section_id,
        )
        # An import reads the body as its source says (this service's export: JSON).
        params = {"source": "todo-api"} if path == "/api/import" else {}
        for body in (DEEP_ARRAY, '{"title": ' + DEEP_ARRAY + "}"):
            response = await alice.request(method, url, content=body, headers=JSON, params=params)
            assert response.status_code == 400, (method, path, response.text)
            assert response.json()["code"] == "INVALID_REQUEST", (method, path, response.text)


async def test_a_token_whose_header_is_nested_too_deep_is_401(
    anonymous: httpx.AsyncClient,
) -> None:
    header = base64.urlsafe_b64encode(DEEP_ARRAY.encode()).decode().rstrip("=")
    response = await anonymous.get(
        "/api/tasks", headers={"Authorization": f"Bearer {header}.e30.c2ln"}
    )
    assert_error(response, 401, "INVALID_TOKEN")


# --- log lines -------------------------------------------------------------------------------


async def test_cr_lf_in_the_path_cannot_forge_a_log_line(
    anonymous: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = f"forge-{uuid.uuid4().hex}"
    with captured_logs(caplog):
        response = await anonymous.get(
            "/api/tasks/%0d%0a2026-01-01 INFO todo_api.request GET /admin 200%1b[2J",
            headers={"X-Request-ID": request_id},
        )
    assert response.status_code in {401, 404}
    [message] = [
        record.getMessage()
        for record in caplog.records
        if record.name == "todo_api.request" and request_id in record.getMessage()
    ]
    assert message.isprintable()
    assert "\\r\\n2026-01-01 INFO" in message
    assert "\\x1b[2J" in message


def test_the_log_format_escapes_control_characters_in_any_message() -> None:
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("inside")
    except ValueError:
        record = logging.LogRecord(
            "todo_api", logging.ERROR, __file__, 1, "kid %s", ("a\r\nINFO forged",), sys.exc_info()
        )
    first, *traceback = formatter.format(record).splitlines()
    assert first == "ERROR kid a\\r\\nINFO forged"
    assert traceback[0].startswith("Traceback")  # the traceback keeps its lines
    assert record.getMessage() == "kid a\r\nINFO forged"  # the record itself is left as it was
    assert loggable("/api/tasks/ünïcödé") == "/api/tasks/ünïcödé"
    assert loggable("a\tb\x00c\u2028d") == "a\\tb\\x00c\\u2028d"


def test_the_log_format_writes_the_time_as_logging_does() -> None:
    """The second's text is made once per second: each line's time is logging's own."""
    ours = EscapingFormatter("%(asctime)s %(message)s")
    theirs = logging.Formatter("%(asctime)s %(message)s")
    for created in [0.0, 0.9995, 1.0, 59.999, 1_767_225_599.9999, 1_767_225_600.0004, 2**31 + 0.5]:
        for _ in range(2):  # within the same second again
            record = logging.LogRecord("todo_api", logging.INFO, __file__, 1, "m", (), None)
            record.created, record.msecs = created, (created - int(created)) * 1000 // 1
            assert ours.format(record) == theirs.format(record)


# --- forwarded addresses ---------------------------------------------------------------------


def with_whoami(app: FastAPI) -> FastAPI:
    async def whoami(request: Request) -> dict[str, str]:
        client = request.client.host if request.client else ""
        return {"client": client, "scheme": request.scope["scheme"]}

    app.add_api_route("/whoami", whoami, methods=["GET"])
    return app


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("trusted", "seen"),
    [
        ([], {"client": "127.0.0.1", "scheme": "http"}),
        (["10.0.0.0/8", "192.0.2.1"], {"client": "127.0.0.1", "scheme": "http"}),
        (["127.0.0.1"], {"client": "203.0.113.9", "scheme": "https"}),
        (["10.0.0.1", "127.0.0.0/8"], {"client": "203.0.113.9", "scheme": "https"}),
    ],
)
async def test_forwarded_headers_count_only_from_trusted_proxies(
    settings: Settings, tmp_path: Path, trusted: list[str], seen: dict[str, str]
) -> None:
    # The in-process transport connects from 127.0.0.1, like a local proxy would.
    async with (
        app_with(settings, tmp_path, trusted_proxies=trusted) as app,
        client_for(with_whoami(app)) as client,
    ):
        response = await client.get("/whoami", headers=FORWARDED)
    assert response.json() == seen


async def _failed_logins(app: FastAPI, count: int) -> list[int]:
    """`count` wrong logins, each for a new email and claiming a new forwarded address."""
    statuses = []
    async with client_for(app) as client:
        for i in range(count):
            response = await client.post(
                "/api/auth/login",
                json={"email": f"nobody-{uuid.uuid4().hex}@example.com", "password": "wrong pass"},
                headers={"X-Forwarded-For": f"198.51.100.{i + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


async def test_a_client_cannot_escape_the_login_limit_by_claiming_other_addresses(
    settings: Settings, tmp_path: Path
) -> None:
    async with app_with(settings, tmp_path, auth_rate_limit_address_attempts=3) as app:
        assert await _failed_logins(app, 4) == [401, 401, 401, 429]
    async with app_with(
        settings, tmp_path, auth_rate_limit_address_attempts=3, trusted_proxies=["127.0.0.1"]
    ) as app:
        assert await _failed_logins(app, 4) == [401, 401, 401, 401]  # a proxy's clients


# --- redirects and the Host header -----------------------------------------------------------


async def test_the_trailing_slash_redirect_never_uses_the_host_header(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/api/tasks/?limit=5", headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == "/api/tasks?limit=5"
    assert not any("evil.example" in value for value in response.headers.values())


async def test_the_redirect_keeps_the_method_and_encodes_what_it_repeats(
    anonymous: httpx.AsyncClient,
) -> None:
    posted = await anonymous.post("/api/tasks/", json={"title": "t"})
    assert posted.status_code == 307
    assert posted.headers["location"] == "/api/tasks"
    odd = await anonymous.get("/api/tasks/a%0d%0aSet-Cookie:%20x=1/")
    assert odd.status_code == 307
    assert odd.headers["location"] == "/api/tasks/a%0D%0ASet-Cookie:%20x=1"
    assert "set-cookie" not in odd.headers


async def test_a_path_with_no_route_either_way_is_404(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/no/such/route/", headers={"Host": "evil.example"})
    assert_error(response, 404, "NOT_FOUND")
    assert "location" not in response.headers


async def test_with_public_url_the_redirect_is_absolute_on_it(
    settings: Settings, tmp_path: Path
) -> None:
    async with (
        app_with(settings, tmp_path, public_url="https://todo.example/") as app,
        client_for(app) as client,
    ):
        response = await client.get("/api/tasks/", headers={"Host": "evil.example"})
    assert response.status_code == 307
    assert response.headers["location"] == "https://todo.example/api/tasks"


# --- the settings ----------------------------------------------------------------------------


def test_transport_settings_defaults() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.request_header_timeout_seconds == 10
    assert settings.request_body_timeout_seconds == 30
    assert settings.response_send_timeout_seconds == 30
    assert settings.trusted_proxies == []
    assert settings.public_url is None


def test_transport_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BODY_BYTES", "2048")
    monkeypatch.setenv("REQUEST_HEADER_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("REQUEST_BODY_TIMEOUT_SECONDS", "7")
    monkeypatch.setenv("RESPONSE_SEND_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("TRUSTED_PROXIES", " 10.0.0.1, 192.168.0.0/16 ,::1,")
    monkeypatch.setenv("PUBLIC_URL", "https://api.example.com/todo/")
    settings = load_settings(_env_file=None)
    assert settings.max_body_bytes == 2048
    assert settings.request_header_timeout_seconds == 2.5
    assert settings.request_body_timeout_seconds == 7
    assert settings.response_send_timeout_seconds == 0.5
    assert settings.trusted_proxies == ["10.0.0.1", "192.168.0.0/16", "::1"]
    assert settings.public_url == "https://api.example.com/todo"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRUSTED_PROXIES", "10.0.0.1,proxy.internal"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("PUBLIC_URL", "todo.example"),
        ("PUBLIC_URL", "ftp://todo.example"),
        ("PUBLIC_URL", "https://todo.example/?x=1"),
        ("MAX_BODY_BYTES", "0"),
        ("REQUEST_HEADER_TIMEOUT_SECONDS", "0"),
        ("REQUEST_BODY_TIMEOUT_SECONDS", "0"),
        ("RESPONSE_SEND_TIMEOUT_SECONDS", "0"),
    ],
)
def test_bad_transport_settings_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env_file=None)
