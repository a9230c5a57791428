"""The routes of MCP authorization: the protected resource metadata (RFC 9728) of /mcp, and,
when this service is the authorization server (built-in accounts and PUBLIC_URL), its
metadata (RFC 8414), /oauth/register (RFC 7591), /oauth/authorize (the page), /oauth/token
and /oauth/revoke; and /api/connections, where a user sees and ends the apps they allowed.

The OAuth routes are the MCP SDK's handlers (`mcp.server.auth.handlers`) over this service's
provider, so the protocol's checks and error shapes are the SDK's. Metadata, token,
registration and revocation answer any origin (CORS `*`): browser-based clients call them, and
none of them reads a cookie. The page is never cross-origin.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Path, Request, Response
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import (
    TokenErrorResponse,
    TokenHandler,
    TokenSuccessResponse,
)
from mcp.server.auth.settings import ClientRegistrationOptions
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.auth import app_tokens
from todo_api.auth.dependencies import caller
from todo_api.auth.errors import ConnectionNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.config import Settings
from todo_api.kit.deps import held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, json_response, no_content
from todo_api.kit.ratelimit import RateLimited, RateLimiter
from todo_api.kit.routes import LabelledRoute
from todo_api.oauth import store
from todo_api.oauth.clients import (
    MAX_REGISTRATION_BYTES,
    METADATA,
    registration_problem,
)
from todo_api.oauth.pages import Pages
from todo_api.oauth.provider import HashedSecretAuthenticator, Provider, basic_credentials

RESOURCE_METADATA = "/.well-known/oauth-protected-resource"
SERVER_METADATA = "/.well-known/oauth-authorization-server"
OPENID_CONFIGURATION = "/.well-known/openid-configuration"
# Paths that answer any origin with their own CORS headers (the app's CORS is for its frontend).
OPEN_PATHS = frozenset(
    {
        RESOURCE_METADATA,
        RESOURCE_METADATA + "/mcp",
        SERVER_METADATA,
        OPENID_CONFIGURATION,
        "/oauth/token",
        "/oauth/register",
        "/oauth/revoke",
    }
)
GRANT_TYPES = ["authorization_code", "refresh_token"]
# /oauth/token's limit per client address and per client, as a multiple of
# AUTH_RATE_LIMIT_ATTEMPTS a window: 60 a minute by default.
TOKEN_REQUESTS_PER_ATTEMPT = 6


def mcp_challenge(settings: Settings) -> str | None:
    """What /mcp's challenges name beside their error, for an OAuth client (RFC 9728 §5.1, MCP's
    scope challenge): the scopes to ask for and the protected resource metadata, where a
    client starts its sign-in. None: no authorization server to name."""
    if settings.mcp_authorization_server is None:
        return None
    scopes = " ".join(app_tokens.SCOPES)
    return f'scope="{scopes}", resource_metadata="{settings.public_url}{RESOURCE_METADATA}/mcp"'


def _open(app: ASGIApp, methods: list[str]) -> ASGIApp:
    return CORSMiddleware(
        app, allow_origins=["*"], allow_methods=methods, allow_headers=["*"], max_age=86400
    )


def _document(body: dict[str, Any]) -> ASGIApp:
    async def endpoint(_request: Any) -> Response:
        return JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"})

    return _open(request_response(endpoint), ["GET"])


# What a route's body becomes before the SDK's handler reads it: other bytes, or an answer.
Prepare = Callable[[Request, bytes], Awaitable[bytes | Response]]


def _prepared(app: ASGIApp, prepare: Prepare) -> ASGIApp:
    """`app`, given the request's body as `prepare` makes it (or not called, when `prepare`
    answers). The body is whole in memory already: the edge's body limit bounds it."""

    async def prepared(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        outcome = await prepare(request, await request.body())
        if isinstance(outcome, Response):
            await outcome(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": outcome, "more_body": False}

        await app(scope, replay, send)

    return prepared


def oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """An error in OAuth's shape (RFC 6749 §5.2, RFC 7591 §3.2.2)."""
    body = {"error": error, "error_description": description}
    return JSONResponse(
        body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})}
    )


async def _limited(request: Request, what: str, *limits: tuple[str, int]) -> Response | None:
    """Count the request under each (key, limit) in turn (`RateLimiter.check`): None within
    them, else 429 with Retry-After in OAuth's shape (the error code RFC 6749 has for a server
    that cannot take the request now)."""
    try:
        await held(request.app, RateLimiter).check(*limits)
    except RateLimited as exc:
        return oauth_error(
            429,
            "temporarily_unavailable",
            f"Too many {what}; try again in {exc.retry_after} s",
            {"Retry-After": str(exc.retry_after)},
        )
    return None


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _registration(request: Request, body: bytes) -> bytes | Response:
    """/oauth/register before the SDK's handler: anyone may register, so each address may do so
    `AUTH_RATE_LIMIT_ATTEMPTS` times a window (10 a minute), and what one registration stores
    is bounded (`registration_problem`); then RFC 7591's default for an omitted
    `token_endpoint_auth_method`, `client_secret_basic` (the SDK's handler would take
    `client_secret_post`)."""
    attempts = held(request.app, RateLimiter).attempts
    key = f"oauth:register:ip:{_address(request)}"
    refused = await _limited(request, "registrations from this address", (key, attempts))
    if refused is not None:
        return refused
    if len(body) > MAX_REGISTRATION_BYTES:
        message = f"The metadata must be at most {MAX_REGISTRATION_BYTES // 1024} KiB"
        return oauth_error(400, METADATA, message)
    try:
        document = json.loads(body)
    except ValueError:
        return body  # the SDK's handler says what is wrong with it
    if not isinstance(document, dict):
        return body
    problem = registration_problem(document)
    if problem is not None:
        return oauth_error(400, *problem)
    if document.get("token_endpoint_auth_method") is None:
        document["token_endpoint_auth_method"] = "client_secret_basic"
        return json.dumps(document).encode()
    return body


def _with_field(body: bytes, name: str, value: str) -> bytes:
    """A form body with the field `name` added unless it has one (the rest as it came)."""
    if any(field == name for field, _ in parse_qsl(body.decode("latin-1"), keep_blank_values=True)):
        return body
    return body + (b"&" if body else b"") + urlencode({name: value}).encode()


async def _token_request(request: Request, body: bytes) -> bytes | Response:
    """/oauth/token before the SDK's handler: limited per client address, then per client
    (TOKEN_REQUESTS_PER_ATTEMPT times AUTH_RATE_LIMIT_ATTEMPTS a window each); a grant type
    this server does not serve is `unsupported_grant_type` (RFC 6749 §5.2; the SDK's handler
    would refuse it as a malformed request); and a client that authenticates with HTTP Basic
    alone (RFC 6749 §2.3.1) need not repeat its `client_id` in the body, which the SDK's
    handler reads it from."""
    try:
        basic = basic_credentials(request.headers.get("authorization", ""))
    except ValueError:
        basic = None  # the authenticator refuses it (401 invalid_client)
    fields = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    client_id = fields.get("client_id") or (basic[0] if basic else "")
    attempts = TOKEN_REQUESTS_PER_ATTEMPT * held(request.app, RateLimiter).attempts
    limits = [(f"oauth:token:ip:{_address(request)}", attempts)]
    if client_id:  # by its digest: a client id may be a long URL
        digest = hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()
        limits.append((f"oauth:token:client:{digest}", attempts))
    refused = await _limited(request, "token requests", *limits)
    if refused is not None:
        return refused
    grant_type = fields.get("grant_type")
    if grant_type and grant_type not in GRANT_TYPES:
        served = " and ".join(GRANT_TYPES)
        return oauth_error(400, "unsupported_grant_type", f"This server serves {served} only")
    return body if basic is None else _with_field(body, "client_id", basic[0])


async def _public_revocation(_request: Request, body: bytes) -> bytes:
    """RFC 7009 for a public client at /oauth/revoke: no `client_secret` (the SDK's handler
    wants the field, empty)."""
    return _with_field(body, "client_secret", "")


# The SDK's words for a code presented with another redirect_uri than its authorization's.
_REDIRECT_MISMATCH = "redirect_uri did not match the one used when creating auth code"


class _TokenHandler(TokenHandler):
    """The SDK's token handler, with RFC 6749 §5.2's codes where it says others: `invalid_grant`
    (the grant "does not match the redirection URI used in the authorization request") where
    it says `invalid_request` for a code presented with another redirect_uri, and
    `unauthorized_client` where it says `unsupported_grant_type` (a grant type this server
    serves, since `_token_request` answered the others, that the client did not register)."""

    def response(self, obj: TokenSuccessResponse | TokenErrorResponse) -> Response:
        if isinstance(obj, TokenErrorResponse):
            if obj.error_description == _REDIRECT_MISMATCH:
                obj = TokenErrorResponse(
                    error="invalid_grant", error_description=_REDIRECT_MISMATCH
                )
            elif obj.error == "unsupported_grant_type":
                description = "This client did not register this grant type"
                obj = TokenErrorResponse(error="unauthorized_client", error_description=description)
        response: Response = super().response(obj)
        return response


def routes(settings: Settings, provider: Provider, pages: Pages) -> list[BaseRoute]:
    """The metadata routes (when there is an issuer to name) and the authorization server's
    (when it is on); none otherwise, so that each is a 404."""
    issuer = settings.mcp_authorization_server
    found: list[BaseRoute] = []
    if issuer is None:
        return found
    resource = {
        "resource": f"{settings.public_url}/mcp",
        "authorization_servers": [issuer],
        "bearer_methods_supported": ["header"],
        "scopes_supported": app_tokens.SCOPES,
        "resource_name": settings.app_name,
    }
    for path in (RESOURCE_METADATA, RESOURCE_METADATA + "/mcp"):
        found.append(LabelledRoute(path, _document(resource), methods=["GET", "OPTIONS"]))
    if not settings.oauth_server_enabled:
        return found
    server = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth/authorize",
        "token_endpoint": f"{issuer}/oauth/token",
        "registration_endpoint": f"{issuer}/oauth/register",
        "revocation_endpoint": f"{issuer}/oauth/revoke",
        "scopes_supported": app_tokens.SCOPES,
        "response_types_supported": ["code"],
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "none",
            "client_secret_post",
            "client_secret_basic",
        ],
        "client_id_metadata_document_supported": True,
    }
    for path in (SERVER_METADATA, OPENID_CONFIGURATION):
        found.append(LabelledRoute(path, _document(server), methods=["GET", "OPTIONS"]))
    authenticator = HashedSecretAuthenticator(provider)  # type: ignore[arg-type]
    options = ClientRegistrationOptions(
        enabled=True, valid_scopes=app_tokens.SCOPES, default_scopes=app_tokens.SCOPES
    )
    token = _TokenHandler(provider, authenticator).handle  # type: ignore[arg-type]
    revoke = RevocationHandler(provider, authenticator).handle  # type: ignore[arg-type]
    register = RegistrationHandler(provider, options).handle  # type: ignore[arg-type]
    handlers: list[tuple[str, ASGIApp]] = [
        ("/oauth/token", _prepared(request_response(token), _token_request)),
        ("/oauth/revoke", _prepared(request_response(revoke), _public_revocation)),
        ("/oauth/register", _prepared(request_response(register), _registration)),
    ]
    for path, app in handlers:
        found.append(LabelledRoute(path, _open(app, ["POST"]), methods=["POST", "OPTIONS"]))
    found.append(LabelledRoute("/oauth/authorize", pages.get, methods=["GET"]))
    found.append(LabelledRoute("/oauth/authorize", pages.post, methods=["POST"]))
    return found


# --- /api/connections ------------------------------------------------------------------------

connections_router = APIRouter(
    prefix="/api/connections", tags=["connections"], responses=error_responses(401, 403, 500, 503)
)


class ConnectionRead(BaseModel):
    client_id: str
    client_name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None


@connections_router.get(
    "",
    response_model=list[ConnectionRead],
    summary="The apps you allowed to use your tasks (MCP authorization), newest first",
)
async def list_connections(request: Request) -> Response:
    call = await caller(request)
    rows = await call.run(store.list_connections)
    fields = ConnectionRead.model_fields
    return json_response([{name: row[name] for name in fields} for row in rows])


@connections_router.delete(
    "/{client_id:path}",
    **NO_CONTENT,
    responses=error_responses(404),
    summary="End an app's access: every token it holds for you is refused from the next request",
)
async def end_connection(
    client_id: Annotated[str, Path(description="The app's client_id")], request: Request
) -> Response:
    call = await caller(request)
    known = held(request.app, KnownTokens)
    async with call.connection() as conn:
        ended, ids = await app_tokens.revoke_grants(
            conn, store.connection_of(call.user_id, client_id)
        )
    await known.revoked(*ids)
    if not ended:
        raise ConnectionNotFound
    return no_content()
