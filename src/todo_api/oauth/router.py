"""The routes of the authorization server, when this service is one (built-in accounts and
PUBLIC_URL): /oauth/register (RFC 7591), /oauth/authorize (the page), /oauth/token and
/oauth/revoke. Their metadata and /mcp's are todo_api.oauth.metadata's; /api/connections,
where a user sees and ends the apps they allowed, todo_api.oauth.connections'.

The OAuth routes are the MCP SDK's handlers (`mcp.server.auth.handlers`) over this service's
provider, so the protocol's checks and error shapes are the SDK's. Metadata, token,
registration and revocation answer any origin (CORS `*`): browser-based clients call them, and
none of them reads a cookie. The page is never cross-origin.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.revoke import RevocationHandler
from mcp.server.auth.handlers.token import (
    TokenErrorResponse,
    TokenHandler,
    TokenSuccessResponse,
)
from mcp.server.auth.settings import ClientRegistrationOptions
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, request_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from todo_api.auth import app_tokens
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.ratelimit import RateLimited, RateLimiter
from todo_api.kit.routes import LabelledRoute
from todo_api.oauth.clients import (
    MAX_REGISTRATION_BYTES,
    METADATA,
    Clients,
    registration_problem,
)
from todo_api.oauth.metadata import GRANT_TYPES, open_to_all
from todo_api.oauth.pages import Pages
from todo_api.oauth.provider import HashedSecretAuthenticator, Provider, basic_credentials

# /oauth/token's limit per client address and per client, as a multiple of
# AUTH_RATE_LIMIT_ATTEMPTS a window: 60 a minute by default.
TOKEN_REQUESTS_PER_ATTEMPT = 6

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
    """The authorization server's routes (todo_api.oauth.metadata names them)."""
    found: list[BaseRoute] = []
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
        found.append(LabelledRoute(path, open_to_all(app, ["POST"]), methods=["POST", "OPTIONS"]))
    found.append(LabelledRoute("/oauth/authorize", pages.get, methods=["GET"]))
    found.append(LabelledRoute("/oauth/authorize", pages.post, methods=["POST"]))
    return found


class AuthorizationServer:
    """The authorization server's routes and the client documents they fetch (closed with the
    app)."""

    def __init__(self, settings: Settings, db: Database, known: KnownTokens) -> None:
        self._clients = Clients(db, settings)
        provider = Provider(db, settings, self._clients, known)
        self.routes = routes(settings, provider, Pages(settings, self._clients))

    async def close(self) -> None:
        await self._clients.close()
