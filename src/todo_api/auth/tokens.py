"""Bearer tokens: verification with an explicit algorithm allow-list, and minting.

Two kinds of token pass: HS256 ones signed with JWT_SECRET (this service's own, the CLI's, or a
frontend sharing the secret), and, when JWT_JWKS_URL is set, an external issuer's EdDSA, ES256,
ES512, RS256 or PS256 ones, each verified only with a key published for that algorithm.

A token is only as good as its claims: a subject that cannot be encoded or holds control
characters makes the token invalid (401), and an `email` or `name` claim of that kind is
ignored, so that nothing a token carries can fail later as a 500.
"""

import base64
import json
import time
import unicodedata
import uuid
from datetime import timedelta
from typing import Any

import jwt
from jwt import PyJWK

from todo_api.auth.errors import AuthUnavailable, InvalidToken, TokenExpired
from todo_api.auth.identity import Identity
from todo_api.auth.jwks import ASYMMETRIC_ALGORITHMS, IssuerUnavailable, JwksCache, UnknownKey
from todo_api.config import Settings
from todo_api.kit.ids import utcnow
from todo_api.kit.text import canonical_email, is_clean_text, without_controls

# Ids for subjects that are not UUIDs (Better Auth's random strings) derive from this
# namespace, so one subject always maps to one user without a lookup.
SUBJECT_NAMESPACE = uuid.UUID("a69c1101-1710-4201-b75d-d847683ff3f2")
HS256 = "HS256"
MAX_SUBJECT_LENGTH = 255
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
ISSUER_RETRY_AFTER_SECONDS = 10
# A verified token is taken on trust this long at most: short, so that a key its issuer
# withdraws stops being honoured soon after.
VERIFIED_TOKEN_SECONDS = 60
VERIFIED_TOKENS_MAX = 10_000
VERIFIED_TOKEN_MAX_LENGTH = 4096
# The claim naming the built-in sign-in (refresh family) that issued an access token.
SIGN_IN_CLAIM = "sign_in"


def user_id_for_subject(subject: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject)
    except ValueError:
        return uuid.uuid5(SUBJECT_NAMESPACE, subject)


# What the OpenAPI document says an email looks like: something@host.domain, no control
# character (C0, DEL, C1); the rule itself is todo_api.kit.text.canonical_email.
EMAIL_SHAPE = r"[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+"


def normalize_email(value: object) -> str | None:
    """A usable email from a claim, or None: a claim that cannot be stored is ignored."""
    if not isinstance(value, str):
        return None
    email = canonical_email(value)
    return email if email is not None and len(email) <= MAX_EMAIL_LENGTH else None


def normalize_name(value: object) -> str | None:
    """A usable name from a claim (its control characters dropped, trimmed, NFC), or None: one
    too long is ignored, not cut."""
    if not isinstance(value, str):
        return None
    name = unicodedata.normalize("NFC", without_controls(value).strip())
    return name if 0 < len(name) <= MAX_NAME_LENGTH and is_clean_text(name) else None


def subject_identity(
    subject: object,
    *,
    refusal: str,
    email: object = None,
    name: object = None,
    issued_at: float | None = None,
    scope: str | None = None,
    audience: str | None = None,
    sign_in: uuid.UUID | None = None,
    expires_at: float | None = None,
) -> Identity:
    """Who a verified subject is (a JWT's `sub`, a Better Auth session's user id): its user
    (`user_id_for_subject`: one subject, one user), with the email and name it came with when
    they can be stored. A subject that is not 1 to MAX_SUBJECT_LENGTH characters of clean text
    is refused: `InvalidToken(refusal)`."""
    if (
        not isinstance(subject, str)
        or not 0 < len(subject) <= MAX_SUBJECT_LENGTH
        or not is_clean_text(subject)
    ):
        raise InvalidToken(refusal)
    return Identity(
        user_id=user_id_for_subject(subject),
        subject=subject,
        email=normalize_email(email),
        name=normalize_name(name),
        issued_at=issued_at,
        scope=scope,
        audience=audience,
        sign_in=sign_in,
        expires_at=expires_at,
    )


# The NumericDates a calendar has: from year 1 to year 9999.
EARLIEST_TIME = -62135596800.0
LATEST_TIME = 253402300799.0


def numeric_date(claims: dict[str, Any], name: str) -> float | None:
    """A time claim (`exp`, `iat`, `nbf`) as seconds, or None when the token has none.

    RFC 7519 makes it a JSON number; PyJWT would take a numeric string (and then the leeway
    could not be added to it) or a boolean, so anything but a number of a calendar year is
    refused here, before any check of the time.
    """
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken("The token is not valid")
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond any float
        raise InvalidToken("The token is not valid") from None
    if not EARLIEST_TIME <= seconds <= LATEST_TIME:  # NaN fails this too
        raise InvalidToken("The token is not valid")
    return seconds


def _unverified_header(token: str) -> dict[str, Any]:
    """The token's header, read only to choose the key; `jwt.decode` then checks the whole
    token with that key (reading the header with PyJWT too would parse the token twice)."""
    encoded = token.partition(".")[0]
    header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    if not isinstance(header, dict):
        raise ValueError("the token's header is not an object")
    return header


class VerifiedTokens:
    """Tokens verified lately, by their exact text, with the issuer's key that verified them
    (None: this service's own secret).

    A client sends the same token with every request until it expires, and checking its
    signature and claims again would give the same answer. An entry serves until the token
    expires (leeway included) or for VERIFIED_TOKEN_SECONDS, whichever comes first, and only
    while its key is still published (the verifier asks); then the token is verified again in
    full (and refused if it has expired or its key is gone). The oldest entries make room for
    new ones."""

    def __init__(
        self, max_entries: int = VERIFIED_TOKENS_MAX, max_age: float = VERIFIED_TOKEN_SECONDS
    ) -> None:
        self._entries: dict[str, tuple[Identity, float, PyJWK | None]] = {}
        self._max_entries = max_entries
        self._max_age = max_age

    def get(self, token: str, now: float) -> tuple[Identity, PyJWK | None] | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        identity, good_until, key = entry
        if now < good_until:
            return identity, key
        del self._entries[token]
        return None

    def add(
        self, token: str, identity: Identity, key: PyJWK | None, expires: float, now: float
    ) -> None:
        if len(token) > VERIFIED_TOKEN_MAX_LENGTH:
            return
        if len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[token] = (identity, min(expires, now + self._max_age), key)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)

    def __len__(self) -> int:
        return len(self._entries)


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.signing_secret()
        # An external issuer's tokens come from JWT_ISSUER, or from OAUTH_ISSUER (the
        # authorization server AI apps sign in with, when it is another).
        issuers = [settings.jwt_issuer] if settings.jwt_issuer else []
        if settings.jwt_jwks_url and settings.oauth_issuer:
            issuers.append(settings.oauth_issuer)
        self._issuer: str | list[str] | None = issuers[0] if len(issuers) == 1 else issuers or None
        self._audience = settings.jwt_audience
        # An external issuer's access tokens for /mcp name it in their `aud` (RFC 8707).
        self._mcp_resource = (
            settings.public_url + "/mcp" if settings.jwt_jwks_url and settings.public_url else None
        )
        self._leeway = settings.jwt_leeway_seconds
        self.jwks = (
            JwksCache(
                settings.jwt_jwks_url,
                min_refetch_seconds=settings.jwt_jwks_min_refetch_seconds,
            )
            if settings.jwt_jwks_url
            else None
        )
        self.verified = VerifiedTokens()

    async def _key_for(self, token: str) -> tuple[PyJWK | None, str]:
        """The issuer's key to check this token with (None: this service's secret), chosen by
        the token's header but never trusting it."""
        try:
            header = _unverified_header(token)
        except (ValueError, RecursionError):  # not JSON, or nested past what Python reads
            raise InvalidToken("The token is not valid") from None
        algorithm = header.get("alg")
        if algorithm == HS256:
            return None, HS256
        if not isinstance(algorithm, str) or algorithm not in ASYMMETRIC_ALGORITHMS:
            raise InvalidToken("The token's algorithm is not accepted")
        if self.jwks is None:
            raise InvalidToken("The token's algorithm is not accepted")
        kid = header.get("kid")
        try:
            key = await self.jwks.key_for(kid if isinstance(kid, str) else None, algorithm)
        except UnknownKey:
            raise InvalidToken("The token's signing key is not known") from None
        except IssuerUnavailable:
            raise AuthUnavailable(ISSUER_RETRY_AFTER_SECONDS) from None
        return key, algorithm

    async def verify(self, token: str) -> Identity:
        now = time.time()
        remembered = self.verified.get(token, now)
        if remembered is not None:
            identity, key = remembered
            if key is None or (self.jwks is not None and self.jwks.publishes(key)):
                return identity
            self.verified.forget(token)  # its key was withdrawn: verified again, and refused
        key, algorithm = await self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret if key is None else key.key,
                algorithms=[algorithm],
                issuer=self._issuer,
                options={
                    "require": ["sub", "exp"],
                    "verify_aud": False,  # checked below: JWT_AUDIENCE, or the MCP resource
                    # Checked below, once numeric_date has made sure they are numbers.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError:
            raise InvalidToken("The token is not valid") from None
        audience, scope = self._audience_of(claims)
        expires = numeric_date(claims, "exp")
        issued = numeric_date(claims, "iat")
        not_before = numeric_date(claims, "nbf")
        if expires is None:  # PyJWT made sure it is there; this tells mypy
            raise InvalidToken("The token is not valid")
        if expires <= now - self._leeway:
            raise TokenExpired("The token has expired")
        for start in (issued, not_before):
            if start is not None and start > now + self._leeway:
                raise InvalidToken("The token is not valid yet")
        identity = subject_identity(
            claims["sub"],
            refusal="The token is not valid",
            email=claims.get("email"),
            name=claims.get("name"),
            issued_at=issued,
            scope=scope,
            audience=audience,
            sign_in=_sign_in(claims) if key is None else None,
            expires_at=expires,
        )
        self.verified.add(token, identity, key, expires + self._leeway, now)
        return identity

    def _audience_of(self, claims: dict[str, Any]) -> tuple[str | None, str | None]:
        """Where the token may be used and what it may do: a token for JWT_AUDIENCE (or any,
        without one) anywhere, everything; a token whose `aud` is only the MCP resource at /mcp
        only, reading unless its `scope` has `tasks:write`. 401 for any other audience."""
        aud = claims.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if self._audience is not None and self._audience in audiences:
            return None, None
        if self._mcp_resource is not None and self._mcp_resource in audiences:
            scope = claims.get("scope")
            writes = isinstance(scope, str) and "tasks:write" in scope.split()
            return "mcp", "write" if writes else "read"
        if self._audience is None:
            return None, None
        raise InvalidToken("The token is not valid")


def _sign_in(claims: dict[str, Any]) -> uuid.UUID | None:
    """The built-in sign-in a token of this service's own names, if any (401 if malformed)."""
    value = claims.get(SIGN_IN_CLAIM)
    if value is None:
        return None
    try:
        return uuid.UUID(hex=value)
    except (TypeError, ValueError, AttributeError):
        raise InvalidToken("The token is not valid") from None


def mint_token(
    settings: Settings,
    *,
    subject: str,
    email: str | None = None,
    name: str | None = None,
    minutes: int = 60,
    sign_in: uuid.UUID | None = None,
) -> str:
    """A token signed with this service's secret; `sign_in` for a built-in sign-in's."""
    now = utcnow()
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=minutes)}
    if sign_in is not None:
        claims[SIGN_IN_CLAIM] = sign_in.hex
    if email:
        claims["email"] = email
    if name:
        claims["name"] = name
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.signing_secret(), algorithm=HS256)
