"""Plain helpers shared by every test module: settings, clients, tokens and the error body.

Fixtures live in conftest.py and build on these; tests import these directly.
"""

import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from todo_api.accounts.emails import Mailer
from todo_api.accounts.passwords import PasswordHashing
from todo_api.app import create_app
from todo_api.auth.better_auth import BetterAuthSessions
from todo_api.auth.tokens import TokenVerifier, mint_token
from todo_api.config import MIN_HASH_ITERATIONS, MIN_HASH_MEMORY_KIB, Settings
from todo_api.db import Database
from todo_api.files.storage import Files
from todo_api.kit.deps import held
from todo_api.kit.ratelimit import RateLimiter
from todo_api.live.hub import Hub

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
# An id no row has, fixed so that the test ids that name it are the same in every pytest
# process of a run (pytest-xdist compares them).
UNKNOWN_ID = "0190a6a4-0000-7000-8000-00000000dead"

# The contract's error body: exactly these keys, and the codes the contract started with (the
# features add more).
ERROR_FIELDS = {"error", "code", "details"}
CONTRACT_CODES = {
    "UNAUTHORIZED",
    "INVALID_TOKEN",
    "TOKEN_EXPIRED",
    "VALIDATION_ERROR",
    "INVALID_REQUEST",
    "NOT_FOUND",
    "INTERNAL_ERROR",
    "DATABASE_ERROR",
    "METHOD_NOT_ALLOWED",
    "CONFLICT",
    "PRECONDITION_FAILED",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "RATE_LIMITED",
}


# Argon2id at OWASP's floor, the lowest cost the service takes: about a fifth of the CPU of
# the default (measured: 0.23 s a hash), which the suite's thousands of sign-ups and sign-ins
# would spend. tests/accounts/test_accounts.py checks the default, and that a hash made at one
# cost verifies at another.
CHEAPEST_HASHES = {
    "password_hash_memory_kib": MIN_HASH_MEMORY_KIB,
    "password_hash_iterations": MIN_HASH_ITERATIONS,
}


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        **CHEAPEST_HASHES,
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "data_dir": data_dir,
        "log_level": "WARNING",
        # The shared app serves every test from one client address: rate-limit tests build
        # their own app with a low limit.
        "auth_rate_limit_attempts": 100_000,
        # Every pytest process of `make test` has its apps on one PostgreSQL (100 connections
        # by default) beside the servers the tests start: a pool of 10 is still more than a
        # test's requests in flight need.
        "database_pool_size": 10,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def close_app(app: FastAPI) -> None:
    """What the lifespan does at shutdown, for an app a test ran without it."""
    jwks = held(app, TokenVerifier).jwks
    if jwks is not None:
        await jwks.close()  # a background fetch may still be under way
    await held(app, Mailer).close()  # account emails under way
    await held(app, Files).close()  # the attachments' S3 client, if one was made
    await held(app, Hub).stop()  # started by the first event stream, when a test opened one
    await held(app, BetterAuthSessions).close()
    await held(app, RateLimiter).counter.close()
    held(app, PasswordHashing).close()
    await held(app, Database).close()


@asynccontextmanager
async def app_for(settings: Settings) -> AsyncIterator[FastAPI]:
    """An app of its own (closed afterwards), for settings the shared one does not have."""
    app = create_app(settings)
    try:
        yield app
    finally:
        await close_app(app)


@asynccontextmanager
async def app_factory(
    database_url: str, data_dir: Path, **defaults: object
) -> AsyncIterator[Callable[..., FastAPI]]:
    """`make(**overrides)` builds apps with these settings (overrides win); all closed after."""
    apps: list[FastAPI] = []

    def make(**overrides: object) -> FastAPI:
        app = create_app(make_settings(database_url, data_dir, **{**defaults, **overrides}))
        apps.append(app)
        return app

    try:
        yield make
    finally:
        for app in apps:
            await close_app(app)


def client_for(app: FastAPI, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


def token_for(settings: Settings, subject: str | None = None, email: str | None = None) -> str:
    return mint_token(settings, subject=subject or str(uuid.uuid4()), email=email)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the contract's error body (exactly error, code and details, as JSON)
    with this status and code, and a non-empty message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


def validation_details(response: httpx.Response) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR's details: a non-empty list of {field, message}, both non-empty
    strings."""
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert isinstance(details, list)
    assert details
    for detail in details:
        assert set(detail) == {"field", "message"}
        assert isinstance(detail["field"], str)
        assert isinstance(detail["message"], str)
        assert detail["message"]
    return details


@contextmanager
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for the app's loggers.

    configure_logging() (run by every create_app) sets propagate=False on "todo_api", so
    caplog's root handler never sees those records: attach it to "todo_api" directly, at INFO.
    Enter this after the app under test was created, since create_app resets the handlers.
    """
    logger = logging.getLogger("todo_api")
    previous = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(previous)


# --- the OpenAPI document ----------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
