"""Bearer tokens through HTTP: every 401 the contract names, the leeway, issuer and audience,
and the user row a first valid token creates."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from sqlalchemy import select

from tests.support import (
    TEST_SECRET,
    UNKNOWN_ID,
    app_for,
    assert_error,
    client_for,
    make_settings,
    token_for,
)
from todo_api.auth.tokens import TokenVerifier, user_id_for_subject
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.tables.users import users

ISSUER = "https://auth.example.test"
AUDIENCE = "todo-api"
OTHER_SECRET = "another-secret-that-is-also-long-enough-for-hs256-9876543210"


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for a fresh subject; an override of None removes the claim."""
    now = int(time.time())
    values: dict[str, Any] = {"sub": str(uuid.uuid4()), "iat": now, "exp": now + 300}
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def sign(payload: dict[str, Any], key: Any = TEST_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unsigned_token() -> str:
    """alg "none", built by hand: header.payload. with an empty signature."""
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims())}."


def hs256_token_with_header(header: dict[str, Any]) -> str:
    """Correctly HS256-signed, but with a header PyJWT's encoder would never write."""
    signing_input = f"{b64url(header)}.{b64url(claims())}"
    digest = hmac.new(TEST_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def rs256_token() -> str:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return sign(claims(), private_key, "RS256")


def assert_invalid_token(response: httpx.Response, code: str = "INVALID_TOKEN") -> None:
    assert assert_error(response, 401, code)["details"] is None
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge


async def get_tasks(app: FastAPI, token: str) -> httpx.Response:
    async with client_for(app, token) as client:
        return await client.get("/api/tasks")


# --- UNAUTHORIZED ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic abc", "Bearer", "Bearer ", "Token abc"],
    ids=["no-header", "basic", "bearer-alone", "bearer-space", "other-scheme"],
)
async def test_missing_or_non_bearer_credentials_are_unauthorized(
    anonymous: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await anonymous.get("/api/tasks", headers=headers)
    assert assert_error(response, 401, "UNAUTHORIZED")["details"] is None
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/tasks"),
        ("POST", "/api/tasks"),
        ("GET", f"/api/tasks/{UNKNOWN_ID}"),
        ("PUT", f"/api/tasks/{UNKNOWN_ID}"),
        ("DELETE", f"/api/tasks/{UNKNOWN_ID}"),
    ],
)
async def test_every_task_route_needs_a_token(
    anonymous: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await anonymous.request(method, path, json={"title": "x"})
    assert assert_error(response, 401, "UNAUTHORIZED")["details"] is None


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_malformed_task_id_without_a_token_is_unauthorized(
    anonymous: httpx.AsyncClient, method: str
) -> None:
    response = await anonymous.request(method, "/api/tasks/not-a-uuid")
    assert assert_error(response, 401, "UNAUTHORIZED")["details"] is None


async def test_bearer_scheme_is_case_insensitive(app: FastAPI, settings: Settings) -> None:
    async with client_for(app) as client:
        response = await client.get(
            "/api/tasks", headers={"Authorization": f"bearer {token_for(settings)}"}
        )
    assert response.status_code == 200


# --- INVALID_TOKEN -----------------------------------------------------------------------

INVALID_TOKENS: dict[str, Callable[[], str]] = {
    "other-secret": lambda: sign(claims(), OTHER_SECRET),
    "garbage": lambda: "not-a-jwt",
    "three-garbage-parts": lambda: "abc.def.ghi",
    "alg-none": unsigned_token,
    "hs512-right-secret": lambda: sign(claims(), TEST_SECRET, "HS512"),
    "rs256": rs256_token,
    "missing-sub": lambda: sign(claims(sub=None)),
    "missing-exp": lambda: sign(claims(exp=None)),
    "sub-not-a-string": lambda: sign(claims(sub=12345)),
    "sub-empty": lambda: sign(claims(sub="")),
    "sub-too-long": lambda: sign(claims(sub="x" * 256)),
    "exp-not-a-number": lambda: sign(claims(exp="tomorrow")),
    "truncated-signature": lambda: sign(claims())[:-4],
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 case
@pytest.mark.parametrize("make_token", INVALID_TOKENS.values(), ids=INVALID_TOKENS.keys())
async def test_bad_tokens_are_invalid_token(app: FastAPI, make_token: Callable[[], str]) -> None:
    assert_invalid_token(await get_tasks(app, make_token()))


@pytest.fixture
async def jwks_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app that also accepts an external issuer's keys (from a URL nothing answers at)."""
    jwks = make_settings(
        f"sqlite:///{tmp_path / 'todo.db'}", tmp_path, jwt_jwks_url="http://127.0.0.1:1/jwks"
    )
    async with app_for(jwks) as app:
        yield app


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": ["RS256"], "typ": "JWT"}, id="alg-list"),
        pytest.param({"alg": {"name": "RS256"}, "typ": "JWT"}, id="alg-object"),
        pytest.param({"alg": None, "typ": "JWT"}, id="alg-null"),
        pytest.param({"typ": "JWT"}, id="alg-missing"),
        pytest.param({"alg": "HS256", "kid": 5}, id="kid-not-a-string"),
    ],
)
async def test_malformed_header_is_invalid_token_with_jwks_configured(
    jwks_app: FastAPI, header: dict[str, Any]
) -> None:
    assert_invalid_token(await get_tasks(jwks_app, hs256_token_with_header(header)))


async def test_invalid_token_body_does_not_echo_the_token(app: FastAPI) -> None:
    token = sign(claims(), OTHER_SECRET)
    response = await get_tasks(app, token)
    assert_invalid_token(response)
    assert token not in response.text
    assert token not in response.headers["www-authenticate"]


async def test_longest_allowed_subject_is_accepted(app: FastAPI) -> None:
    response = await get_tasks(app, sign(claims(sub="s" * 255)))
    assert response.status_code == 200


# Subjects no user can have: UTF-8 cannot encode a lone surrogate, and control characters
# (C0, DEL, C1) have no place in an id.
UNUSABLE_TEXT = {
    "lone-high-surrogate": "\ud800",
    "lone-low-surrogate-at-the-end": "user-\udfff",
    "nul": "user\x00id",
    "newline": "user\nid",
    "carriage-return": "user\rid",
    "tab": "user\tid",
    "escape": "\x1b[31muser",
    "del": "user\x7f",
    "c1-next-line": "user\x85id",
}


@pytest.mark.parametrize("subject", UNUSABLE_TEXT.values(), ids=UNUSABLE_TEXT.keys())
@pytest.mark.parametrize("route", ["/api/tasks", "/api/auth/me"])
async def test_validly_signed_token_with_an_unusable_subject_is_invalid_token(
    app: FastAPI, subject: str, route: str
) -> None:
    async with client_for(app, sign(claims(sub=subject))) as client:
        response = await client.get(route)
    assert_invalid_token(response)


async def test_subject_with_other_unicode_is_accepted(app: FastAPI) -> None:
    for subject in ("Ünïcødé-ユーザー", "emoji-\U0001f600", "nonchar-\ufffe"):
        async with client_for(app, sign(claims(sub=subject))) as client:
            me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == str(user_id_for_subject(subject))


@pytest.mark.parametrize("text", UNUSABLE_TEXT.values(), ids=UNUSABLE_TEXT.keys())
async def test_unusable_email_claim_is_ignored_and_a_names_control_characters_dropped(
    app: FastAPI, text: str
) -> None:
    """A name is one line: its control characters are dropped (no error); one that still
    cannot be stored (a lone surrogate) is ignored, as an unusable email is."""
    email = f"{text}-{uuid.uuid4().hex[:8]}@example.com"
    kept = "".join(ch for ch in text if ch.isprintable())
    surrogate = any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    named = None if surrogate else f"Ada {kept} Lovelace"
    for extra, name in (({"email": email}, None), ({"name": f"Ada {text} Lovelace"}, named)):
        async with client_for(app, sign(claims(**extra))) as client:
            created = await client.post("/api/tasks", json={"title": "still works"})
            me = await client.get("/api/auth/me")
        assert created.status_code == 201, created.text
        assert me.status_code == 200, me.text
        assert me.json()["email"] is None
        assert me.json()["name"] == name


# A NumericDate (RFC 7519) is a JSON number of seconds: anything else in `exp`, `iat` or
# `nbf` makes the token invalid, as does a time no calendar has (past year 9999).
# Each is given the number that would be valid for the claim (what a careless issuer would
# have written as text, say).
NOT_NUMERIC_DATES: dict[str, Callable[[int], Any]] = {
    "numeric-string": lambda seconds: str(seconds),
    "float-string": lambda seconds: f"{seconds}.0",
    "true": lambda _: True,
    "false": lambda _: False,
    "null": lambda _: None,
    "list": lambda seconds: [seconds],
    "object": lambda seconds: {"seconds": seconds},
    "huge-positive": lambda _: 10**400,
    "huge-negative": lambda _: -(10**400),
    "past-year-9999": lambda _: 253402300800,
    "before-year-1": lambda _: -62135596801,
    "infinite": lambda _: float("inf"),
    "negative-infinite": lambda _: float("-inf"),
    "nan": lambda _: float("nan"),
}


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", NOT_NUMERIC_DATES.values(), ids=NOT_NUMERIC_DATES.keys())
async def test_time_claim_that_is_not_a_number_is_invalid_token(
    app: FastAPI, claim: str, value: Callable[[int], Any]
) -> None:
    now = int(time.time())
    token = sign({**claims(), claim: value(now + 300 if claim == "exp" else now - 10)})
    assert_invalid_token(await get_tasks(app, token), "INVALID_TOKEN")
    # Asking again (a verified token would be remembered) changes nothing.
    assert_invalid_token(await get_tasks(app, token), "INVALID_TOKEN")


async def test_fractional_time_claims_are_numbers(app: FastAPI) -> None:
    now = time.time()
    token = sign(claims(iat=now - 1.5, nbf=now - 1.5, exp=now + 300.25))
    assert (await get_tasks(app, token)).status_code == 200


async def test_token_not_yet_valid_beyond_the_leeway_is_invalid_token(app: FastAPI) -> None:
    now = int(time.time())
    assert_invalid_token(await get_tasks(app, sign(claims(nbf=now + 120))), "INVALID_TOKEN")
    assert_invalid_token(await get_tasks(app, sign(claims(iat=now + 120))), "INVALID_TOKEN")
    assert (await get_tasks(app, sign(claims(nbf=now + 10, iat=now + 10)))).status_code == 200


# --- TOKEN_EXPIRED and the leeway ---------------------------------------------------------


async def test_token_expired_beyond_the_leeway_is_token_expired(
    app: FastAPI, settings: Settings
) -> None:
    assert settings.jwt_leeway_seconds == 30
    now = int(time.time())
    response = await get_tasks(app, sign(claims(iat=now - 600, exp=now - 120)))
    assert_invalid_token(response, "TOKEN_EXPIRED")


async def test_token_expired_within_the_leeway_is_accepted(app: FastAPI) -> None:
    now = int(time.time())
    response = await get_tasks(app, sign(claims(iat=now - 600, exp=now - 10)))
    assert response.status_code == 200


async def test_expired_token_with_a_bad_signature_is_invalid_not_expired(app: FastAPI) -> None:
    now = int(time.time())
    token = sign(claims(iat=now - 600, exp=now - 120), OTHER_SECRET)
    assert_invalid_token(await get_tasks(app, token), "INVALID_TOKEN")


# --- a verified token is remembered, never beyond its expiry ------------------------------


@pytest.fixture
async def no_leeway_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    assert settings.database_url is not None
    async with app_for(make_settings(settings.database_url, tmp_path, jwt_leeway_seconds=0)) as app:
        yield app


async def test_a_remembered_token_still_expires_on_time(no_leeway_app: FastAPI) -> None:
    now = time.time()
    token = sign(claims(iat=int(now), exp=int(now) + 5))
    assert (await get_tasks(no_leeway_app, token)).status_code == 200
    assert (await get_tasks(no_leeway_app, token)).status_code == 200  # remembered
    assert len(held(no_leeway_app, TokenVerifier).verified) >= 1
    await asyncio.sleep(max(0.0, int(now) + 5.2 - time.time()))
    assert_invalid_token(await get_tasks(no_leeway_app, token), "TOKEN_EXPIRED")


async def test_a_remembered_token_with_another_signature_is_invalid(app: FastAPI) -> None:
    token = sign(claims())
    assert (await get_tasks(app, token)).status_code == 200
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert_invalid_token(await get_tasks(app, forged), "INVALID_TOKEN")
    assert_invalid_token(await get_tasks(app, f"{head}.{payload}."), "INVALID_TOKEN")
    assert (await get_tasks(app, token)).status_code == 200


# --- issuer and audience -------------------------------------------------------------------


@pytest.fixture
async def strict_app(settings: Settings, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """An app on the migrated test database that requires an issuer and an audience."""
    assert settings.database_url is not None
    strict = make_settings(
        settings.database_url, tmp_path, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    async with app_for(strict) as app:
        yield app


async def test_right_issuer_and_audience_are_accepted(strict_app: FastAPI) -> None:
    response = await get_tasks(strict_app, sign(claims(iss=ISSUER, aud=AUDIENCE)))
    assert response.status_code == 200


async def test_audience_list_containing_ours_is_accepted(strict_app: FastAPI) -> None:
    token = sign(claims(iss=ISSUER, aud=["other-service", AUDIENCE]))
    assert (await get_tasks(strict_app, token)).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example.test", "aud": AUDIENCE},
        {"aud": AUDIENCE},
        {"iss": ISSUER, "aud": "another-api"},
        {"iss": ISSUER},
    ],
    ids=["wrong-issuer", "missing-issuer", "wrong-audience", "missing-audience"],
)
async def test_wrong_or_missing_issuer_or_audience_is_invalid_token(
    strict_app: FastAPI, overrides: dict[str, str]
) -> None:
    assert_invalid_token(await get_tasks(strict_app, sign(claims(**overrides))))


async def test_aud_and_iss_claims_are_ignored_when_none_is_configured(
    app: FastAPI, settings: Settings
) -> None:
    # Documented behaviour: without JWT_AUDIENCE / JWT_ISSUER the verifier does not look at
    # `aud` / `iss`, so a token minted for some other audience is accepted.
    assert settings.jwt_audience is None
    assert settings.jwt_issuer is None
    token = sign(claims(aud="some-other-api", iss="https://anyone.example.test"))
    assert (await get_tasks(app, token)).status_code == 200


# --- the user a first valid token creates ---------------------------------------------------


async def user_email(app: FastAPI, user_id: str) -> str | None:
    async with held(app, Database).connection() as conn:
        result = await conn.execute(select(users.c.email).where(users.c.id == uuid.UUID(user_id)))
        row = result.one()
    email: str | None = row.email
    return email


async def create_task(app: FastAPI, token: str) -> dict[str, Any]:
    async with client_for(app, token) as client:
        response = await client.post("/api/tasks", json={"title": "first"})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def test_first_request_creates_the_user_with_a_normalised_email(
    app: FastAPI, settings: Settings
) -> None:
    subject = str(uuid.uuid4())
    email = f"  Mixed.Case-{uuid.uuid4().hex[:8]}@Example.COM "
    task = await create_task(app, token_for(settings, subject, email))
    assert task["user_id"] == subject
    assert await user_email(app, task["user_id"]) == email.strip().lower()


async def test_non_uuid_subject_maps_to_one_stable_user(app: FastAPI, settings: Settings) -> None:
    subject = f"better-auth-{uuid.uuid4().hex}"
    first = await create_task(app, token_for(settings, subject))
    second = await create_task(app, token_for(settings, subject))
    assert first["user_id"] == second["user_id"] == str(user_id_for_subject(subject))
    async with client_for(app, token_for(settings, subject)) as client:
        listed = (await client.get("/api/tasks")).json()
    assert {task["id"] for task in listed} == {first["id"], second["id"]}


async def test_two_subjects_with_the_same_email_both_work(app: FastAPI, settings: Settings) -> None:
    local = f"shared-{uuid.uuid4().hex[:8]}"
    first = await create_task(app, token_for(settings, email=f"{local}@example.com"))
    second = await create_task(app, token_for(settings, email=f"{local.upper()}@EXAMPLE.COM"))
    assert first["user_id"] != second["user_id"]
    assert await user_email(app, first["user_id"]) == f"{local}@example.com"
    assert await user_email(app, second["user_id"]) is None


async def test_unusable_email_claim_is_ignored(app: FastAPI) -> None:
    task = await create_task(app, sign(claims(email=12345)))
    assert await user_email(app, task["user_id"]) is None
