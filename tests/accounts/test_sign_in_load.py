"""A flood of sign-ins, on both databases: password hashing holds no database connection and
runs a bounded number at a time, so the flood is answered 401 or 429 (never 503) and another
user's requests are served meanwhile.

The flood comes from several client addresses, each within its own sign-in limit, so that it
is the hashing, not the attempt counters, that must hold. Client addresses are fake ones given
to the in-process ASGI transport; nothing is sent over a network.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.support import app_for, assert_error, client_for, make_settings, token_for
from todo_api.config import Settings

ADDRESSES = 7
LOGINS_PER_ADDRESS = 30
PASSWORD = "correct horse battery staple"
# Generous: before the fix, requests waited for the pool's 10 s and then failed.
FLOOD_TIMEOUT = 120


@pytest.fixture
async def small_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """One pooled connection, one hash at a time, a short wait for it."""
    assert settings.database_url is not None
    flooded = make_settings(
        settings.database_url,
        tmp_path,
        database_pool_size=1,
        password_hash_concurrency=1,
        password_hash_max_wait_seconds=1,
        auth_rate_limit_attempts=LOGINS_PER_ADDRESS,
        auth_rate_limit_address_attempts=LOGINS_PER_ADDRESS,
        auth_rate_limit_email_attempts=ADDRESSES * LOGINS_PER_ADDRESS,
    )
    async with app_for(flooded) as app:
        yield app


def client_at(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 1234))
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=FLOOD_TIMEOUT)


async def test_login_flood_is_401_or_429_and_other_users_are_served(
    small_app: FastAPI, settings: Settings
) -> None:
    email = f"flooded-{secrets.token_hex(6)}@example.com"
    async with client_at(small_app, "10.0.0.1") as client:
        registered = await client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        )
    assert registered.status_code == 201, registered.text

    async with client_for(small_app, token_for(settings)) as other:
        assert (await other.get("/api/tasks")).status_code == 200  # the user row exists

        async def wrong_logins(address: str) -> list[httpx.Response]:
            # The owner's email and unknown ones alike: both cost a hash.
            async with client_at(small_app, address) as client:
                return await asyncio.gather(
                    *(
                        client.post(
                            "/api/auth/login",
                            json={
                                "email": email if n % 2 else f"nobody-{n}@example.com",
                                "password": f"wrong password {n}",
                            },
                        )
                        for n in range(LOGINS_PER_ADDRESS)
                    )
                )

        flood = [asyncio.create_task(wrong_logins(f"10.1.0.{n}")) for n in range(1, ADDRESSES + 1)]
        await asyncio.sleep(0.5)  # the flood is under way
        during = await other.get("/api/tasks")
        answers = [
            response
            for responses in await asyncio.wait_for(asyncio.gather(*flood), FLOOD_TIMEOUT)
            for response in responses
        ]

    assert during.status_code == 200, during.text
    statuses = [response.status_code for response in answers]
    assert len(statuses) == ADDRESSES * LOGINS_PER_ADDRESS
    assert set(statuses) <= {401, 429}, sorted(set(statuses))
    assert 401 in statuses  # hashing went on through the flood
    for response in answers:
        if response.status_code == 429:
            assert_error(response, 429, "RATE_LIMITED")
            assert int(response.headers["retry-after"]) >= 1
        else:
            assert_error(response, 401, "INVALID_CREDENTIALS")

    # Once the flood is over, the owner signs in as usual.
    async with client_at(small_app, "10.0.0.2") as client:
        response = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
