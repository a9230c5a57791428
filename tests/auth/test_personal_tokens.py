"""Personal access tokens through HTTP on both databases: making, listing and revoking them,
using them everywhere a user's token goes, their scopes, expiry, how they are stored, and
`last_used_at` written at most once a minute.

(Revocation seen by other processes and workers: tests/auth/test_personal_tokens_server.py.)
"""

import base64
import hashlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import delete, select, update
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import assert_error, captured_logs, client_for
from todo_api.auth.dependencies import authenticate
from todo_api.auth.users import KnownUsers
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.tokens import personal_tokens
from todo_api.tables.users import users

Clients = Callable[..., httpx.AsyncClient]
TOKEN_FIELDS = {"id", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at"}
TOKEN_SHAPE = re.compile(r"todo_pat_[A-Za-z0-9_-]+")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def make_token(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/tokens", json={"name": "script", **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def run(app: FastAPI, statement: Any) -> list[dict[str, Any]]:
    """A statement on the app's own database (the table as it is stored)."""
    async with held(app, Database).connection() as conn:
        return [dict(row) for row in (await conn.execute(statement)).rows]


def stored(token_id: str) -> Any:
    return select(personal_tokens).where(personal_tokens.c.id == uuid.UUID(token_id))


def change(token_id: str, **values: Any) -> Any:
    return (
        update(personal_tokens).where(personal_tokens.c.id == uuid.UUID(token_id)).values(**values)
    )


@pytest.fixture
async def pat(app: FastAPI, alice: httpx.AsyncClient) -> AsyncIterator[Callable[..., Any]]:
    """Makes a token of alice's (`scope`, ...) and a client that sends it."""
    clients: list[httpx.AsyncClient] = []

    async def make(**body: Any) -> tuple[httpx.AsyncClient, dict[str, Any]]:
        created = await make_token(alice, **body)
        client = client_for(app, created["token"])
        clients.append(client)
        return client, created

    yield make
    for client in clients:
        await client.aclose()


# --- making, listing, revoking -------------------------------------------------------------------


async def test_a_new_token_is_shown_once_with_its_prefix_scope_and_expiry(
    app: FastAPI, alice: httpx.AsyncClient
) -> None:
    response = await alice.post("/api/tokens", json={"name": "  backup script "})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == TOKEN_FIELDS | {"token"}
    token = body["token"]
    assert TOKEN_SHAPE.fullmatch(token)
    random_part = token.removeprefix("todo_pat_")
    assert len(base64.urlsafe_b64decode(random_part + "=" * (-len(random_part) % 4))) * 8 >= 128
    assert body["prefix"] == token[:16]
    assert body["name"] == "backup script"
    assert body["scope"] == "write"
    assert body["last_used_at"] is None
    lifetime = _time(body["expires_at"]) - _time(body["created_at"])
    assert lifetime == timedelta(days=90)
    listed = (await alice.get("/api/tokens")).json()
    assert listed == [{k: v for k, v in body.items() if k != "token"}]
    assert token not in (await alice.get("/api/tokens")).text


async def test_tokens_are_listed_newest_first_and_only_to_their_user(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    first = await make_token(alice, name="one", scope="read", expires_in_days=None)
    second = await make_token(alice, name="two", expires_in_days=1)
    assert first["expires_at"] is None
    assert first["scope"] == "read"
    assert _time(second["expires_at"]) - _time(second["created_at"]) == timedelta(days=1)
    assert [t["id"] for t in (await alice.get("/api/tokens")).json()] == [
        second["id"],
        first["id"],
    ]
    assert (await bob.get("/api/tokens")).json() == []
    # Someone else's token is not found, and stays.
    assert_error(await bob.delete(f"/api/tokens/{first['id']}"), 404, "NOT_FOUND")
    assert_error(await alice.delete("/api/tokens/not-a-uuid"), 404, "NOT_FOUND")
    assert len((await alice.get("/api/tokens")).json()) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({}, "name"),
        ({"name": "a", "scope": "admin"}, "scope"),
        ({"name": "a", "expires_in_days": 0}, "expires_in_days"),
        ({"name": "a", "expires_in_days": 366}, "expires_in_days"),
        ({"name": "a", "expires_in_days": "30"}, "expires_in_days"),
        ({"name": "a", "expires_in_days": 1.5}, "expires_in_days"),
        ({"name": "a", "secret": "mine"}, "secret"),
    ],
)
async def test_a_bad_body_is_a_validation_error_naming_the_field(
    alice: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    body_out = assert_error(await alice.post("/api/tokens", json=body), 400, "VALIDATION_ERROR")
    assert field in {detail["field"] for detail in body_out["details"]}


async def test_the_51st_token_is_a_conflict(alice: httpx.AsyncClient) -> None:
    for n in range(50):
        await make_token(alice, name=f"t{n}")
    assert_error(await alice.post("/api/tokens", json={"name": "t50"}), 409, "CONFLICT")
    assert len((await alice.get("/api/tokens")).json()) == 50


async def test_a_revoked_token_is_refused_by_the_next_request(
    alice: httpx.AsyncClient, pat: Any
) -> None:
    client, created = await pat()
    assert (await client.get("/api/tasks")).status_code == 200
    response = await alice.delete(f"/api/tokens/{created['id']}")
    assert response.status_code == 204
    assert response.content == b""
    refused = await client.get("/api/tasks")
    assert_error(refused, 401, "INVALID_TOKEN")
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert (await alice.get("/api/tokens")).json() == []
    assert_error(await alice.delete(f"/api/tokens/{created['id']}"), 404, "NOT_FOUND")


async def test_a_revoked_token_is_not_taken_for_a_deleted_user(
    app: FastAPI, alice: httpx.AsyncClient, pat: Any
) -> None:
    """A revocation tells every process the token's id; only a deletion tells a user's, and
    only a user's is remembered as deleted."""
    _client, created = await pat()
    assert (await alice.delete(f"/api/tokens/{created['id']}")).status_code == 204
    assert not held(app, KnownUsers).deleted(uuid.UUID(created["id"]))


async def test_an_unknown_token_is_invalid_and_an_expired_one_expired(
    app: FastAPI, anonymous: httpx.AsyncClient, pat: Any
) -> None:
    unknown = "todo_pat_" + "A" * 43
    response = await anonymous.get("/api/tasks", headers={"Authorization": f"Bearer {unknown}"})
    assert_error(response, 401, "INVALID_TOKEN")
    client, created = await pat()
    # Expiry is the service's clock against the stored time.
    past = datetime.now(UTC) - timedelta(seconds=1)
    await run(app, change(created["id"], expires_at=past))
    assert_error(await client.get("/api/tasks"), 401, "TOKEN_EXPIRED")


async def test_tokens_are_stored_as_hashes_only(app: FastAPI, alice: httpx.AsyncClient) -> None:
    created = await make_token(alice)
    [row] = await run(app, stored(created["id"]))
    assert row["token_hash"] == hashlib.sha256(created["token"].encode()).hexdigest()
    random_part = created["token"].removeprefix("todo_pat_")
    for value in row.values():
        assert random_part not in str(value)


async def test_last_used_at_is_written_once_a_minute_not_per_request(
    app: FastAPI, pat: Any, alice: httpx.AsyncClient
) -> None:
    client, created = await pat()
    token_id = created["id"]
    before = datetime.now(UTC)
    assert (await client.get("/api/tasks")).status_code == 200
    [first] = await run(app, stored(token_id))
    assert first["last_used_at"] is not None
    for _ in range(30):
        assert (await client.get("/api/tasks")).status_code == 200
    # Every request ran at a later instant: a write would have moved the stored time.
    [after] = await run(app, stored(token_id))
    assert after["last_used_at"] == first["last_used_at"]
    listed = (await alice.get("/api/tokens")).json()[0]["last_used_at"]
    assert _time(listed) >= before - timedelta(seconds=1)
    # A minute later (the stored time made a minute old), the next use writes it again.
    old = datetime.now(UTC) - timedelta(seconds=61)
    await run(app, change(token_id, last_used_at=old))
    assert (await client.get("/api/tasks")).status_code == 200
    [moved] = await run(app, stored(token_id))
    assert moved["last_used_at"] > old + timedelta(seconds=30)


async def test_deleting_the_user_deletes_their_tokens(
    app: FastAPI, pat: Any, alice: httpx.AsyncClient
) -> None:
    client, created = await pat()
    me = (await client.get("/api/auth/me")).json()
    await run(app, delete(users).where(users.c.id == uuid.UUID(me["id"])))
    assert await run(app, stored(created["id"])) == []
    assert_error(await client.get("/api/tasks"), 401, "INVALID_TOKEN")


# --- what a token may do -------------------------------------------------------------------------


async def test_a_token_acts_as_its_user(alice: httpx.AsyncClient, pat: Any) -> None:
    client, _ = await pat()
    made = (await alice.post("/api/tasks", json={"title": "from the app"})).json()
    assert (await client.get(f"/api/tasks/{made['id']}")).json() == made
    done = await client.post(f"/api/tasks/{made['id']}/complete")
    assert done.status_code == 200
    assert done.json()["is_completed"] is True
    me = (await alice.get("/api/auth/me")).json()
    assert (await client.get("/api/auth/me")).json() == me
    mine = await client.get(f"/api/{me['id']}/tasks")
    assert [task["id"] for task in mine.json()] == [made["id"]]
    ticket = await client.post("/api/events/ticket")
    assert ticket.status_code == 201


@pytest.mark.parametrize("scope", ["read", "write"])
async def test_a_token_cannot_manage_tokens_whatever_its_scope(pat: Any, scope: str) -> None:
    client, created = await pat(scope=scope)
    for response in (
        await client.get("/api/tokens"),
        await client.post("/api/tokens", json={"name": "another"}),
        await client.delete(f"/api/tokens/{created['id']}"),
    ):
        assert_error(response, 403, "FORBIDDEN")
    assert (await client.get("/api/tasks")).status_code == 200


def _writes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app that a `read` token may not use: each route's every
    method but GET and HEAD, leaving out the routes that take no token (sign-in), the event
    ticket, which a read token may take, and the 405 answers of methods a path does not have
    (not in the document)."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.route
        if (
            not isinstance(route, APIRoute)
            or not route.include_in_schema
            or route.openapi_extra == {"security": []}
        ):
            continue
        for method in sorted(route.methods - {"GET", "HEAD"}):
            if (method, context.path) != ("POST", "/api/events/ticket"):
                found.append((method, context.path))
    return found


def _filled(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


async def test_a_read_token_is_refused_every_write_and_changes_nothing(
    app: FastAPI, alice: httpx.AsyncClient, pat: Any
) -> None:
    client, _ = await pat(scope="read")
    me = (await alice.get("/api/auth/me")).json()
    listed = (await alice.post("/api/lists", json={"name": "Errands"})).json()
    task = (await alice.post("/api/tasks", json={"title": "keep", "list_id": listed["id"]})).json()
    values = {"user_id": me["id"], "task_id": task["id"], "list_id": listed["id"]}
    writes = _writes(app)
    # The routes are found from the app: the task, bulk, user-in-path and token routes are
    # among them, so a new route cannot be forgotten.
    paths = {path for _, path in writes}
    assert {"/api/tasks/bulk", "/api/{user_id}/tasks", "/api/tokens", "/api/lists"} <= paths
    before = (await alice.get("/api/tasks")).json(), (await alice.get("/api/lists")).json()
    body = {"title": "nope", "name": "nope", "operations": [{"op": "delete", "id": task["id"]}]}
    for method, path in writes:
        # Checked first: a body that is no JSON at all is refused for the scope too.
        for content in (orjson.dumps(body), b"{not json"):
            response = await client.request(
                method,
                _filled(path, values),
                content=content,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 403, (method, path, response.text)
            assert "read" in response.json()["error"], (method, path)
    after = (await alice.get("/api/tasks")).json(), (await alice.get("/api/lists")).json()
    assert after == before


async def test_a_read_token_reads_and_opens_live_updates(
    alice: httpx.AsyncClient, pat: Any
) -> None:
    client, _ = await pat(scope="read")
    made = (await alice.post("/api/tasks", json={"title": "read me"})).json()
    assert (await client.get(f"/api/tasks/{made['id']}")).json() == made
    assert (await client.head(f"/api/tasks/{made['id']}")).status_code in (200, 405)
    assert (await client.get("/api/tasks/changes")).status_code == 200
    ticket = await client.post("/api/events/ticket")
    assert ticket.status_code == 201
    assert set(ticket.json()) == {"ticket", "expires_at"}


async def test_a_write_token_writes(pat: Any) -> None:
    client, _ = await pat(scope="write")
    response = await client.post("/api/tasks", json={"title": "by script"})
    assert response.status_code == 201
    assert (await client.delete(f"/api/tasks/{response.json()['id']}")).status_code == 204


# --- HTTP Basic, for /dav ------------------------------------------------------------------------


@pytest.fixture
async def basic_app(settings: Any) -> AsyncIterator[FastAPI]:
    """The app with a probe route that authenticates as /dav does: Basic, a personal token as
    the password, or a Bearer token."""
    from tests.support import app_for

    async def probe(request: Request) -> JSONResponse:
        identity = await authenticate(request, basic=True)
        return JSONResponse({"user_id": str(identity.user_id)})

    async with app_for(settings) as app:
        app.router.routes.insert(
            0, Route("/dav/probe", probe, methods=["GET", "PROPFIND", "REPORT", "PUT"])
        )
        yield app


def _basic(user: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


async def test_basic_takes_a_personal_token_as_its_password(
    basic_app: FastAPI, settings: Any
) -> None:
    from tests.support import token_for

    async with client_for(basic_app, token_for(settings)) as owner:
        created = await make_token(owner, scope="read")
        me = (await owner.get("/api/auth/me")).json()
        reader = created["token"]
        async with client_for(basic_app) as dav:
            for method in ("GET", "PROPFIND", "REPORT"):
                response = await dav.request(method, "/dav/probe", headers=_basic("any", reader))
                assert response.json() == {"user_id": me["id"]}, method
            # A read token's write, on /dav too.
            refused = await dav.put("/dav/probe", headers=_basic("any", reader))
            assert_error(refused, 403, "FORBIDDEN")
            # A password that is not a personal token, a bad one, a header that does not decode.
            jwt = token_for(settings)
            for headers in (
                _basic("any", jwt),
                _basic("any", "todo_pat_" + "B" * 43),
                {"Authorization": "Basic %%%"},
                _basic("nopassword", ""),
            ):
                assert_error(await dav.get("/dav/probe", headers=headers), 401, "INVALID_TOKEN")
            # Bearer works there as on /api.
            bearer = await dav.get("/dav/probe", headers={"Authorization": f"Bearer {reader}"})
            assert bearer.json() == {"user_id": me["id"]}
            await owner.delete(f"/api/tokens/{created['id']}")
            revoked = await dav.get("/dav/probe", headers=_basic("any", reader))
            assert_error(revoked, 401, "INVALID_TOKEN")
            # Elsewhere, Basic is not taken.
            other = await dav.get("/api/tasks", headers=_basic("any", reader))
            assert_error(other, 401, "UNAUTHORIZED")


# --- what never shows a token ----------------------------------------------------------------


async def test_a_token_never_appears_in_logs_error_bodies_or_metrics(
    app: FastAPI, alice: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with captured_logs(caplog):
        created = await make_token(alice, scope="read")
        token = created["token"]
        async with client_for(app, token) as client:
            answers = [
                await client.get("/api/tasks"),
                await client.post("/api/tasks", json={"title": token}),
                await client.delete(f"/api/tasks/{uuid.uuid4()}"),
            ]
            await alice.delete(f"/api/tokens/{created['id']}")
            answers.append(await client.get("/api/tasks"))
            answers.append(await client.get("/metrics"))
        secret = token.removeprefix("todo_pat_")
        for response in answers:
            assert secret not in response.text
            assert all(secret not in value for value in response.headers.values())
        assert secret not in caplog.text
        assert created["prefix"] not in caplog.text
