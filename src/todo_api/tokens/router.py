"""Personal access tokens: make one (its text shown in that answer only), list them, revoke
one. Managed only with a signed-in session (a JWT or a Better Auth session): a personal token
cannot make or revoke tokens, whatever its scope."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictInt

from todo_api.auth import personal
from todo_api.auth.dependencies import Caller, caller, session_only
from todo_api.auth.errors import TokenNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.kit import text
from todo_api.kit.deps import held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import UUID_EXAMPLE, Input, id_in_path, integral, parse_id
from todo_api.tables.tokens import TOKEN_NAME_MAX_LENGTH

PREFIX = "/api/tokens"
MAX_EXPIRY_DAYS = 365
DEFAULT_EXPIRY_DAYS = 90
TOKEN_EXAMPLE = "todo_pat_3q2-7wEfBCh0Yk1Vb6y2cF9rT8xZ4LmNs0AaPqRuWvY"

router = APIRouter(prefix=PREFIX, tags=["tokens"], responses=error_responses(401, 403, 500, 503))

TokenName = Annotated[
    str,
    AfterValidator(text.line(TOKEN_NAME_MAX_LENGTH)),
    Field(
        description=f"What the token is for: 1 to {TOKEN_NAME_MAX_LENGTH} characters once "
        "trimmed and in NFC, with a visible one and no control characters",
        examples=["backup script"],
        json_schema_extra=text.documented(text.LINE_PATTERN, TOKEN_NAME_MAX_LENGTH, min_length=1),
    ),
]


ExpiryDays = Annotated[StrictInt, Field(ge=1, le=MAX_EXPIRY_DAYS), BeforeValidator(integral)]


class TokenCreate(Input):
    name: TokenName
    scope: personal.Scope = Field(
        default=personal.Scope.write,
        description="`read`: GET and HEAD requests and live updates only; `write`: everything "
        "the user may do but manage tokens",
    )
    expires_in_days: ExpiryDays | None = Field(
        default=DEFAULT_EXPIRY_DAYS,
        description=f"Days until it expires, 1 to {MAX_EXPIRY_DAYS}; null: never",
    )


class TokenRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    name: str
    scope: personal.Scope
    prefix: str = Field(
        description="The token's first 16 characters, for telling tokens apart",
        examples=[TOKEN_EXAMPLE[:16]],
    )
    created_at: datetime
    expires_at: datetime | None = Field(description="null: it never expires")
    last_used_at: datetime | None = Field(
        description="When it was last used, at most a minute behind; null: never"
    )


class TokenWithSecret(TokenRead):
    token: str = Field(
        description="The token, shown in this answer only: send it as "
        "`Authorization: Bearer <token>`",
        examples=[TOKEN_EXAMPLE],
    )


TOKEN_FIELDS = tuple(TokenRead.model_fields)
TokenIdPath = Annotated[str, id_in_path("The token's id")]


def token_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in TOKEN_FIELDS}


async def _session(request: Request) -> Caller:
    call = await caller(request)
    session_only(call.user)
    return call


@router.post(
    "",
    response_model=TokenWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 409, 413),
        201: {
            "description": "The token, with its text (shown in this answer only)",
            "headers": {"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}},
        },
    },
    summary="Make a personal access token (at most 50 per user: the 51st is 409 CONFLICT)",
    openapi_extra=documented(body=TokenCreate),
)
async def create_token(request: Request) -> Response:
    call = await _session(request)
    data = await read_json(request, TokenCreate)
    row, token = await call.create(
        personal.create_token,
        name=data.name,
        scope=data.scope,
        expires_in_days=data.expires_in_days,
    )
    return json_response(
        {**token_body(row), "token": token}, status.HTTP_201_CREATED, {"Cache-Control": "no-store"}
    )


@router.get("", response_model=list[TokenRead], summary="Your personal access tokens, newest first")
async def list_tokens(request: Request) -> Response:
    call = await _session(request)
    rows = await call.run(personal.list_tokens)
    return json_response([token_body(row) for row in rows])


@router.delete(
    "/{token_id}",
    **NO_CONTENT,
    responses=error_responses(404),
    summary="Revoke a personal access token: refused from the next request on",
)
async def revoke_token(token_id: TokenIdPath, request: Request) -> Response:
    call = await _session(request)
    token_uuid = parse_id(token_id, TokenNotFound)
    await call.run(personal.revoke_token, token_uuid)
    # Committed: every process forgets it before this answer goes (todo_api.auth.hashed_tokens).
    await held(request.app, KnownTokens).revoked(token_uuid)
    return no_content()
