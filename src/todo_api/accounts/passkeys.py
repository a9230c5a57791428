"""Passkey routes (todo_api.accounts.webauthn): register one with a signed-in session, list and
delete them, and sign in with one. Part of the built-in accounts: left out of the app when
BUILTIN_ACCOUNTS is off."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status
from pydantic import AfterValidator, BaseModel, Field

from todo_api.accounts import webauthn
from todo_api.accounts.requests import client_address, count_attempt
from todo_api.accounts.schemas import Tokens
from todo_api.auth.dependencies import Caller, caller, session_only
from todo_api.auth.errors import PasskeyNotFound
from todo_api.config import Settings
from todo_api.kit import text
from todo_api.kit.deps import database, held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    json_response,
    no_content,
    only,
    read_json,
)
from todo_api.kit.inputs import UUID_EXAMPLE, Input, id_in_path, parse_id
from todo_api.kit.ratelimit import RateLimiter
from todo_api.tables.passkeys import PASSKEY_NAME_MAX_LENGTH

PREFIX = "/api/auth/passkeys"
PUBLIC: dict[str, Any] = {"security": []}
router = APIRouter(prefix=PREFIX, tags=["auth"], responses=error_responses(400, 500, 503))

PasskeyName = Annotated[
    str,
    AfterValidator(text.line(PASSKEY_NAME_MAX_LENGTH)),
    Field(
        description=f"What the passkey is on: 1 to {PASSKEY_NAME_MAX_LENGTH} characters once "
        "trimmed and in NFC, with a visible one and no control characters",
        examples=["Laptop"],
        json_schema_extra=text.documented(text.LINE_PATTERN, PASSKEY_NAME_MAX_LENGTH, min_length=1),
    ),
]

OPTIONS_DESCRIPTION = (
    "The options as WebAuthn's JSON (binary fields in base64url), for "
    "`PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON`, or a "
    "library such as @simplewebauthn/browser; the challenge is single-use and expires with "
    f"`timeout` ({webauthn.CHALLENGE_SECONDS} s)"
)


class RegistrationOptions(BaseModel):
    """PublicKeyCredentialCreationOptions (WebAuthn level 3, `toJSON` form)."""

    model_config = {"extra": "allow"}
    rp: dict[str, Any] = Field(examples=[{"id": "tasks.example.com", "name": "Tasks"}])
    user: dict[str, Any]
    challenge: str
    pubKeyCredParams: list[dict[str, Any]]
    timeout: int
    excludeCredentials: list[dict[str, Any]]
    authenticatorSelection: dict[str, Any]
    attestation: str


class AuthenticationOptions(BaseModel):
    """PublicKeyCredentialRequestOptions (WebAuthn level 3, `toJSON` form), no allow-list."""

    model_config = {"extra": "allow"}
    rpId: str = Field(examples=["tasks.example.com"])
    challenge: str
    timeout: int
    userVerification: str


CREDENTIAL_DESCRIPTION = (
    "The PublicKeyCredential the browser made, as its `toJSON()` gives it (id, rawId, type, "
    "response with base64url fields)"
)


class PasskeyCreate(Input):
    name: PasskeyName | None = Field(
        default=None, description=f'What to call it; default "{webauthn.DEFAULT_NAME}"'
    )
    credential: dict[str, Any] = Field(description=CREDENTIAL_DESCRIPTION)


class PasskeyLogin(Input):
    credential: dict[str, Any] = Field(description=CREDENTIAL_DESCRIPTION)


class PasskeyRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="When it last signed in; null: never")


PASSKEY_FIELDS = tuple(PasskeyRead.model_fields)
PasskeyIdPath = Annotated[str, id_in_path("The passkey's id")]


def passkey_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in PASSKEY_FIELDS}


def _relying_party(request: Request) -> webauthn.RelyingParty:
    return webauthn.relying_party(held(request.app, Settings), str(request.url))


async def _session(request: Request) -> Caller:
    """A signed-in session's caller (a personal or app token: 403), within the limit of
    ceremonies per user."""
    call = await caller(request)
    session_only(call.user)
    attempts = held(request.app, RateLimiter).attempts
    await count_attempt(request, (f"passkeys:user:{call.user_id}", attempts))
    return call


@router.post(
    "/register/options",
    response_model=RegistrationOptions,
    responses=error_responses(401, 403, 429),
    summary="Start registering a passkey: the options for navigator.credentials.create()",
    description=OPTIONS_DESCRIPTION,
)
async def registration_options(request: Request) -> Response:
    call = await _session(request)
    rp = _relying_party(request)
    options = await call.run(webauthn.registration_options, rp)
    return json_response(options)


@router.post(
    "/register",
    response_model=PasskeyRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 413, 429),
    summary="Register a passkey: the credential navigator.credentials.create() made",
    description="400 VALIDATION_ERROR (field `credential`) when it does not check out: its "
    "challenge unknown, used or expired, another origin or relying party, a bad attestation; "
    "409 CONFLICT when it is registered already.",
    openapi_extra=documented(body=PasskeyCreate),
)
async def register(request: Request) -> Response:
    call = await _session(request)
    data = await read_json(request, PasskeyCreate)
    rp = _relying_party(request)
    row = await call.run(webauthn.register, rp, name=data.name, credential=data.credential)
    return json_response(passkey_body(row), status.HTTP_201_CREATED)


@router.get(
    "",
    response_model=list[PasskeyRead],
    responses=error_responses(401, 403),
    summary="Your passkeys, newest first",
)
async def list_passkeys(request: Request) -> Response:
    call = await caller(request)
    session_only(call.user)
    rows = await call.run(webauthn.list_passkeys)
    return json_response([passkey_body(row) for row in rows])


# Written out whole, these paths are no passkey's id: their other methods are 405.
only(router, "/register", "POST")
only(router, "/login", "POST")


@router.delete(
    "/{passkey_id}",
    **NO_CONTENT,
    responses=error_responses(401, 403, 404),
    summary="Delete a passkey: it signs in no more",
)
async def delete_passkey(passkey_id: PasskeyIdPath, request: Request) -> Response:
    call = await caller(request)
    session_only(call.user)
    await call.run(webauthn.delete_passkey, parse_id(passkey_id, PasskeyNotFound))
    return no_content()


@router.post(
    "/login/options",
    response_model=AuthenticationOptions,
    responses=error_responses(429),
    summary="Start signing in with a passkey: the options for navigator.credentials.get()",
    description=OPTIONS_DESCRIPTION + "; no allow-list: the authenticator offers the passkeys "
    "it holds for this service (discoverable credentials), no email is asked",
    openapi_extra=PUBLIC,
)
async def authentication_options(request: Request) -> Response:
    limiter = held(request.app, RateLimiter)
    await count_attempt(
        request, (f"passkeys:options:ip:{client_address(request)}", limiter.address_attempts)
    )
    rp = _relying_party(request)
    async with database(request).connection() as conn:
        options = await webauthn.authentication_options(conn, rp)
    return json_response(options)


@router.post(
    "/login",
    response_model=Tokens,
    responses=error_responses(401, 413, 429),
    summary="Sign in with a passkey: the credential navigator.credentials.get() gave",
    description="The tokens a password sign-in gives. A passkey counts as both factors: no "
    "second step follows. 401 INVALID_CREDENTIALS for anything that does not check out (an "
    "unknown or deleted passkey, a used or expired challenge, a replayed answer, a bad "
    "signature, a signature count gone back: a cloned authenticator).",
    openapi_extra=PUBLIC,
)
async def login(data: PasskeyLogin, request: Request, response: Response) -> Any:
    limiter = held(request.app, RateLimiter)
    # Per client address, then per passkey from any address, as sign-in counts per email.
    await count_attempt(
        request, (f"passkeys:login:ip:{client_address(request)}", limiter.address_attempts)
    )
    credential = webauthn.authentication(data.credential)
    await count_attempt(
        request, (f"passkeys:login:credential:{credential.id}", limiter.email_attempts)
    )
    rp = _relying_party(request)
    async with database(request).connection() as conn:
        tokens = await webauthn.sign_in(conn, held(request.app, Settings), rp, credential)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return tokens
