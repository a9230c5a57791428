"""Built-in accounts through HTTP, on both databases: register, login (JSON and OAuth2 form),
me, refresh-token rotation with reuse detection and its grace for two tabs, logout, the
validation rules, and the headers of token responses."""

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select, update

from tests.support import (
    TEST_SECRET,
    app_for,
    assert_error,
    captured_logs,
    client_for,
    make_settings,
    token_for,
)
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.users import refresh_tokens, users

PASSWORD = "correct horse battery staple"
TOKENS_KEYS = {"access_token", "token_type", "expires_in", "refresh_token", "user"}


def unique_email() -> str:
    return f"account-{secrets.token_hex(6)}@example.com"


def assert_tokens(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == TOKENS_KEYS
    assert body["token_type"] == "bearer"
    assert set(body["user"]) == {"id", "email", "name"}
    assert body["access_token"]
    assert body["refresh_token"]
    return body


async def register(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, name: str | None = None
) -> httpx.Response:
    payload: dict[str, Any] = {"email": email, "password": password}
    if name is not None:
        payload["name"] = name
    return await client.post("/api/auth/register", json=payload)


async def signed_up(client: httpx.AsyncClient, name: str | None = None) -> dict[str, Any]:
    """A new account's tokens (the register response)."""
    return assert_tokens(await register(client, unique_email(), name=name), 201)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


async def refresh_at_once(
    client: httpx.AsyncClient, refresh_token: str, racers: int
) -> list[httpx.Response]:
    """`racers` refreshes with one refresh token, all sent at once (tabs racing)."""
    return await asyncio.wait_for(
        asyncio.gather(*(refresh(client, refresh_token) for _ in range(racers))), timeout=30
    )


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


def digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


async def end_reuse_grace(app: FastAPI, refresh_token: str) -> None:
    """Move the token's first exchange back to before the reuse grace began."""
    grace = held(app, Settings).refresh_reuse_grace_seconds
    async with held(app, Database).transaction() as conn:
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == digest(refresh_token))
            .values(rotated_at=datetime.now(UTC) - timedelta(seconds=grace + 1))
        )


async def families(app: FastAPI, *tokens: str) -> set[uuid.UUID]:
    """The families these refresh tokens belong to."""
    async with held(app, Database).connection() as conn:
        rows = await conn.execute(
            select(refresh_tokens.c.family_id).where(
                refresh_tokens.c.token_hash.in_([digest(token) for token in tokens])
            )
        )
        found = [row["family_id"] for row in rows]
    assert len(found) == len(tokens)
    return set(found)


# --- the whole flow -----------------------------------------------------------------------


async def test_account_flow_register_login_token_me_refresh_logout(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    email = unique_email()
    registered = assert_tokens(await register(anonymous, email.upper(), name="  Ada  "), 201)
    user = registered["user"]
    assert user == {"id": user["id"], "email": email, "name": "Ada"}

    logged_in = assert_tokens(await login(anonymous, email))
    assert logged_in["user"] == user
    form = assert_tokens(
        await anonymous.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    )
    assert form["user"] == user

    async with client_for(app, form["access_token"]) as client:
        me = await client.get("/api/auth/me")
    assert me.status_code == 200, me.text
    assert {k: me.json()[k] for k in ("id", "email", "name")} == user

    rotated = assert_tokens(await refresh(anonymous, form["refresh_token"]))
    assert rotated["refresh_token"] != form["refresh_token"]
    assert rotated["user"] == user
    async with client_for(app, rotated["access_token"]) as client:
        assert (await client.get("/api/auth/me")).json()["id"] == user["id"]
        logout = await client.post(
            "/api/auth/logout", json={"refresh_token": rotated["refresh_token"]}
        )
    assert logout.status_code == 204
    assert logout.content == b""
    assert_error(await refresh(anonymous, rotated["refresh_token"]), 401, "INVALID_TOKEN")
    # The other sign-ins are other sessions: they are untouched.
    assert_tokens(await refresh(anonymous, logged_in["refresh_token"]))


# --- register -----------------------------------------------------------------------------


async def test_register_normalises_the_email_and_trims_the_name(
    anonymous: httpx.AsyncClient,
) -> None:
    local = f"Ada.Lovelace-{secrets.token_hex(4)}"
    body = assert_tokens(
        await register(anonymous, f"  {local}@Example.COM ", name="  Ada Lovelace  "), 201
    )
    assert body["user"]["email"] == f"{local.lower()}@example.com"
    assert body["user"]["name"] == "Ada Lovelace"
    uuid.UUID(body["user"]["id"])


async def test_register_without_a_name_has_a_null_name(anonymous: httpx.AsyncClient) -> None:
    body = await signed_up(anonymous)
    assert body["user"]["name"] is None


async def stored_hash(app: FastAPI, user_id: str) -> str:
    async with held(app, Database).connection() as conn:
        row = (
            await conn.execute(
                select(users.c.password_hash).where(users.c.id == uuid.UUID(user_id))
            )
        ).one()
    found: str = row.password_hash
    return found


async def test_password_is_stored_as_an_argon2id_hash(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    password_hash = await stored_hash(app, body["user"]["id"])
    assert password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=4$")  # the tests' cost
    assert PASSWORD not in password_hash


async def test_hashes_cost_argon2s_default_and_verify_at_any_other(
    settings: Settings, tmp_path: Path, app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """Unset, the cost is Argon2's default (RFC 9106: 64 MiB, 3 passes, 4 lanes); a hash made
    at one cost still signs in once the settings name another, both ways."""
    assert settings.database_url is not None
    default = make_settings(
        settings.database_url,
        tmp_path,
        password_hash_memory_kib=Settings.model_fields["password_hash_memory_kib"].default,
        password_hash_iterations=Settings.model_fields["password_hash_iterations"].default,
    )
    async with app_for(default) as default_app, client_for(default_app) as client:
        email = unique_email()
        body = assert_tokens(await register(client, email), 201)
        password_hash = await stored_hash(default_app, body["user"]["id"])
        assert password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert_tokens(await login(anonymous, email))  # the shared app's cost is the lowest

        cheap = await signed_up(anonymous)
        assert_tokens(await login(client, cheap["user"]["email"]))


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PASSWORD_HASH_MEMORY_KIB", "19455"), ("PASSWORD_HASH_ITERATIONS", "1")],
)
def test_a_hash_cost_below_owasps_floor_is_refused(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.lower()):
        Settings(_env_file=None, jwt_secret=TEST_SECRET)  # type: ignore[call-arg]


async def test_refresh_token_is_stored_only_as_a_hash_for_30_days(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    async with held(app, Database).connection() as conn:
        rows = (
            await conn.execute(
                select(refresh_tokens).where(
                    refresh_tokens.c.user_id == uuid.UUID(body["user"]["id"])
                )
            )
        ).rows
    assert len(rows) == 1
    assert body["refresh_token"] not in repr(rows[0])
    assert rows[0].expires_at - rows[0].created_at == timedelta(days=30)


@pytest.mark.parametrize(
    "variant", [str.lower, str.upper, str.title], ids=["same", "upper", "title"]
)
async def test_taken_email_in_any_case_is_conflict(
    anonymous: httpx.AsyncClient, variant: Any
) -> None:
    email = unique_email()
    assert (await register(anonymous, email)).status_code == 201
    response = await register(anonymous, f" {variant(email)} ", password="another password")
    assert_error(response, 409, "CONFLICT")


async def test_concurrent_registrations_of_one_email_create_one_account(
    app: FastAPI,
) -> None:
    email = unique_email()
    async with client_for(app) as client:
        responses = await asyncio.wait_for(
            asyncio.gather(*(register(client, email) for _ in range(4))), timeout=30
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]


async def test_email_of_a_user_known_from_tokens_is_taken(
    app: FastAPI, settings: Settings, anonymous: httpx.AsyncClient
) -> None:
    email = unique_email()
    async with client_for(app, token_for(settings, email=email)) as client:
        assert (await client.get("/api/tasks")).status_code == 200
    assert_error(await register(anonymous, email), 409, "CONFLICT")


@pytest.mark.parametrize(
    ("length", "status"),
    [(7, 400), (8, 201), (128, 201), (129, 400)],
    ids=["7-too-short", "8-shortest", "128-longest", "129-too-long"],
)
async def test_password_length_must_be_8_to_128(
    anonymous: httpx.AsyncClient, length: int, status: int
) -> None:
    response = await register(anonymous, unique_email(), password="p" * length)
    if status == 201:
        assert_tokens(response, 201)
    else:
        body = assert_error(response, 400, "VALIDATION_ERROR")
        assert [d["field"] for d in body["details"]] == ["password"]
        assert "p" * length not in response.text


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "", "no-domain@", "@example.com", "two@@example.com", "a b@example.com",
     "nodot@example"],
    ids=["no-at", "empty", "no-domain", "no-local-part", "two-ats", "space", "no-dot"],
)  # fmt: skip
async def test_bad_email_is_validation_error(anonymous: httpx.AsyncClient, email: str) -> None:
    body = assert_error(await register(anonymous, email), 400, "VALIDATION_ERROR")
    assert [d["field"] for d in body["details"]] == ["email"]


# Limits count what is stored: `İ` lower-cases to two characters, U+0958 is two in NFC.
@pytest.mark.parametrize(
    ("field", "payload"),
    [
        ("email", {"email": "\u0130" * 200 + "@example.com"}),
        ("email", {"email": "a" * 309 + "@example.com"}),
        ("name", {"name": "\u0958" * 150}),
        ("name", {"name": "n" * 201}),
    ],
    ids=["email-that-grows-when-lower-cased", "email-over-320", "name-that-grows-in-nfc",
         "name-over-200"],
)  # fmt: skip
async def test_register_with_text_too_long_once_normalised_is_validation_error(
    anonymous: httpx.AsyncClient, field: str, payload: dict[str, str]
) -> None:
    body = {"email": unique_email(), "password": PASSWORD, **payload}
    response = await anonymous.post("/api/auth/register", json=body)
    details = assert_error(response, 400, "VALIDATION_ERROR")["details"]
    assert [d["field"] for d in details] == [field]
    if field == "email":
        login = await anonymous.post(
            "/api/auth/login", json={"email": payload["email"], "password": PASSWORD}
        )
        assert [d["field"] for d in assert_error(login, 400, "VALIDATION_ERROR")["details"]] == [
            "email"
        ]


# A name is one line wherever it is written (a page, an email's subject, a log line).
NAME_CONTROLS = {
    "lf": "Ada\nLovelace",
    "crlf-at-the-end": "Ada Lovelace\r\n",
    "tab": "Ada\tLovelace",
    "escape": "\x1b[31mAda",
    "c1-next-line": "Ada\x85Lovelace",
    "line-separator": "Ada\u2028Lovelace",
}


@pytest.mark.parametrize("name", NAME_CONTROLS.values(), ids=NAME_CONTROLS.keys())
async def test_a_name_with_a_control_character_is_refused_naming_name(
    anonymous: httpx.AsyncClient, name: str
) -> None:
    details = assert_error(
        await register(anonymous, unique_email(), name=name), 400, "VALIDATION_ERROR"
    )["details"]
    assert [d["field"] for d in details] == ["name"]
    signed = await signed_up(anonymous, name="Ada")
    headers = {"Authorization": f"Bearer {signed['access_token']}"}
    changed = await anonymous.patch("/api/auth/me", json={"name": name}, headers=headers)
    details = assert_error(changed, 400, "VALIDATION_ERROR")["details"]
    assert [d["field"] for d in details] == ["name"]
    me = await anonymous.get("/api/auth/me", headers=headers)
    assert me.json()["name"] == "Ada"


async def test_register_keeps_the_name_and_email_in_nfc(anonymous: httpx.AsyncClient) -> None:
    tag = secrets.token_hex(4)
    body = assert_tokens(
        await register(anonymous, f"Cafe\u0301-{tag}@example.com", name="Jose\u0301"), 201
    )
    assert body["user"]["email"] == f"caf\u00e9-{tag}@example.com"
    assert body["user"]["name"] == "Jos\u00e9"
    assert (await login(anonymous, f"CAF\u00c9-{tag}@example.com")).status_code == 200


async def test_register_with_an_unknown_field_is_validation_error(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post(
        "/api/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "is_admin": True},
    )
    assert_error(response, 400, "VALIDATION_ERROR")


# --- login --------------------------------------------------------------------------------


async def test_wrong_password_and_unknown_email_give_the_same_401(
    anonymous: httpx.AsyncClient,
) -> None:
    email = unique_email()
    assert (await register(anonymous, email)).status_code == 201

    wrong_password = await login(anonymous, email, "not the password")
    unknown_email = await login(anonymous, unique_email(), "not the password")
    wrong_form = await anonymous.post(
        "/api/auth/token", data={"username": email, "password": "not the password"}
    )
    unknown_form = await anonymous.post(
        "/api/auth/token", data={"username": unique_email(), "password": "not the password"}
    )

    responses = [wrong_password, unknown_email, wrong_form, unknown_form]
    for response in responses:
        assert_error(response, 401, "INVALID_CREDENTIALS")
        assert response.headers["www-authenticate"] == "Bearer"
    assert len({response.content for response in responses}) == 1


async def test_login_of_a_user_known_only_from_tokens_is_invalid_credentials(
    app: FastAPI, settings: Settings, anonymous: httpx.AsyncClient
) -> None:
    email = unique_email()
    async with client_for(app, token_for(settings, email=email)) as client:
        assert (await client.get("/api/tasks")).status_code == 200
    assert_error(await login(anonymous, email, ""), 401, "INVALID_CREDENTIALS")
    assert_error(await login(anonymous, email, PASSWORD), 401, "INVALID_CREDENTIALS")


async def test_login_takes_the_email_in_any_case(anonymous: httpx.AsyncClient) -> None:
    body = await signed_up(anonymous)
    email = body["user"]["email"]
    assert assert_tokens(await login(anonymous, f" {email.upper()} "))["user"] == body["user"]


async def test_token_endpoint_takes_the_oauth2_password_form(
    anonymous: httpx.AsyncClient,
) -> None:
    body = await signed_up(anonymous)
    response = await anonymous.post(
        "/api/auth/token",
        data={"grant_type": "password", "username": body["user"]["email"], "password": PASSWORD},
    )
    assert assert_tokens(response)["user"] == body["user"]


async def test_token_endpoint_refuses_json(anonymous: httpx.AsyncClient) -> None:
    body = await signed_up(anonymous)
    response = await anonymous.post(
        "/api/auth/token", json={"username": body["user"]["email"], "password": PASSWORD}
    )
    assert response.status_code == 400, response.text


# --- access tokens ------------------------------------------------------------------------


async def test_access_token_expires_in_15_minutes_by_default(
    settings: Settings, anonymous: httpx.AsyncClient
) -> None:
    assert settings.access_token_minutes == 15
    before = int(time.time())
    body = await signed_up(anonymous, name="Grace")
    assert body["expires_in"] == 900
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == body["user"]["id"]
    assert claims["email"] == body["user"]["email"]
    assert claims["name"] == "Grace"
    assert claims["exp"] - claims["iat"] == 900
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5


async def test_issued_access_token_works_on_tasks(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    async with client_for(app, body["access_token"]) as client:
        created = await client.post("/api/tasks", json={"title": "signed up"})
        listed = await client.get("/api/tasks")
    assert created.status_code == 201, created.text
    assert created.json()["user_id"] == body["user"]["id"]
    assert [task["id"] for task in listed.json()] == [created.json()["id"]]


async def test_me_needs_a_token(anonymous: httpx.AsyncClient) -> None:
    assert_error(await anonymous.get("/api/auth/me"), 401, "UNAUTHORIZED")


async def test_me_shows_the_account(app: FastAPI, anonymous: httpx.AsyncClient) -> None:
    body = await signed_up(anonymous, name="Katherine")
    async with client_for(app, body["access_token"]) as client:
        me = await client.get("/api/auth/me")
    assert me.status_code == 200
    data = me.json()
    assert set(data) == {
        "id",
        "email",
        "name",
        "timezone",
        "language",
        "theme",
        "week_start",
        "email_verified",
        "two_factor",
        "created_at",
        "updated_at",
    }
    assert data["theme"] is None  # the system's, until the person chooses
    assert data["week_start"] is None  # the language's, likewise
    assert data["email_verified"] is False
    assert data["two_factor"] is False
    assert {k: data[k] for k in ("id", "email", "name")} == body["user"]
    assert data["timezone"] == "UTC"
    assert data["created_at"].endswith("Z")


# --- refresh and logout -------------------------------------------------------------------


async def test_refresh_gives_new_tokens_and_the_old_refresh_token_is_refused(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    first = await signed_up(anonymous)
    second = assert_tokens(await refresh(anonymous, first["refresh_token"]))
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"] == first["user"]
    async with client_for(app, second["access_token"]) as client:
        assert (await client.get("/api/tasks")).status_code == 200
    await end_reuse_grace(app, first["refresh_token"])
    assert_error(await refresh(anonymous, first["refresh_token"]), 401, "INVALID_TOKEN")


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    first = await signed_up(anonymous)
    other_session = assert_tokens(await login(anonymous, first["user"]["email"]))
    second = assert_tokens(await refresh(anonymous, first["refresh_token"]))
    newest = assert_tokens(await refresh(anonymous, second["refresh_token"]))
    await end_reuse_grace(app, first["refresh_token"])

    assert_error(await refresh(anonymous, first["refresh_token"]), 401, "INVALID_TOKEN")

    assert_error(await refresh(anonymous, newest["refresh_token"]), 401, "INVALID_TOKEN")
    assert_error(await refresh(anonymous, second["refresh_token"]), 401, "INVALID_TOKEN")
    # Another sign-in is another family, not touched.
    assert_tokens(await refresh(anonymous, other_session["refresh_token"]))


# --- two tabs, one refresh token ----------------------------------------------------------


async def test_refresh_reuse_grace_is_10_seconds_by_default(settings: Settings) -> None:
    assert settings.refresh_reuse_grace_seconds == 10


@pytest.mark.parametrize("racers", [2, 5])
async def test_concurrent_refreshes_with_one_refresh_token_all_succeed_in_one_family(
    app: FastAPI, racers: int
) -> None:
    """Tabs that refresh with the same refresh token at once all stay signed in."""
    async with client_for(app) as client:
        body = await signed_up(client)
        responses = await refresh_at_once(client, body["refresh_token"], racers)
        issued = [assert_tokens(response)["refresh_token"] for response in responses]
        assert len(set(issued)) == racers
        assert len(await families(app, body["refresh_token"], *issued)) == 1
        # Each tab goes on with the refresh token it got.
        for refresh_token in issued:
            assert_tokens(await refresh(client, refresh_token))


async def test_second_tab_refreshing_a_moment_later_succeeds(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    first_tab = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    await asyncio.sleep(0.2)
    second_tab = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    assert second_tab["user"] == first_tab["user"]
    assert second_tab["refresh_token"] != first_tab["refresh_token"]
    tokens = (body["refresh_token"], first_tab["refresh_token"], second_tab["refresh_token"])
    assert len(await families(app, *tokens)) == 1
    async with client_for(app, second_tab["access_token"]) as client:
        assert (await client.get("/api/auth/me")).status_code == 200


async def test_reuse_after_the_grace_revokes_the_tokens_issued_within_it(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    first_tab = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    second_tab = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    await end_reuse_grace(app, body["refresh_token"])

    response = await refresh(anonymous, body["refresh_token"])
    assert_error(response, 401, "INVALID_TOKEN")
    assert "already used" in response.json()["error"]
    for tab in (first_tab, second_tab):
        assert_error(await refresh(anonymous, tab["refresh_token"]), 401, "INVALID_TOKEN")


async def test_reuse_grace_does_not_revive_a_logged_out_session(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    rotated = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    async with client_for(app, rotated["access_token"]) as client:
        response = await client.post(
            "/api/auth/logout", json={"refresh_token": rotated["refresh_token"]}
        )
    assert response.status_code == 204
    assert_error(await refresh(anonymous, body["refresh_token"]), 401, "INVALID_TOKEN")


async def test_token_of_a_family_with_a_revoked_token_is_refused(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """A token rotated in while its family was being revoked (one row revoked, not this one)
    is refused all the same: the family is revoked as a whole."""
    body = await signed_up(anonymous)
    rotated = assert_tokens(await refresh(anonymous, body["refresh_token"]))
    async with held(app, Database).transaction() as conn:
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == digest(body["refresh_token"]))
            .values(revoked_at=datetime.now(UTC))
        )
    assert_error(await refresh(anonymous, rotated["refresh_token"]), 401, "INVALID_TOKEN")


@pytest.fixture
async def no_grace_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app on the migrated test database with REFRESH_REUSE_GRACE_SECONDS=0."""
    assert settings.database_url is not None
    no_grace = make_settings(settings.database_url, tmp_path, refresh_reuse_grace_seconds=0)
    async with app_for(no_grace) as app:
        yield app


@pytest.mark.parametrize("racers", [2, 5])
async def test_without_a_grace_concurrent_refreshes_succeed_at_most_once(
    no_grace_app: FastAPI, racers: int
) -> None:
    async with client_for(no_grace_app) as client:
        body = await signed_up(client)
        responses = await refresh_at_once(client, body["refresh_token"], racers)
    statuses = sorted(response.status_code for response in responses)
    # One winner; the others are refused (they even revoke the family, as a reuse would).
    assert statuses == [200] + [401] * (racers - 1), [r.text for r in responses]


async def test_without_a_grace_an_immediate_reuse_revokes_the_family(
    no_grace_app: FastAPI,
) -> None:
    async with client_for(no_grace_app) as client:
        body = await signed_up(client)
        rotated = assert_tokens(await refresh(client, body["refresh_token"]))
        assert_error(await refresh(client, body["refresh_token"]), 401, "INVALID_TOKEN")
        assert_error(await refresh(client, rotated["refresh_token"]), 401, "INVALID_TOKEN")


async def test_unknown_refresh_token_is_invalid_token(anonymous: httpx.AsyncClient) -> None:
    assert_error(await refresh(anonymous, secrets.token_urlsafe(32)), 401, "INVALID_TOKEN")


async def test_expired_refresh_token_is_token_expired(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    async with held(app, Database).transaction() as conn:
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.user_id == uuid.UUID(body["user"]["id"]))
            .values(expires_at=refresh_tokens.c.created_at)
        )
    assert_error(await refresh(anonymous, body["refresh_token"]), 401, "TOKEN_EXPIRED")


async def test_logout_makes_the_refresh_token_unusable(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    body = await signed_up(anonymous)
    async with client_for(app, body["access_token"]) as client:
        response = await client.post(
            "/api/auth/logout", json={"refresh_token": body["refresh_token"]}
        )
    assert response.status_code == 204
    assert_error(await refresh(anonymous, body["refresh_token"]), 401, "INVALID_TOKEN")


async def test_logout_needs_a_bearer_token(anonymous: httpx.AsyncClient) -> None:
    body = await signed_up(anonymous)
    response = await anonymous.post(
        "/api/auth/logout", json={"refresh_token": body["refresh_token"]}
    )
    assert_error(response, 401, "UNAUTHORIZED")
    assert_tokens(await refresh(anonymous, body["refresh_token"]))


async def test_logout_with_someone_elses_refresh_token_changes_nothing(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    victim = await signed_up(anonymous)
    attacker = await signed_up(anonymous)
    async with client_for(app, attacker["access_token"]) as client:
        response = await client.post(
            "/api/auth/logout", json={"refresh_token": victim["refresh_token"]}
        )
    assert response.status_code == 204
    assert_tokens(await refresh(anonymous, victim["refresh_token"]))


# --- token responses are not cached -------------------------------------------------------


async def test_every_token_response_is_no_store(app: FastAPI, anonymous: httpx.AsyncClient) -> None:
    email = unique_email()
    registered = await register(anonymous, email)
    logged_in = await login(anonymous, email)
    form = await anonymous.post("/api/auth/token", data={"username": email, "password": PASSWORD})
    refreshed = await refresh(anonymous, assert_tokens(form)["refresh_token"])
    for response, status in ((registered, 201), (logged_in, 200), (form, 200), (refreshed, 200)):
        assert_tokens(response, status)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


async def test_a_reused_refresh_token_announces_its_sign_in_revoked_once(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    """A reuse tells every process the sign-in is revoked when it revokes it: not again for
    the same token sent again, nor for reuses racing it (each telling is a broadcast that
    waits for every process)."""
    known = held(app, KnownTokens)

    async def told(*reuses: str) -> int:
        """How many revocations the app told while these refresh tokens were sent at once
        (each one told moves `generation`)."""
        before = known.generation
        for response in await asyncio.gather(*(refresh(anonymous, t) for t in reuses)):
            assert_error(response, 401, "INVALID_TOKEN")
        return known.generation - before

    first = await signed_up(anonymous)
    assert_tokens(await refresh(anonymous, first["refresh_token"]))
    await end_reuse_grace(app, first["refresh_token"])
    once = await told(first["refresh_token"])
    assert once > 0
    assert await told(first["refresh_token"]) == 0
    assert await told(*[first["refresh_token"]] * 3) == 0

    racing = await signed_up(anonymous)
    assert_tokens(await refresh(anonymous, racing["refresh_token"]))
    await end_reuse_grace(app, racing["refresh_token"])
    assert await told(*[racing["refresh_token"]] * 5) == once


async def test_a_reuse_tells_its_revocation_with_the_connection_back_in_the_pool(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The revocation's broadcast takes a pooled connection (PostgreSQL's channel): the
    route has given its own back by then, so a pool of one is enough to send it."""
    if settings.is_sqlite:
        pytest.skip("the broadcast takes a pooled connection on PostgreSQL")
    assert settings.database_url is not None
    one = make_settings(settings.database_url, tmp_path, database_pool_size=1)
    async with app_for(one) as app, client_for(app) as client:
        with captured_logs(caplog):
            body = await signed_up(client)
            assert_tokens(await refresh(client, body["refresh_token"]))
            await end_reuse_grace(app, body["refresh_token"])
            assert_error(await refresh(client, body["refresh_token"]), 401, "INVALID_TOKEN")
    # (How many processes confirmed it is another matter: other tests' apps listen too.)
    assert not [r.message for r in caplog.records if "sending a token revocation" in r.message]
