"""Brute-force protection, with counters in memory (the default) and in Redis (REDIS_URL).

Sign-in (login and token) is limited per client address, per address and email, and per email
from any address at a higher limit, counted in that order so that an address past its limit
adds nothing to the email's counter: a stranger cannot lock the owner out from elsewhere.
Register is limited per address and per email, refresh per address.

Client addresses are fake ones given to the in-process ASGI transport; nothing is sent over a
network. Each test uses fresh addresses and emails, so Redis counters never collide between
tests or runs; only the keys a test made are deleted afterwards.
"""

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI

from tests.support import app_factory, assert_error
from todo_api.config import Settings
from todo_api.kit.deps import held
from todo_api.kit.ratelimit import MemoryCounter, RateLimiter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"
KEY_PREFIX = "todo-api:rl:"
ATTEMPTS = 3  # per address and email (and per address for register and refresh)
ADDRESS_ATTEMPTS = 5  # sign-in, per address
EMAIL_ATTEMPTS = 8  # sign-in, per email from any address
WINDOW = 60
PASSWORD = "correct horse battery staple"
WRONG_PASSWORD = "wrong password"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis to count in; the tests that need it skip locally and fail in CI without it."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        if IN_CI:
            pytest.fail(f"Redis is required in CI and did not answer at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


class Names:
    """Fresh emails and client addresses for one test; forgets their Redis counters after."""

    def __init__(self) -> None:
        self.emails: list[str] = []
        self.addresses: list[str] = []
        self.redis_url: str | None = None  # set when the test counts in Redis

    def email(self) -> str:
        email = f"limited-{secrets.token_hex(6)}@example.com"
        self.emails.append(email)
        return email

    def address(self) -> str:
        address = "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))
        self.addresses.append(address)
        return address

    def forget(self) -> None:
        if self.redis_url is None:
            return
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            patterns = [f"{KEY_PREFIX}*:email:{email}" for email in self.emails]
            patterns += [f"{KEY_PREFIX}*:ip:{address}" for address in self.addresses]
            for pattern in patterns:
                keys = list(client.scan_iter(match=pattern, count=1000))
                if keys:
                    client.delete(*keys)
        finally:
            client.close()


@pytest.fixture
def names() -> Iterator[Names]:
    names = Names()
    yield names
    names.forget()


@pytest.fixture
async def build_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    """Builds apps on the migrated test database with the small limits above, a minute each."""
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url,
        tmp_path,
        auth_rate_limit_attempts=ATTEMPTS,
        auth_rate_limit_address_attempts=ADDRESS_ATTEMPTS,
        auth_rate_limit_email_attempts=EMAIL_ATTEMPTS,
        auth_rate_limit_window_seconds=WINDOW,
    ) as make:
        yield make


@pytest.fixture(params=["memory", "redis"])
def make_app(
    request: pytest.FixtureRequest, build_app: Callable[..., FastAPI], names: Names
) -> Callable[..., FastAPI]:
    """`build_app` with the counters in memory, then in Redis."""
    counters: dict[str, Any] = {}
    if request.param == "redis":
        names.redis_url = counters["redis_url"] = request.getfixturevalue("redis_url")
    return lambda **overrides: build_app(**{**counters, **overrides})


@pytest.fixture
def limited_app(make_app: Callable[..., FastAPI]) -> FastAPI:
    return make_app()


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    """A client whose requests come from `address` (inside the ASGI transport only)."""
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=20)


async def login(app: FastAPI, address: str, email: str, password: str = WRONG_PASSWORD) -> int:
    async with client_at(app, address) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": password})
    return response.status_code


def assert_rate_limited(response: httpx.Response, window: int = WINDOW) -> None:
    assert_error(response, 429, "RATE_LIMITED")
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit(), retry_after
    assert 1 <= int(retry_after) <= window


# --- login and token ----------------------------------------------------------------------


def test_sign_in_limits_default_to_3x_per_address_and_10x_per_email() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.auth_rate_limit_attempts == 10
    assert settings.login_address_attempts == 30
    assert settings.login_email_attempts == 100
    assert Settings(_env_file=None, auth_rate_limit_attempts=4).login_email_attempts == 40  # type: ignore[call-arg]


async def register_owner(app: FastAPI, names: Names) -> str:
    email = names.email()
    async with client_at(app, names.address()) as client:
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
    assert registered.status_code == 201, registered.text
    return email


async def test_logins_from_one_address_are_limited_across_emails(
    limited_app: FastAPI, names: Names
) -> None:
    address = names.address()
    async with client_at(limited_app, address) as client:
        for _ in range(ADDRESS_ATTEMPTS):
            response = await client.post(
                "/api/auth/login", json={"email": names.email(), "password": WRONG_PASSWORD}
            )
            assert response.status_code == 401, response.text
        response = await client.post(
            "/api/auth/login", json={"email": names.email(), "password": WRONG_PASSWORD}
        )
    assert_rate_limited(response)


async def test_limit_of_one_address_leaves_other_addresses_alone(
    limited_app: FastAPI, names: Names
) -> None:
    address = names.address()
    for _ in range(ADDRESS_ATTEMPTS):
        assert await login(limited_app, address, names.email()) == 401
    assert await login(limited_app, address, names.email()) == 429
    assert await login(limited_app, names.address(), names.email()) == 401


async def test_guessing_one_email_from_one_address_is_limited_sooner(
    limited_app: FastAPI, names: Names
) -> None:
    address, email = names.address(), names.email()
    for _ in range(ATTEMPTS):
        assert await login(limited_app, address, email) == 401
    async with client_at(limited_app, address) as client:
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
    assert_rate_limited(response)
    # The address may still sign in to other accounts (say, a shared computer).
    assert await login(limited_app, address, names.email()) == 401


@pytest.mark.parametrize("counter", ["memory", "redis"])
async def test_strangers_wrong_passwords_do_not_lock_the_owner_out_from_elsewhere(
    build_app: Callable[..., FastAPI],
    names: Names,
    request: pytest.FixtureRequest,
    counter: str,
) -> None:
    """The issue's case with the default limits: a stranger's 10 wrong passwords, and many
    more refused ones, from one address; the owner then signs in from another address."""
    overrides: dict[str, Any] = {
        "auth_rate_limit_attempts": 10,
        "auth_rate_limit_address_attempts": None,
        "auth_rate_limit_email_attempts": None,
    }
    if counter == "redis":
        names.redis_url = overrides["redis_url"] = request.getfixturevalue("redis_url")
    app = build_app(**overrides)
    email = await register_owner(app, names)
    stranger = names.address()
    statuses = [await login(app, stranger, email) for _ in range(10)]
    assert statuses == [401] * 10
    async with client_at(app, stranger) as client:
        for _ in range(100):
            response = await client.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert response.status_code == 429  # even the right password, from there
    assert await login(app, names.address(), email, PASSWORD) == 200
    async with client_at(app, names.address()) as client:
        form = {"username": email, "password": PASSWORD}
        assert (await client.post("/api/auth/token", data=form)).status_code == 200


async def test_per_email_limit_bounds_guessing_from_many_addresses(
    limited_app: FastAPI, names: Names
) -> None:
    email = await register_owner(limited_app, names)
    spellings = (email, email.upper(), f" {email.title()} ")
    for attempt in range(EMAIL_ATTEMPTS):
        assert await login(limited_app, names.address(), spellings[attempt % 3]) == 401
    # The right password, from yet another address, is refused too: the email is locked.
    async with client_at(limited_app, names.address()) as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert_rate_limited(response)


async def test_token_endpoint_is_rate_limited(limited_app: FastAPI, names: Names) -> None:
    async with client_at(limited_app, names.address()) as client:
        for _ in range(ADDRESS_ATTEMPTS):
            form = {"username": names.email(), "password": WRONG_PASSWORD}
            assert (await client.post("/api/auth/token", data=form)).status_code == 401
        form = {"username": names.email(), "password": WRONG_PASSWORD}
        assert_rate_limited(await client.post("/api/auth/token", data=form))


async def test_login_and_token_share_one_budget(limited_app: FastAPI, names: Names) -> None:
    email = names.email()
    async with client_at(limited_app, names.address()) as client:
        wrong = {"email": email, "password": WRONG_PASSWORD}
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        assert (await client.post("/api/auth/login", json=wrong)).status_code == 401
        form = {"username": email, "password": WRONG_PASSWORD}
        assert (await client.post("/api/auth/token", data=form)).status_code == 401
        assert_rate_limited(await client.post("/api/auth/token", data=form))


# --- register and refresh -----------------------------------------------------------------


async def test_register_is_rate_limited(limited_app: FastAPI, names: Names) -> None:
    async with client_at(limited_app, names.address()) as client:
        for _ in range(ATTEMPTS):
            created = await client.post(
                "/api/auth/register", json={"email": names.email(), "password": PASSWORD}
            )
            assert created.status_code == 201, created.text
        response = await client.post(
            "/api/auth/register", json={"email": names.email(), "password": PASSWORD}
        )
    assert_rate_limited(response)


async def test_register_is_limited_per_email_across_addresses(
    limited_app: FastAPI, names: Names
) -> None:
    email = names.email()
    statuses = []
    for _ in range(ATTEMPTS):
        async with client_at(limited_app, names.address()) as client:
            response = await client.post(
                "/api/auth/register", json={"email": email, "password": PASSWORD}
            )
        statuses.append(response.status_code)
    assert statuses == [201, 409, 409]
    async with client_at(limited_app, names.address()) as client:
        response = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
    assert_rate_limited(response)


async def test_refresh_is_rate_limited(limited_app: FastAPI, names: Names) -> None:
    async with client_at(limited_app, names.address()) as client:
        for _ in range(ATTEMPTS):
            response = await client.post(
                "/api/auth/refresh", json={"refresh_token": secrets.token_urlsafe(32)}
            )
            assert response.status_code == 401, response.text
        response = await client.post(
            "/api/auth/refresh", json={"refresh_token": secrets.token_urlsafe(32)}
        )
    assert_rate_limited(response)


@pytest.mark.parametrize(
    ("path", "body", "answer", "attempts"),
    [
        ("/api/auth/password/reset", {"token": "unknown", "password": PASSWORD}, 400, ATTEMPTS),
        ("/api/auth/email/verify", {"token": "unknown"}, 400, ATTEMPTS),
        ("/api/auth/login/2fa", {"mfa_token": "unknown", "code": "123456"}, 401, ADDRESS_ATTEMPTS),
    ],
)
async def test_account_links_and_codes_are_limited_per_address(
    limited_app: FastAPI,
    names: Names,
    path: str,
    body: dict[str, str],
    answer: int,
    attempts: int,
) -> None:
    async with client_at(limited_app, names.address()) as client:
        for _ in range(attempts):
            response = await client.post(path, json=body)
            assert response.status_code == answer, response.text
        assert_rate_limited(await client.post(path, json=body))
    async with client_at(limited_app, names.address()) as elsewhere:
        assert (await elsewhere.post(path, json=body)).status_code == answer


async def test_limit_ends_with_its_window(make_app: Callable[..., FastAPI], names: Names) -> None:
    app = make_app(auth_rate_limit_window_seconds=1)
    async with client_at(app, names.address()) as client:
        statuses = []
        for _ in range(ATTEMPTS):
            response = await client.post("/api/auth/refresh", json={"refresh_token": "unknown"})
            statuses.append(response.status_code)
        assert statuses == [401] * ATTEMPTS
        response = await client.post("/api/auth/refresh", json={"refresh_token": "unknown"})
        assert_rate_limited(response, window=1)
        await asyncio.sleep(1.2)
        response = await client.post("/api/auth/refresh", json={"refresh_token": "unknown"})
        assert response.status_code == 401, response.text


# --- where the counters live --------------------------------------------------------------


async def test_two_instances_sharing_redis_share_the_counters(
    build_app: Callable[..., FastAPI], redis_url: str, names: Names
) -> None:
    names.redis_url = redis_url
    app_a, app_b = build_app(redis_url=redis_url), build_app(redis_url=redis_url)
    address, email = names.address(), names.email()
    for _ in range(ATTEMPTS):
        assert await login(app_a, address, email) == 401
    async with client_at(app_b, address) as client:
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
    assert_rate_limited(response)


async def test_memory_counters_belong_to_one_instance(
    build_app: Callable[..., FastAPI], names: Names
) -> None:
    app_a, app_b = build_app(), build_app()
    address, email = names.address(), names.email()
    for _ in range(ATTEMPTS):
        assert await login(app_a, address, email) == 401
    assert await login(app_a, address, email) == 429
    assert await login(app_b, address, email) == 401


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_unreachable_redis_still_limits_in_memory(
    build_app: Callable[..., FastAPI], names: Names
) -> None:
    app = build_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    address, email = names.address(), names.email()
    for _ in range(ATTEMPTS):
        assert await login(app, address, email) == 401
    async with client_at(app, address) as client:
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": WRONG_PASSWORD}
        )
    assert_rate_limited(response)


# --- the in-memory table is bounded --------------------------------------------------------


async def test_memory_counter_at_its_cap_forgets_the_oldest_window_only() -> None:
    counter = MemoryCounter(max_keys=3)
    for _ in range(4):
        await counter.hit("oldest", WINDOW)
    await counter.hit("second", WINDOW)
    await counter.hit("third", WINDOW)
    assert (await counter.hit("second", WINDOW))[0] == 2
    await counter.hit("fourth", WINDOW)  # over the cap: "oldest" goes, nothing else
    assert len(counter) == 3
    assert (await counter.hit("second", WINDOW))[0] == 3
    assert (await counter.hit("third", WINDOW))[0] == 2
    assert (await counter.hit("fourth", WINDOW))[0] == 2
    assert (await counter.hit("oldest", WINDOW))[0] == 1  # counted afresh
    assert len(counter) == 3


async def test_memory_counter_forgets_expired_windows_before_live_ones() -> None:
    counter = MemoryCounter(max_keys=2)
    await counter.hit("short", 1)
    await counter.hit("live", WINDOW)
    await asyncio.sleep(1.1)
    await counter.hit("short", 1)  # a new window: "short" is now the newest
    await counter.hit("new", WINDOW)  # over the cap: the oldest window ("live") goes
    assert len(counter) == 2
    assert (await counter.hit("short", 1))[0] == 2


async def test_limited_address_stays_limited_when_the_memory_table_fills(
    build_app: Callable[..., FastAPI], names: Names
) -> None:
    """Filling the table with other addresses' counters forgets the oldest ones, not all:
    an address limited a moment ago is still limited."""
    app = build_app()
    held(app, RateLimiter).counter = MemoryCounter(max_keys=20)

    async def refresh_from(address: str) -> int:
        async with client_at(app, address) as client:
            response = await client.post("/api/auth/refresh", json={"refresh_token": "unknown"})
        return response.status_code

    for _ in range(15):
        assert await refresh_from(names.address()) == 401
    limited = names.address()
    for _ in range(ATTEMPTS):
        assert await refresh_from(limited) == 401
    assert await refresh_from(limited) == 429
    for _ in range(10):  # past the cap of 20 keys
        assert await refresh_from(names.address()) == 401
    assert await refresh_from(limited) == 429
