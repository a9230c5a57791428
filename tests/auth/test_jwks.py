"""Tokens from an external issuer, verified against its JWKS served by a real local HTTP server.

The issuer is shaped like Better Auth's JWT plugin: keys at /api/auth/jwks with a `kid`, EdDSA
(Ed25519) by default and ES256, ES512, RS256 / PS256 as options, `iss` and `aud` set to the
frontend's URL.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI
from jwt.algorithms import ECAlgorithm

from tests.auth.jwks_server import (
    JwksServer,
    SigningKey,
    b64url,
    ed25519_key,
    p256_key,
    p521_key,
    random_id,
    rsa_key,
)
from tests.support import TEST_SECRET, app_factory, assert_error, client_for
from todo_api.auth.tokens import mint_token, user_id_for_subject
from todo_api.config import Settings
from todo_api.kit.deps import held

ISSUER = "http://localhost:3000"  # Better Auth's default iss and aud: the app's base URL
REQUEST_TIMEOUT = 20.0


@dataclass(frozen=True)
class Keys:
    ed25519: SigningKey
    p256: SigningKey
    p521: SigningKey
    rsa: SigningKey
    rsa_pss: SigningKey  # an RSA key published with "alg": "PS256"
    rsa_impostor: SigningKey  # not published; signs with the published RSA key's kid

    @property
    def published(self) -> list[SigningKey]:
        return [self.ed25519, self.p256, self.p521, self.rsa, self.rsa_pss]


@pytest.fixture(scope="module")
def keys() -> Keys:
    """The issuer's keys, generated once per module (RSA generation is slow)."""
    return Keys(ed25519_key(), p256_key(), p521_key(), rsa_key(), rsa_key("PS256"), rsa_key())


@pytest.fixture
def issuer(keys: Keys) -> Iterator[JwksServer]:
    """A running issuer that publishes a public key for each algorithm: Ed25519, P-256,
    P-521, RSA for RS256 and RSA for PS256."""
    server = JwksServer([key.jwk() for key in keys.published]).start()
    yield server
    server.stop()


@pytest.fixture
async def make_app(settings: Settings, tmp_path: Path) -> AsyncIterator[Callable[..., FastAPI]]:
    """Builds apps on the migrated test database that trust a JWKS URL; closes them after."""
    assert settings.database_url is not None
    async with app_factory(
        settings.database_url, tmp_path, jwt_issuer=ISSUER, jwt_audience=ISSUER
    ) as build:

        def make(jwks_url: str, min_refetch_seconds: float = 1) -> FastAPI:
            return build(jwt_jwks_url=jwks_url, jwt_jwks_min_refetch_seconds=min_refetch_seconds)

        yield make


@pytest.fixture
def jwks_app(make_app: Callable[..., FastAPI], issuer: JwksServer) -> FastAPI:
    return make_app(issuer.url)


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for a fresh subject; an override of None removes the claim."""
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": random_id(),
        "iss": ISSUER,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 15 * 60,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def better_auth_token(key: SigningKey, email: str, name: str) -> str:
    """A token exactly as Better Auth's JWT plugin signs it: the session's user object as the
    payload, plus iat, iss, aud, exp (15 minutes) and sub = the user's id; header alg + kid."""
    now = int(time.time())
    user_id = random_id()
    created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload = {
        "iat": now,
        "id": user_id,
        "email": email,
        "emailVerified": False,
        "name": name,
        "image": None,
        "createdAt": created,
        "updatedAt": created,
        "sub": user_id,
        "exp": now + 15 * 60,
        "iss": ISSUER,
        "aud": ISSUER,
    }
    return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})


def unique_email() -> str:
    return f"jwks-{secrets.token_hex(6)}@example.com"


async def get_tasks(app: FastAPI, token: str) -> httpx.Response:
    async with client_for(app, token) as client:
        return await client.get("/api/tasks", timeout=REQUEST_TIMEOUT)


async def assert_creates_and_lists_tasks(app: FastAPI, token: str) -> dict[str, Any]:
    async with client_for(app, token) as client:
        created = await client.post(
            "/api/tasks", json={"title": "from the issuer"}, timeout=REQUEST_TIMEOUT
        )
        assert created.status_code == 201, created.text
        listed = await client.get("/api/tasks", timeout=REQUEST_TIMEOUT)
    assert listed.status_code == 200, listed.text
    task: dict[str, Any] = created.json()
    assert [t["id"] for t in listed.json()] == [task["id"]]
    return task


def assert_invalid_token(response: httpx.Response, code: str = "INVALID_TOKEN") -> None:
    assert assert_error(response, 401, code)["details"] is None
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def assert_auth_unavailable(response: httpx.Response) -> None:
    assert assert_error(response, 503, "AUTH_UNAVAILABLE")["details"] is None
    retry_after = response.headers["retry-after"]
    assert retry_after.isdigit()
    assert int(retry_after) >= 1


# --- tokens that pass ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key_name",
    ["ed25519", "p256", "p521", "rsa", "rsa_pss"],
    ids=["EdDSA", "ES256", "ES512", "RS256", "PS256"],
)
async def test_token_signed_with_each_key_type_creates_and_lists_tasks(
    jwks_app: FastAPI, keys: Keys, key_name: str
) -> None:
    key: SigningKey = getattr(keys, key_name)
    subject = random_id()
    task = await assert_creates_and_lists_tasks(jwks_app, key.sign(claims(sub=subject)))
    assert task["user_id"] == str(user_id_for_subject(subject))


async def test_better_auth_jwt_plugin_token_works_end_to_end(
    make_app: Callable[..., FastAPI], keys: Keys
) -> None:
    # Better Auth publishes {"alg": "EdDSA", "crv": "Ed25519", "x": ..., "kty": "OKP", "kid"}.
    server = JwksServer([keys.ed25519.jwk()]).start()
    try:
        app = make_app(server.url)
        email, name = unique_email(), "Ada Lovelace"
        token = better_auth_token(keys.ed25519, email, name)
        task = await assert_creates_and_lists_tasks(app, token)
        async with client_for(app, token) as client:
            me = await client.get("/api/auth/me", timeout=REQUEST_TIMEOUT)
    finally:
        server.stop()
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["id"] == task["user_id"]
    assert body["email"] == email
    assert body["name"] == name


async def test_jwk_without_alg_is_used_with_its_key_types_algorithm(
    make_app: Callable[..., FastAPI], keys: Keys
) -> None:
    by_default = [keys.ed25519, keys.p256, keys.p521, keys.rsa]
    server = JwksServer([key.jwk(with_alg=False) for key in by_default]).start()
    try:
        app = make_app(server.url)
        for key in by_default:
            assert (await get_tasks(app, key.sign(claims()))).status_code == 200
        # An RSA key without "alg" is an RS256 key: a PS256 token is not verified with it.
        assert_invalid_token(await get_tasks(app, keys.rsa.sign(claims(), algorithm="PS256")))
    finally:
        server.stop()


async def test_rsa_key_published_for_ps256_verifies_only_ps256(
    jwks_app: FastAPI, keys: Keys
) -> None:
    assert keys.rsa_pss.jwk()["alg"] == "PS256"
    assert (await get_tasks(jwks_app, keys.rsa_pss.sign(claims()))).status_code == 200
    rs256 = keys.rsa_pss.sign(claims(), algorithm="RS256")
    assert_invalid_token(await get_tasks(jwks_app, rs256))


async def test_malformed_or_mismatched_keys_in_the_set_are_skipped(
    make_app: Callable[..., FastAPI], keys: Keys
) -> None:
    """A key that cannot be built, or whose `alg` does not fit its type, is left out; the
    rest of the set works."""
    p256 = keys.p256.jwk()
    broken = [
        {**p256, "kid": "short-coordinates", "x": b64url(b"\x01" * 8)},
        {"kty": "RSA", "kid": "no-modulus", "e": "AQAB", "alg": "RS256"},
        {**p256, "kid": "p256-claiming-es512", "alg": "ES512"},
        {**keys.p521.jwk(), "kid": "p521-claiming-es256", "alg": "ES256"},
        {**keys.rsa.jwk(), "kid": "rsa-claiming-es256", "alg": "ES256"},
        {**keys.ed25519.jwk(), "kid": 12345},
    ]
    server = JwksServer([*broken, *(key.jwk() for key in keys.published)]).start()
    try:
        app = make_app(server.url)
        for key in keys.published:
            assert (await get_tasks(app, key.sign(claims()))).status_code == 200
        # The skipped entries verify nothing, even for the key they hold.
        skipped = keys.p521.sign(claims(), kid="p521-claiming-es256")
        assert_invalid_token(await get_tasks(app, skipped))
    finally:
        server.stop()


async def test_hs256_with_the_shared_secret_works_alongside_jwks(
    jwks_app: FastAPI, issuer: JwksServer, keys: Keys
) -> None:
    settings: Settings = held(jwks_app, Settings)
    hs256 = mint_token(settings, subject=random_id())
    assert jwt.get_unverified_header(hs256)["alg"] == "HS256"
    await assert_creates_and_lists_tasks(jwks_app, hs256)
    assert issuer.requests == 0  # a shared-secret token never needs the issuer
    await assert_creates_and_lists_tasks(jwks_app, keys.ed25519.sign(claims()))
    assert (await get_tasks(jwks_app, hs256)).status_code == 200


async def test_keys_are_cached_across_requests(
    jwks_app: FastAPI, issuer: JwksServer, keys: Keys
) -> None:
    for key in keys.published * 3:
        assert (await get_tasks(jwks_app, key.sign(claims()))).status_code == 200
    assert issuer.requests == 1


def test_unknown_kids_refetch_at_most_once_a_second_by_default() -> None:
    settings = Settings(_env_file=None, jwt_jwks_url="http://127.0.0.1:9/jwks")  # type: ignore[call-arg]
    assert settings.jwt_jwks_min_refetch_seconds == 1


async def test_rotated_in_key_is_picked_up_on_first_use(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys
) -> None:
    app = make_app(issuer.url, min_refetch_seconds=0.3)
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    assert issuer.requests == 1
    rotated = ed25519_key()
    issuer.publish(rotated.jwk(), *(key.jwk() for key in keys.published))

    # At once, within the refetch interval: the request waits for the next fetch.
    assert (await get_tasks(app, rotated.sign(claims()))).status_code == 200
    assert issuer.requests == 2
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    assert issuer.requests == 2


async def test_withdrawn_key_stops_working_once_the_set_is_fetched_again(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys
) -> None:
    """A token already verified (and remembered) with a key the issuer has since withdrawn is
    refused as soon as the key set is fetched again, not when the memory runs out."""
    app = make_app(issuer.url, min_refetch_seconds=0.2)
    withdrawn_token = keys.ed25519.sign(claims())
    kept_token = keys.p256.sign(claims())
    for token in (withdrawn_token, kept_token):
        assert (await get_tasks(app, token)).status_code == 200
        assert (await get_tasks(app, token)).status_code == 200  # remembered
    assert issuer.requests == 1

    rotated = ed25519_key()
    issuer.publish(rotated.jwk(), *(key.jwk() for key in keys.published if key != keys.ed25519))
    await asyncio.sleep(0.3)
    # The rotated-in key's first use fetches the set again.
    assert (await get_tasks(app, rotated.sign(claims()))).status_code == 200
    assert issuer.requests == 2

    assert_invalid_token(await get_tasks(app, withdrawn_token))
    assert_invalid_token(await get_tasks(app, keys.ed25519.sign(claims())))
    # Tokens of the keys still published go on working, from memory: no fetch for them.
    requests = issuer.requests
    assert (await get_tasks(app, kept_token)).status_code == 200
    assert (await get_tasks(app, keys.p256.sign(claims()))).status_code == 200
    assert issuer.requests == requests


async def test_withdrawn_key_stops_working_after_the_periodic_refresh(
    make_app: Callable[..., FastAPI],
    issuer: JwksServer,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same when the set is refreshed because it grew old (in the background)."""
    clock = ShiftedClock()
    monkeypatch.setattr("todo_api.auth.jwks.time", clock)
    app = make_app(issuer.url, min_refetch_seconds=0.2)
    withdrawn_token = keys.ed25519.sign(claims())
    assert (await get_tasks(app, withdrawn_token)).status_code == 200
    issuer.publish(*(key.jwk() for key in keys.published if key != keys.ed25519))
    clock.offset = 11 * 60  # the cached keys are now 11 minutes old

    # A request with a published key starts the refresh; the withdrawn token is refused once
    # it has landed (within moments, not the memory's 60 s).
    assert (await get_tasks(app, keys.p256.sign(claims()))).status_code == 200
    deadline = time.monotonic() + 10
    response = await get_tasks(app, withdrawn_token)
    while response.status_code == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        response = await get_tasks(app, withdrawn_token)
    assert_invalid_token(response)


async def test_concurrent_first_uses_of_a_rotated_in_key_all_pass(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys
) -> None:
    """Requests with a new kid that arrive while its refetch is under way wait for that fetch
    (and share it) instead of being refused."""
    app = make_app(issuer.url, min_refetch_seconds=1.0)
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    rotated = ed25519_key()
    issuer.publish(rotated.jwk(), *(key.jwk() for key in keys.published))
    issuer.delay = 0.2  # the refetch takes a moment, as over a real network

    async with client_for(app) as client:
        responses = await asyncio.gather(
            *(
                client.get(
                    "/api/tasks",
                    headers={"Authorization": f"Bearer {rotated.sign(claims())}"},
                    timeout=REQUEST_TIMEOUT,
                )
                for _ in range(10)
            )
        )
    assert [r.status_code for r in responses] == [200] * 10
    assert issuer.requests == 2


async def send_made_up_kids(app: FastAPI, stop: asyncio.Event, sent: list[int]) -> None:
    """Requests with tokens of a stranger's key under made-up kids, one after another."""
    stranger = ed25519_key()
    async with client_for(app) as client:
        while not stop.is_set():
            token = stranger.sign(claims(), kid=f"made-up-{random_id(12)}")
            response = await client.get(
                "/api/tasks",
                headers={"Authorization": f"Bearer {token}"},
                timeout=REQUEST_TIMEOUT,
            )
            assert_invalid_token(response)
            sent.append(1)
            await asyncio.sleep(0.02)  # a steady stream, not a busy loop


async def test_rotation_is_picked_up_within_the_interval_while_made_up_kids_are_sent(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys
) -> None:
    interval = 1.0
    app = make_app(issuer.url, min_refetch_seconds=interval)
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    stop, sent = asyncio.Event(), []
    started = time.monotonic()
    flood = [asyncio.create_task(send_made_up_kids(app, stop, sent)) for _ in range(20)]
    try:
        await asyncio.sleep(2 * interval)  # the made-up kids keep the refetch interval in use
        rotated = ed25519_key()
        issuer.publish(rotated.jwk(), *(key.jwk() for key in keys.published))
        asked_at = time.monotonic()
        response = await get_tasks(app, rotated.sign(claims()))
        waited = time.monotonic() - asked_at
        assert response.status_code == 200, response.text
        # Another user of the rotated key, a moment later, is answered from the cache.
        assert (await get_tasks(app, rotated.sign(claims()))).status_code == 200
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*flood), REQUEST_TIMEOUT)
    elapsed = time.monotonic() - started
    assert waited < interval + 2, waited  # the next fetch, not a wait behind the strangers
    assert len(sent) >= 20
    # However many made-up kids came, the issuer was asked about once per interval.
    assert issuer.requests - 1 <= elapsed / interval + 2, (issuer.requests, elapsed)


@pytest.mark.parametrize("cache", ["keys-cached", "cold-cache"])
async def test_flood_of_unknown_kids_makes_a_bounded_number_of_fetches(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys, cache: str
) -> None:
    app = make_app(issuer.url, min_refetch_seconds=1.0)
    before = 0
    if cache == "keys-cached":
        assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
        before = issuer.requests
        assert before == 1
    stranger = ed25519_key()
    tokens = [stranger.sign(claims(), kid=f"made-up-{n}-{random_id(8)}") for n in range(200)]

    started = time.monotonic()
    async with client_for(app) as client:
        responses = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.get(
                        "/api/tasks",
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=REQUEST_TIMEOUT,
                    )
                    for token in tokens
                )
            ),
            REQUEST_TIMEOUT,
        )
    elapsed = time.monotonic() - started

    # The fetch under way when a request came, and the next one, shared by all: about one per
    # interval while the flood lasts, however many kids it made up.
    assert issuer.requests - before <= 2 + elapsed / 1.0, (issuer.requests, elapsed)
    assert issuer.requests - before < len(tokens) / 20
    for response in responses:
        assert_invalid_token(response)
    # The known keys are still there, and answer without asking the issuer.
    after = issuer.requests
    for key in keys.published:
        assert (await get_tasks(app, key.sign(claims()))).status_code == 200
    assert issuer.requests == after


# --- the issuer is down -------------------------------------------------------------------


def take_down(server: JwksServer, how: str) -> None:
    if how == "stopped":
        server.stop()
    elif how == "500":
        server.status = 500
    elif how == "not-json":
        server.not_json = True
    elif how == "no-usable-key":
        server.publish({"kty": "oct", "k": b64url(secrets.token_bytes(32)), "kid": "oct"})
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["stopped", "500", "not-json", "no-usable-key"])
async def test_issuer_down_while_keys_are_cached_changes_nothing(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys, how: str
) -> None:
    app = make_app(issuer.url, min_refetch_seconds=0.2)
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    take_down(issuer, how)
    await asyncio.sleep(0.3)

    # An unknown kid makes the verifier try the issuer, which fails: still a plain 401 ...
    assert_invalid_token(await get_tasks(app, ed25519_key().sign(claims())))
    # ... and the cached keys survive the failed fetch.
    for key in keys.published:
        await assert_creates_and_lists_tasks(app, key.sign(claims()))


@pytest.mark.parametrize("how", ["stopped", "500", "not-json", "no-usable-key"])
async def test_issuer_down_with_no_key_fetched_is_503_auth_unavailable(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys, how: str
) -> None:
    take_down(issuer, how)
    app = make_app(issuer.url)
    response = await get_tasks(app, keys.ed25519.sign(claims()))
    assert_auth_unavailable(response)
    # Within the refetch interval the issuer is not asked again, and the answer stays 503.
    requests = issuer.requests
    assert_auth_unavailable(await get_tasks(app, keys.p256.sign(claims())))
    assert issuer.requests == requests


class ShiftedClock:
    """Stands in for the `time` module of todo_api.auth.jwks: its monotonic clock runs ahead
    by `offset` seconds, so cached keys can be made old without waiting."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


async def test_hanging_issuer_does_not_delay_tokens_when_cached_keys_are_old(
    make_app: Callable[..., FastAPI],
    issuer: JwksServer,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys past their maximum age are refreshed without making requests wait: a known key
    answers at once even while the issuer hangs."""
    clock = ShiftedClock()
    monkeypatch.setattr("todo_api.auth.jwks.time", clock)
    app = make_app(issuer.url, min_refetch_seconds=0.2)
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
    issuer.delay = 30  # the issuer accepts connections and never answers (until teardown)
    clock.offset = 11 * 60  # the cached keys are now 11 minutes old

    async def request() -> int:
        return (await get_tasks(app, keys.ed25519.sign(claims()))).status_code

    try:
        # Well under the issuer's 30 s hang.
        statuses = await asyncio.wait_for(asyncio.gather(*(request() for _ in range(5))), 8)
    except TimeoutError:
        pytest.fail("requests with a cached key waited on the hanging issuer")
    assert statuses == [200] * 5


async def test_issuer_back_after_an_outage_is_used_again(
    make_app: Callable[..., FastAPI], issuer: JwksServer, keys: Keys
) -> None:
    issuer.status = 500
    app = make_app(issuer.url, min_refetch_seconds=0.2)
    assert_auth_unavailable(await get_tasks(app, keys.ed25519.sign(claims())))
    issuer.status = 200
    await asyncio.sleep(0.3)
    await assert_creates_and_lists_tasks(app, keys.ed25519.sign(claims()))


async def test_asymmetric_token_without_a_jwks_url_is_invalid_token(
    app: FastAPI, keys: Keys
) -> None:
    assert held(app, Settings).jwt_jwks_url is None
    assert_invalid_token(await get_tasks(app, keys.ed25519.sign(claims(iss=None, aud=None))))


# --- attack tokens ------------------------------------------------------------------------

OCT_SECRET = secrets.token_bytes(32)
OCT_KID = "symmetric-key-in-the-jwks"


def encode_part(data: dict[str, Any]) -> str:
    return b64url(json.dumps(data, separators=(",", ":")).encode())


def hs256_by_hand(header: dict[str, Any], payload: dict[str, Any], secret: bytes) -> str:
    """HS256 with any bytes as the secret (PyJWT refuses PEM keys as HMAC secrets)."""
    signing_input = f"{encode_part({'typ': 'JWT', **header})}.{encode_part(payload)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def public_pem(key: SigningKey) -> bytes:
    pem: bytes = key.public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return pem


def alg_none(keys: Keys) -> str:
    return f"{encode_part({'alg': 'none', 'kid': keys.ed25519.kid})}.{encode_part(claims())}."


def tampered_payload(keys: Keys) -> str:
    header, _, signature = keys.ed25519.sign(claims()).split(".")
    return f"{header}.{encode_part(claims(sub='someone-else'))}.{signature}"


def expired(keys: Keys) -> str:
    now = int(time.time())
    return keys.ed25519.sign(claims(iat=now - 1200, exp=now - 300))


# A P-384 key, which the attack issuer publishes: a curve this service does not take.
P384 = SigningKey("ES384", ec.generate_private_key(ec.SECP384R1()), kid="p-384-key")
P384_JWK = {**ECAlgorithm.to_jwk(P384.public_key, as_dict=True), "kid": P384.kid, "alg": "ES384"}


def es384_with_a_published_p384_key(keys: Keys) -> str:
    return P384.sign(claims())


ATTACKS = [
    pytest.param(alg_none, "INVALID_TOKEN", id="alg-none"),
    pytest.param(
        lambda k: hs256_by_hand({"alg": "HS256"}, claims(), public_pem(k.ed25519)),
        "INVALID_TOKEN",
        id="hs256-with-ed25519-public-pem",
    ),
    pytest.param(
        lambda k: hs256_by_hand({"alg": "HS256", "kid": k.rsa.kid}, claims(), public_pem(k.rsa)),
        "INVALID_TOKEN",
        id="hs256-with-rsa-public-pem",
    ),
    pytest.param(
        lambda k: k.p256.sign(claims(), kid=k.ed25519.kid),
        "INVALID_TOKEN",
        id="es256-with-kid-of-ed25519-key",
    ),
    pytest.param(
        lambda k: k.ed25519.sign(claims(), kid=k.rsa.kid),
        "INVALID_TOKEN",
        id="eddsa-with-kid-of-rsa-key",
    ),
    pytest.param(
        lambda k: k.rsa.sign(claims(), algorithm="PS256"),
        "INVALID_TOKEN",
        id="ps256-with-the-published-rsa-key",
    ),
    pytest.param(
        lambda k: k.rsa_pss.sign(claims(), algorithm="RS256"),
        "INVALID_TOKEN",
        id="rs256-with-the-published-ps256-key",
    ),
    pytest.param(
        lambda k: k.rsa.sign(claims(), algorithm="PS256", kid=k.rsa_pss.kid),
        "INVALID_TOKEN",
        id="ps256-by-another-rsa-key-with-kid-of-ps256-key",
    ),
    pytest.param(
        lambda k: k.p256.sign(claims(), kid=k.p521.kid),
        "INVALID_TOKEN",
        id="es256-with-kid-of-p521-key",
    ),
    pytest.param(
        lambda k: k.p521.sign(claims(), kid=k.p256.kid),
        "INVALID_TOKEN",
        id="es512-with-kid-of-p256-key",
    ),
    pytest.param(
        lambda k: k.ed25519.sign(claims(sub="\ud800")),
        "INVALID_TOKEN",
        id="lone-surrogate-subject",
    ),
    pytest.param(
        lambda k: k.rsa_pss.sign(claims(sub="user\r\nid")),
        "INVALID_TOKEN",
        id="control-characters-in-subject",
    ),
    pytest.param(
        lambda k: k.rsa_impostor.sign(claims(), kid=k.rsa.kid),
        "INVALID_TOKEN",
        id="rs256-unpublished-key-with-published-kid",
    ),
    pytest.param(
        lambda k: k.ed25519.sign(claims(iss="https://evil.example.test")),
        "INVALID_TOKEN",
        id="wrong-issuer",
    ),
    pytest.param(
        lambda k: k.ed25519.sign(claims(aud="https://other-api.example.test")),
        "INVALID_TOKEN",
        id="wrong-audience",
    ),
    pytest.param(lambda k: k.ed25519.sign(claims(iss=None)), "INVALID_TOKEN", id="no-issuer"),
    pytest.param(lambda k: k.ed25519.sign(claims(exp=None)), "INVALID_TOKEN", id="missing-exp"),
    pytest.param(lambda k: k.ed25519.sign(claims(sub=None)), "INVALID_TOKEN", id="missing-sub"),
    pytest.param(expired, "TOKEN_EXPIRED", id="expired"),
    pytest.param(
        lambda k: hs256_by_hand({"alg": "HS256", "kid": OCT_KID}, claims(), OCT_SECRET),
        "INVALID_TOKEN",
        id="hs256-with-oct-key-from-the-jwks",
    ),
    pytest.param(
        es384_with_a_published_p384_key, "INVALID_TOKEN", id="es384-with-published-p384-key"
    ),
    pytest.param(
        lambda k: jwt.encode(claims(), TEST_SECRET, algorithm="HS512"),
        "INVALID_TOKEN",
        id="hs512-with-the-real-secret",
    ),
    pytest.param(tampered_payload, "INVALID_TOKEN", id="tampered-payload"),
]


@pytest.fixture
def attack_issuer(keys: Keys) -> Iterator[JwksServer]:
    """The issuer, also publishing entries that must never be used: a symmetric key and a
    P-384 key."""
    oct_jwk = {"kty": "oct", "k": b64url(OCT_SECRET), "kid": OCT_KID, "alg": "HS256"}
    server = JwksServer([*(key.jwk() for key in keys.published), oct_jwk, P384_JWK]).start()
    yield server
    server.stop()


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 case
@pytest.mark.parametrize(("make_token", "code"), ATTACKS)
async def test_attack_token_is_refused(
    make_app: Callable[..., FastAPI],
    attack_issuer: JwksServer,
    keys: Keys,
    make_token: Callable[[Keys], str],
    code: str,
) -> None:
    app = make_app(attack_issuer.url)
    assert_invalid_token(await get_tasks(app, make_token(keys)), code)
    # The refusal was the token's fault: the same app takes an honest token.
    assert (await get_tasks(app, keys.ed25519.sign(claims()))).status_code == 200
