"""The contract's errors, each provoked through HTTP, and the request context around them:
the request id, CORS and the one-line request log. (The 401s live in tests/auth.)"""

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy.engine import make_url
from starlette.middleware.cors import CORSMiddleware

from tests.support import (
    CONTRACT_CODES,
    TEST_SECRET,
    UNKNOWN_ID,
    app_for,
    assert_error,
    captured_logs,
    client_for,
    make_settings,
    token_for,
    validation_details,
)
from todo_api.config import Settings
from todo_api.edge.middleware import CorsMiddleware

FRONTEND = "http://localhost:3000"  # the default FRONTEND_URL
GENERATED_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
SECRET_DETAIL = "secret detail /etc/passwd"
JSON = {"content-type": "application/json"}


def request_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "todo_api.request"
        and record.levelno == logging.INFO
        and f"request_id={request_id}" in record.getMessage()
    ]


@pytest.fixture
async def boom_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app with one extra route that fails with an unexpected exception."""
    async with app_for(make_settings(f"sqlite:///{tmp_path / 'todo.db'}", tmp_path)) as app:

        async def explode() -> None:
            raise RuntimeError(SECRET_DETAIL)

        app.add_api_route("/api/boom", explode, methods=["GET"])
        yield app


async def create_task(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/api/tasks", json={"title": "a task"})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


# --- VALIDATION_ERROR ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": None}, "title"),
        ({"title": 42}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "description"),
        ({"title": "ok", "is_completed": "yes"}, "is_completed"),
        ({"title": "ok", "titel": "typo"}, "titel"),
    ],
    ids=[
        "title-missing",
        "title-blank",
        "title-too-long",
        "title-null",
        "title-not-a-string",
        "description-too-long",
        "is-completed-not-a-bool",
        "unknown-field",
    ],
)
async def test_create_with_a_bad_field_is_validation_error_naming_it(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await alice.post("/api/tasks", json=body)
    assert field in {detail["field"] for detail in validation_details(response)}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"title": None}, "title"), ({"colour": "red"}, "colour"), ({"title": ""}, "title")],
    ids=["title-null", "unknown-field", "title-empty"],
)
async def test_update_with_a_bad_field_is_validation_error_naming_it(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json=body)
    assert field in {detail["field"] for detail in validation_details(response)}


async def test_empty_update_is_validation_error(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", json={})
    validation_details(response)


async def test_unknown_field_message_says_so(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/tasks", json={"title": "ok", "titel": "typo"})
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert {"field": "titel", "message": "Unknown field"} in body["details"]


# --- INVALID_REQUEST -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"title": ', JSON),
        (b"not json at all", JSON),
        (b'[{"title": "x"}]', JSON),
        (b'"a string"', JSON),
        (b"42", JSON),
        (b"null", JSON),
        (b'{"title": "x"}', {"content-type": "text/plain"}),
        (b'{"title": "x"}', {}),
        (b"", {}),
        (b"", JSON),
        (b'{"title": "\xff\xfe"}', JSON),
    ],
    ids=[
        "truncated-json",
        "not-json",
        "json-array",
        "json-string",
        "json-number",
        "json-null",
        "text-plain",
        "no-content-type",
        "no-body",
        "empty-json-body",
        "invalid-utf8",
    ],
)
async def test_unusable_body_is_invalid_request(
    alice: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    response = await alice.post("/api/tasks", content=content, headers=headers)
    body = assert_error(response, 400, "INVALID_REQUEST")
    assert body["details"] is None


async def test_update_with_a_non_json_body_is_invalid_request(alice: httpx.AsyncClient) -> None:
    task = await create_task(alice)
    response = await alice.put(f"/api/tasks/{task['id']}", content=b"{oops", headers=JSON)
    assert_error(response, 400, "INVALID_REQUEST")


async def test_wrong_content_type_message_names_the_content_type(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.post(
        "/api/tasks", content=b'{"title": "x"}', headers={"content-type": "text/plain"}
    )
    assert "Content-Type" in assert_error(response, 400, "INVALID_REQUEST")["error"]


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"username": "a@example.com", "password": "pw"}', JSON),
        (b"username=a@example.com&password=pw", {"content-type": "text/plain"}),
        (b"username=a@example.com&password=pw", {}),
    ],
    ids=["json", "text-plain", "no-content-type"],
)
async def test_a_body_of_another_type_on_the_form_route_is_invalid_request_too(
    anonymous: httpx.AsyncClient, content: bytes, headers: dict[str, str]
) -> None:
    """Every route answers a body of the wrong type alike: 400 INVALID_REQUEST naming the type
    it takes (never 415, never a list of missing fields)."""
    response = await anonymous.post("/api/auth/token", content=content, headers=headers)
    body = assert_error(response, 400, "INVALID_REQUEST")
    assert "application/x-www-form-urlencoded" in body["error"]
    assert body["details"] is None


# --- NOT_FOUND -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/tasks/a/b"])
async def test_unknown_route_is_not_found(anonymous: httpx.AsyncClient, path: str) -> None:
    assert_error(await anonymous.get(path), 404, "NOT_FOUND")


async def test_unknown_route_is_not_found_for_a_signed_in_user(alice: httpx.AsyncClient) -> None:
    assert_error(await alice.post("/api/nope", json={}), 404, "NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_task_is_not_found(alice: httpx.AsyncClient, method: str) -> None:
    kwargs: dict[str, Any] = {"json": {"title": "x"}} if method == "PUT" else {}
    response = await alice.request(method, f"/api/tasks/{uuid.uuid4()}", **kwargs)
    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("task_id", ["not-a-uuid", "123", "00000000-0000-0000-0000"])
async def test_malformed_task_id_is_not_found(alice: httpx.AsyncClient, task_id: str) -> None:
    body = assert_error(await alice.get(f"/api/tasks/{task_id}"), 404, "NOT_FOUND")
    assert body["details"] is None


async def test_someone_elses_task_looks_exactly_like_a_missing_one(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    task = await create_task(alice)
    others = await bob.get(f"/api/tasks/{task['id']}")
    missing = await bob.get(f"/api/tasks/{uuid.uuid4()}")
    assert_error(others, 404, "NOT_FOUND")
    assert others.json() == missing.json()


# --- METHOD_NOT_ALLOWED --------------------------------------------------------------------


async def test_unsupported_method_is_method_not_allowed_with_allow(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.delete("/api/tasks")
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path", "supported"),
    [
        ("DELETE", "/api/tasks", {"GET", "POST"}),
        ("POST", f"/api/tasks/{UNKNOWN_ID}", {"GET", "PUT", "PATCH", "DELETE"}),
    ],
    ids=["collection", "item"],
)
async def test_allow_lists_every_supported_method(
    alice: httpx.AsyncClient, method: str, path: str, supported: set[str]
) -> None:
    response = await alice.request(method, path)
    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert supported <= allowed


async def test_a_path_written_out_whole_wins_over_a_template_for_every_method(
    app: FastAPI, alice: httpx.AsyncClient
) -> None:
    """DELETE /api/auth/passkeys/login is not DELETE /api/auth/passkeys/{passkey_id} of
    "login": the path is POST only, so 405 with that Allow, as for every such pair of the
    accounts' routes."""
    routes = [
        route
        for route in iter_route_contexts(app.routes)
        if (route.path or "").startswith("/api/auth/")
        and route.methods
        and getattr(route.original_route, "include_in_schema", True)  # not `only`'s 405s
    ]
    literal: dict[str, set[str]] = {}
    for route in routes:
        if "{" not in (route.path or ""):
            literal.setdefault(route.path or "", set()).update(route.methods or ())
    pairs = {
        (method, path, frozenset(methods - {"HEAD"}))
        for route in routes
        if "{" in (route.path or "")
        for path, methods in literal.items()
        if _template_of(route.path or "").match(path)
        for method in (route.methods or set()) - methods - {"HEAD"}
    }
    assert ("DELETE", "/api/auth/passkeys/login", frozenset({"POST"})) in pairs
    for method, path, methods in sorted(pairs):
        response = await alice.request(method, path)
        assert_error(response, 405, "METHOD_NOT_ALLOWED")
        allowed = {m.strip() for m in response.headers["allow"].split(",")} - {"HEAD"}
        assert allowed == methods, (method, path)


def _template_of(path: str) -> re.Pattern[str]:
    """The path's own pattern (every parameter any text without a slash)."""
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")


# --- never a 422 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/api/tasks", {"json": {"title": ["x"]}}),
        ("POST", "/api/tasks", {"json": {"description": 5}}),
        ("POST", "/api/tasks", {"content": b"<xml/>", "headers": {"content-type": "text/xml"}}),
        ("PUT", "/api/tasks/not-a-uuid", {"json": {"title": None}}),
        ("PUT", f"/api/tasks/{UNKNOWN_ID}", {"json": {"is_completed": "maybe"}}),
        ("GET", "/api/tasks/%00", {}),
        ("DELETE", "/api/tasks/not-a-uuid", {}),
        ("GET", "/api/tasks?limit=-1&since=garbage", {}),
    ],
)
async def test_no_bad_request_is_ever_a_422(
    alice: httpx.AsyncClient, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    response = await alice.request(method, path, **kwargs)
    assert response.status_code != 422
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["code"] in CONTRACT_CODES


# --- INTERNAL_ERROR ------------------------------------------------------------------------


async def test_unexpected_exception_is_internal_error_without_its_text(
    boom_app: FastAPI,
) -> None:
    async with client_for(boom_app) as client:
        response = await client.get("/api/boom")
    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert body["details"] is None
    for leak in (SECRET_DETAIL, "/etc/passwd", "RuntimeError", "Traceback"):
        assert leak not in response.text
    assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])


async def test_unexpected_exception_is_logged_with_the_request_id(
    boom_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with captured_logs(caplog):
        async with client_for(boom_app) as client:
            response = await client.get("/api/boom")
    request_id = response.headers["x-request-id"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(
        f"request_id={request_id}" in r.getMessage()
        and r.exc_info is not None
        and isinstance(r.exc_info[1], RuntimeError)
        for r in errors
    ), [r.getMessage() for r in errors]
    [line] = request_lines(caplog, request_id)
    assert " 500 " in line


async def test_internal_error_echoes_the_callers_request_id(boom_app: FastAPI) -> None:
    async with client_for(boom_app) as client:
        response = await client.get("/api/boom", headers={"X-Request-ID": "trace-500"})
    assert_error(response, 500, "INTERNAL_ERROR")
    assert response.headers["x-request-id"] == "trace-500"


# --- DATABASE_ERROR ------------------------------------------------------------------------


def _unreachable_postgres(_request: pytest.FixtureRequest, _tmp_path: Path) -> str:
    return "postgresql://postgres@127.0.0.1:1/nope"


def _missing_postgres_database(request: pytest.FixtureRequest, _tmp_path: Path) -> str:
    server: str = request.getfixturevalue("postgres_url")  # skips without PostgreSQL
    missing = make_url(server).set(database=f"todo_missing_{uuid.uuid4().hex[:8]}")
    return missing.render_as_string(hide_password=False)


def _sqlite_under_a_regular_file(_request: pytest.FixtureRequest, tmp_path: Path) -> str:
    regular = tmp_path / "regular-file"
    regular.write_text("not a directory")
    return f"sqlite:///{regular}/todo.db"


def _sqlite_path_is_a_directory(_request: pytest.FixtureRequest, tmp_path: Path) -> str:
    directory = tmp_path / "a-directory"
    directory.mkdir()
    return f"sqlite:///{directory}"


@pytest.fixture(
    params=[
        pytest.param(
            _unreachable_postgres,
            id="postgres-unreachable",
        ),
        pytest.param(
            _sqlite_under_a_regular_file,
            id="sqlite-under-a-regular-file",
        ),
        pytest.param(_sqlite_path_is_a_directory, id="sqlite-path-is-a-directory"),
        pytest.param(_missing_postgres_database, id="postgres-database-missing"),
    ]
)
def broken_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    make_url_for: Callable[[pytest.FixtureRequest, Path], str] = request.param
    return make_settings(make_url_for(request, tmp_path), tmp_path / "data")


def assert_nothing_internal_leaks(response: httpx.Response, settings: Settings) -> None:
    assert settings.database_url is not None
    url = make_url(settings.database_url)
    text = response.text.lower()
    needles = [settings.database_url, url.host, url.database, "127.0.0.1", "postgres"]
    needles += ["sqlite", "asyncpg", "select", "insert", "errno", "operationalerror"]
    for needle in needles:
        if needle:
            assert needle.lower() not in text, needle


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/tasks"), ("POST", "/api/tasks"), ("GET", "/ready")],
)
async def test_failing_database_is_database_error_with_retry_after(
    broken_settings: Settings, method: str, path: str
) -> None:
    kwargs: dict[str, Any] = {"json": {"title": "x"}} if method == "POST" else {}
    async with (
        app_for(broken_settings) as app,
        client_for(app, token_for(broken_settings)) as client,
    ):
        response = await client.request(method, path, **kwargs)
    body = assert_error(response, 503, "DATABASE_ERROR")
    assert body["details"] is None
    assert int(response.headers["retry-after"]) > 0
    assert response.headers["x-request-id"]
    assert_nothing_internal_leaks(response, broken_settings)


async def test_bad_token_is_still_401_when_the_database_is_down(tmp_path: Path) -> None:
    settings = make_settings("postgresql://postgres@127.0.0.1:1/nope", tmp_path)
    async with app_for(settings) as app, client_for(app, "garbage") as client:
        response = await client.get("/api/tasks")
    assert_error(response, 401, "INVALID_TOKEN")


# --- X-Request-ID --------------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["abc-123", "trace.id:42_x", "A" * 128])
async def test_safe_request_id_is_echoed(anonymous: httpx.AsyncClient, request_id: str) -> None:
    response = await anonymous.get("/api/tasks", headers={"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id


async def test_missing_request_id_is_generated(anonymous: httpx.AsyncClient) -> None:
    first = await anonymous.get("/nope")
    second = await anonymous.get("/nope")
    assert GENERATED_REQUEST_ID.match(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    for answer in (first, second):  # a random version 4 UUID, in hex
        generated = uuid.UUID(hex=answer.headers["x-request-id"])
        assert (generated.version, generated.variant) == (4, uuid.RFC_4122)


@pytest.mark.parametrize(
    "request_id",
    ["has spaces", "x" * 300, "semi;colon", 'quote"d', "new\tline", ""],
    ids=["spaces", "300-chars", "semicolon", "quote", "tab", "empty"],
)
async def test_unsafe_request_id_is_replaced(anonymous: httpx.AsyncClient, request_id: str) -> None:
    response = await anonymous.get("/api/tasks", headers={"X-Request-ID": request_id})
    assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])


@pytest.mark.parametrize("path", ["/api/tasks", "/nope", f"/api/tasks/{UNKNOWN_ID}"])
async def test_error_responses_carry_a_request_id(anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(path)
    assert response.status_code >= 400
    assert GENERATED_REQUEST_ID.match(response.headers["x-request-id"])


# --- CORS ----------------------------------------------------------------------------------


async def test_preflight_from_the_frontend_is_allowed_with_credentials(
    anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    assert FRONTEND in settings.frontend_url
    response = await anonymous.options(
        "/api/tasks",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


@pytest.mark.parametrize("path", ["/app/", "/app/signin", "/account/verify-email", "/docs"])
async def test_the_services_own_pages_answer_no_cors(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    """Only /api answers the frontend's origin: the web app's pages (a cookie's sign-in) and
    the others give it neither a preflight nor a response to read."""
    preflight = await anonymous.options(
        path, headers={"Origin": FRONTEND, "Access-Control-Request-Method": "POST"}
    )
    got = await anonymous.get(path, headers={"Origin": FRONTEND})
    for response in (preflight, got):
        assert "access-control-allow-origin" not in response.headers, (path, response.headers)
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    ("env", "allowed"), [("development", True), ("production", False)], ids=["dev", "prod"]
)
async def test_the_frontend_opened_by_address_is_a_default_origin_in_development_only(
    tmp_path: Path, env: str, allowed: bool
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'todo.db'}", tmp_path, env=env)
    preflight = {"Access-Control-Request-Method": "GET"}
    async with app_for(settings) as app, client_for(app) as client:
        by_name = await client.options("/api/tasks", headers={"Origin": FRONTEND, **preflight})
        by_address = await client.options(
            "/api/tasks", headers={"Origin": "http://127.0.0.1:3000", **preflight}
        )
    assert by_name.headers["access-control-allow-origin"] == FRONTEND
    if allowed:
        assert by_address.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
    else:
        assert "access-control-allow-origin" not in by_address.headers


async def test_preflight_from_an_unlisted_origin_gets_no_allow_origin(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.options(
        "/api/tasks",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers
    body = assert_error(response, 400, "INVALID_REQUEST")
    assert "FRONTEND_URL" in body["error"]  # where the allowed origins are set


async def test_request_from_an_unlisted_origin_gets_no_allow_origin(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.get("/api/tasks", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_401_for_the_frontend_exposes_www_authenticate(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/api/tasks", headers={"Origin": FRONTEND})
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["access-control-allow-origin"] == FRONTEND
    exposed = response.headers["access-control-expose-headers"].lower()
    assert "www-authenticate" in exposed
    assert "x-request-id" in exposed


async def test_500_still_carries_cors_headers(boom_app: FastAPI) -> None:
    async with client_for(boom_app) as client:
        response = await client.get("/api/boom", headers={"Origin": FRONTEND})
    assert_error(response, 500, "INTERNAL_ERROR")
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize("vary", [None, "Accept", "Accept, Cookie"])
async def test_an_answer_without_origin_gets_the_headers_starlettes_cors_gives(
    vary: str | None,
) -> None:
    """A request without Origin takes CorsMiddleware's short way: the same header list as
    Starlette's CORSMiddleware, in the same order, whether or not the answer varies already."""

    async def answer(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/plain")]
        headers += [(b"vary", vary.encode())] if vary else []
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    options: dict[str, Any] = {
        "allow_origins": [FRONTEND],
        "allow_credentials": True,
        "allow_methods": ["*"],
        "allow_headers": ["*"],
        "expose_headers": ["X-Request-ID"],
    }
    answers = []
    for layer in (CorsMiddleware(answer, **options), CORSMiddleware(answer, **options)):
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/x", "headers": [(b"host", b"h")]}
        await layer(scope, None, send)
        answers.append(sent)
    assert answers[0] == answers[1]
    assert (b"vary", b"Origin" if vary is None else f"{vary}, Origin".encode()) in answers[0][0][
        "headers"
    ]


# --- the request log -----------------------------------------------------------------------


async def test_each_request_logs_one_line_with_its_context(
    app: FastAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    subject = str(uuid.uuid4())
    request_id = f"log-{uuid.uuid4().hex}"
    with captured_logs(caplog):
        async with client_for(app, token_for(settings, subject)) as client:
            response = await client.get("/api/tasks", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    [line] = request_lines(caplog, request_id)
    assert line.startswith("GET /api/tasks 200 ")
    assert f"user_id={subject}" in line


async def test_anonymous_request_is_logged_without_a_user(
    anonymous: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    request_id = f"log-{uuid.uuid4().hex}"
    with captured_logs(caplog):
        await anonymous.get("/api/tasks", headers={"X-Request-ID": request_id})
    [line] = request_lines(caplog, request_id)
    assert line.startswith("GET /api/tasks 401 ")
    assert line.endswith("user_id=-")


async def test_tokens_never_appear_in_the_logs(
    app: FastAPI, settings: Settings, boom_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    tokens = [
        token_for(settings),
        jwt.encode({"sub": "x", "exp": now + 60}, "wrong-" + TEST_SECRET, algorithm="HS256"),
        jwt.encode({"sub": "x", "exp": now - 600}, TEST_SECRET, algorithm="HS256"),
        "garbage-token-value",
    ]
    with captured_logs(caplog):
        for token in tokens:
            async with client_for(app, token) as client:
                await client.get("/api/tasks")
                await client.post("/api/tasks", content=b"{bad", headers=JSON)
                await client.get("/nope")
            async with client_for(boom_app, token) as client:
                await client.get("/api/boom")
    assert caplog.records
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for token in tokens:
        assert token not in logged
        assert token.rsplit(".", 1)[-1] not in logged


async def test_a_database_outage_logs_a_line_per_request_and_at_most_one_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings("postgresql://postgres@127.0.0.1:1/nope", tmp_path)
    async with app_for(settings) as app, client_for(app, token_for(settings)) as client:
        with captured_logs(caplog):
            for _ in range(3):
                assert (await client.get("/api/tasks")).status_code == 503
    outage = [r for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert len(outage) == 3
    assert all("\n" not in r.getMessage() for r in outage)
    # The same error within a minute: its traceback once (or not at all, if logged before).
    assert sum(r.exc_info is not None for r in outage) <= 1
    assert outage[-1].exc_info is None
