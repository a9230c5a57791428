"""Two tabs refreshing with one refresh token, over the network against a real `todo-api serve`
process, on both databases: the requests truly race, and both tabs stay signed in.

Every request goes to 127.0.0.1; every wait is bounded.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.helpers_server import Server, clean_env, running_server
from tests.support import TEST_SECRET

HTTP_TIMEOUT = 30.0
PASSWORD = "correct horse battery staple"
ROUNDS = 5


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cwd = tmp_path_factory.mktemp("refresh-server")
    env = clean_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        LOG_LEVEL="WARNING",
        AUTH_RATE_LIMIT_ATTEMPTS="1000",
    )
    with running_server(cwd, env, cwd / "server.log") as server:
        yield server


@pytest.fixture
async def tabs(server: Server) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two clients with connections of their own, as two browser tabs."""
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=HTTP_TIMEOUT) as first,
        httpx.AsyncClient(base_url=server.url, timeout=HTTP_TIMEOUT) as second,
    ):
        yield first, second


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


def tokens(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def test_two_tabs_refreshing_at_once_both_stay_signed_in(
    tabs: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    first, second = tabs
    email = f"tabs-{secrets.token_hex(6)}@example.com"
    registered = await first.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    shared = tokens(registered)["refresh_token"]
    for _ in range(ROUNDS):
        a, b = await asyncio.wait_for(
            asyncio.gather(refresh(first, shared), refresh(second, shared)), HTTP_TIMEOUT
        )
        first_tab, second_tab = tokens(a), tokens(b)
        assert first_tab["refresh_token"] != second_tab["refresh_token"]
        for client, body in ((first, first_tab), (second, second_tab)):
            me = await client.get(
                "/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
            )
            assert me.status_code == 200, me.text
            assert me.json()["email"] == email
        # Each tab goes on with its own token; the next round races with the first tab's.
        tokens(await refresh(second, second_tab["refresh_token"]))
        shared = first_tab["refresh_token"]
