"""Bearer tokens: verification (an explicit algorithm allow-list) and minting for the CLI."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from todo_api.config import Settings
from todo_api.db import utcnow
from todo_api.errors import ApiError, ErrorCode

# Ids for subjects that are not UUIDs (Better Auth's random strings) derive from this
# namespace, so one subject always maps to one user without a lookup.
SUBJECT_NAMESPACE = uuid.UUID("a69c1101-1710-4201-b75d-d847683ff3f2")
HS256 = "HS256"
MAX_SUBJECT_LENGTH = 255
MAX_EMAIL_LENGTH = 320


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token speaks for."""

    user_id: uuid.UUID
    subject: str
    email: str | None


def user_id_for_subject(subject: str) -> uuid.UUID:
    try:
        return uuid.UUID(subject)
    except ValueError:
        return uuid.uuid5(SUBJECT_NAMESPACE, subject)


def normalize_email(value: object) -> str | None:
    """A usable email from a claim, or None: a bad `email` claim is ignored, not stored."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if not (3 <= len(email) <= MAX_EMAIL_LENGTH) or "@" not in email:
        return None
    if any(ord(ch) < 0x20 or 0xD800 <= ord(ch) <= 0xDFFF for ch in email):
        return None
    return email


def unauthorized(message: str = "Missing bearer token") -> ApiError:
    return ApiError(401, ErrorCode.UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def invalid_token(message: str, code: ErrorCode = ErrorCode.INVALID_TOKEN) -> ApiError:
    challenge = f'Bearer error="invalid_token", error_description="{message}"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.signing_secret()
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds

    def verify(self, token: str) -> Identity:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[HS256],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={
                    "require": ["sub", "exp"],
                    "verify_aud": self._audience is not None,
                },
            )
        except jwt.ExpiredSignatureError:
            raise invalid_token("The token has expired", ErrorCode.TOKEN_EXPIRED) from None
        except jwt.InvalidTokenError:
            raise invalid_token("The token is not valid") from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
            raise invalid_token("The token is not valid")
        return Identity(
            user_id=user_id_for_subject(subject),
            subject=subject,
            email=normalize_email(claims.get("email")),
        )


def mint_token(
    settings: Settings, *, subject: str, email: str | None = None, minutes: int = 60
) -> str:
    now = utcnow()
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + timedelta(minutes=minutes)}
    if email:
        claims["email"] = email
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.signing_secret(), algorithm=HS256)
