"""Two `todo-api serve` processes on one PostgreSQL and one Redis behave as one service, as
behind a load balancer: sign-in limits are counted together, an Idempotency-Key is replayed by
the other instance, and the change feed read from either one tells the same story.

(Background jobs taking turns across instances are in tests/kit/test_jobs_server.py.)
"""

import os
import secrets
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.helpers_server import Server, clean_env, poll_feed, start_server
from tests.support import IN_CI, TEST_SECRET

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HTTP_TIMEOUT = 30.0
ATTEMPTS = 3
PASSWORD = "a long enough passphrase"


def _redis_or_skip() -> str:
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


@pytest.fixture(scope="module")
def instances(
    postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    env = clean_env(
        DATABASE_URL=postgres_url,
        REDIS_URL=_redis_or_skip(),
        JWT_SECRET=TEST_SECRET,
        AUTH_RATE_LIMIT_ATTEMPTS=str(ATTEMPTS),
        # The tests say which client they are (X-Forwarded-For), as a load balancer would.
        TRUSTED_PROXIES="127.0.0.1",
    )
    folders = [tmp_path_factory.mktemp(f"instance-{n}") for n in (1, 2)]
    first = start_server(folders[0], env, folders[0] / "server.log")
    try:
        second = start_server(folders[1], env, folders[1] / "server.log")
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def _client(server: Server, address: str, token: str | None = None) -> httpx.Client:
    headers = {"X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=server.url, headers=headers, timeout=HTTP_TIMEOUT)


def _address() -> str:
    return "10." + ".".join(str(secrets.randbelow(254) + 1) for _ in range(3))


def _register(server: Server, address: str) -> tuple[str, str]:
    email = f"twice-{uuid.uuid4().hex[:10]}@example.test"
    with _client(server, address) as client:
        response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return email, token


def test_sign_in_attempts_are_counted_across_instances(instances: tuple[Server, Server]) -> None:
    address = _address()
    email, _ = _register(instances[0], address)
    wrong = {"email": email, "password": "not the password"}
    statuses = []
    for n in range(ATTEMPTS + 1):  # alternately on each instance
        with _client(instances[n % 2], address) as client:
            statuses.append(client.post("/api/auth/login", json=wrong).status_code)
    # Counted in one process each, neither instance would have seen more than 2 attempts.
    assert statuses == [401] * ATTEMPTS + [429]


def test_an_idempotency_key_is_replayed_by_the_other_instance(
    instances: tuple[Server, Server],
) -> None:
    address = _address()
    _, token = _register(instances[0], address)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    body = {"title": "only once"}
    with (
        _client(instances[0], address, token) as first,
        _client(instances[1], address, token) as (second),
    ):
        created = first.post("/api/tasks", json=body, headers=key)
        replayed = second.post("/api/tasks", json=body, headers=key)
        listed = second.get("/api/tasks")
    assert created.status_code == 201, created.text
    assert replayed.status_code == 201, replayed.text
    assert replayed.json() == created.json()
    assert replayed.headers["idempotent-replayed"] == "true"
    assert [task["id"] for task in listed.json()] == [created.json()["id"]]


def test_the_change_feed_is_the_same_from_either_instance(
    instances: tuple[Server, Server],
) -> None:
    address = _address()
    _, token = _register(instances[0], address)
    with (
        _client(instances[0], address, token) as one,
        _client(instances[1], address, token) as (two),
    ):
        start = poll_feed(one, None, set())
        task = one.post("/api/tasks", json={"title": "made on one"}).json()
        on_two = poll_feed(two, start["next"], {task["id"]})
        assert [change["id"] for change in on_two["changes"]] == [task["id"]]

        renamed = two.patch(f"/api/tasks/{task['id']}", json={"title": "renamed on two"})
        assert renamed.status_code == 200, renamed.text
        gone = two.post("/api/tasks", json={"title": "short-lived"}).json()
        assert two.delete(f"/api/tasks/{gone['id']}").status_code == 204

        # A token from instance two, read on instance one, continues where two left off.
        on_one = poll_feed(one, on_two["next"], {task["id"], gone["id"]})
        assert [change["title"] for change in on_one["changes"]] == ["renamed on two"]
        assert on_one["deleted"] == [gone["id"]]
        # And the whole story, from either, is the same (but for each `next` token, which
        # carries the second it was issued in).
        from_one, from_two = (poll_feed(client, start["next"], set()) for client in (one, two))
        assert from_one.pop("next")
        assert from_two.pop("next")
        assert from_one == from_two


def test_both_instances_are_ready(instances: tuple[Server, Server]) -> None:
    for server in instances:
        assert httpx.get(f"{server.url}/ready", timeout=HTTP_TIMEOUT).status_code == 200
