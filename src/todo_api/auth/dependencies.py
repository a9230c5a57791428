"""Who is calling: `authenticate`, the `CurrentUser` dependency, and `Caller`, the request
context a handler works with once the token is checked."""

import base64
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request

from todo_api.auth import app_tokens, personal
from todo_api.auth.better_auth import BetterAuthSessions
from todo_api.auth.errors import (
    EmailNotVerified,
    InvalidToken,
    ReadOnlyToken,
    SessionRequired,
    Unauthorized,
)
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.identity import Identity
from todo_api.auth.live_sign_ins import LiveSignIns
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.tokens import TokenVerifier
from todo_api.auth.users import KnownUsers, email_verified, ensure_user, with_user_row
from todo_api.config import Settings
from todo_api.db import Connection
from todo_api.kit.conditional import if_match
from todo_api.kit.deps import database, held, primary
from todo_api.kit.http import header
from todo_api.kit.reads import reading
from todo_api.kit.versions import Versions


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header; 401 without one."""
    scheme, _, token = (header(request, b"authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    return token


def basic_password(request: Request) -> str | None:
    """The password of an `Authorization: Basic` header (the user name is not checked), or
    None when the header is not Basic; a Basic header that does not decode is 401."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("The Basic credentials are not valid") from None
    _, colon, password = decoded.partition(":")
    if not colon or not password:
        raise InvalidToken("The Basic credentials are not valid")
    return password


async def _verify(request: Request, token: str) -> Identity:
    """The token's identity: a personal token or an OAuth access token (for /mcp only) by its
    prefix, a JWT by its three parts, and anything else a Better Auth session when
    BETTER_AUTH_URL is set (else an invalid JWT)."""
    if token.startswith(personal.PREFIX):
        return await personal.verify(primary(request), held(request.app, KnownTokens), token)
    if token.startswith(app_tokens.ACCESS_PREFIX):
        return await app_tokens.verify(primary(request), held(request.app, KnownTokens), token)
    if token.count(".") != 2:
        sessions = held(request.app, BetterAuthSessions)
        if sessions.enabled:
            return await sessions.verify(token)
    identity = await held(request.app, TokenVerifier).verify(token)
    if identity.sign_in is not None:  # a built-in sign-in's: refused once it has ended
        await held(request.app, LiveSignIns).check(primary(request), identity.sign_in)
    return identity


# What a `read` token may do besides GET and HEAD: open live updates from a browser (the
# ticket), speak MCP (whose tools are then allowed one by one: todo_api.mcp.server), and on
# /dav, discover and read (OPTIONS, PROPFIND, REPORT).
MCP_PATH = "/mcp"
READS = frozenset({"GET", "HEAD"})
DAV_READS = READS | {"OPTIONS", "PROPFIND", "REPORT"}
READ_SCOPE_POSTS = frozenset({"/api/events/ticket", MCP_PATH})


def read_scope_allows(method: str, path: str) -> bool:
    """Whether a token whose scope is `read` may make this request."""
    if method in READS:
        return True
    if path == "/dav" or path.startswith("/dav/"):
        return method in DAV_READS
    return method == "POST" and path in READ_SCOPE_POSTS


@dataclass(frozen=True, slots=True)
class PathsApart:
    """The routes of rooms above auth that who is calling treats apart, registered by the entry
    (create_app holds one): auth is below those rooms and names none of their paths.

    `session_only`: paths, with what is under them, whose routes refuse every token but a
    session's (403), as personal tokens' and the account's sign-ins' do: a token for /mcp
    only may reach them, to be told so.
    `unverified`: the (method, path) an account whose email is not confirmed may still call
    while EMAIL_VERIFICATION=required (the verification routes themselves take no token)."""

    session_only: tuple[str, ...] = ()
    unverified: frozenset[tuple[str, str]] = frozenset()

    def audience_allows(self, path: str) -> bool:
        """Whether a token for /mcp only (an OAuth access token) may be used here: at /mcp,
        and at the session-only routes, which then refuse it (403)."""
        return path == MCP_PATH or any(
            path == prefix or path.startswith(prefix + "/") for prefix in self.session_only
        )


async def authenticate(request: Request, *, basic: bool = False) -> Identity:
    """The verified token's identity, whose user row is known to exist (checked once per
    subject per process). A bad token costs no database work (a personal token: one lookup).
    `basic`: HTTP Basic is taken too, with a personal token as its password (for /dav).

    A `read` token is refused here, before anything of the request is read or changed, when
    the request is not one it may make (`read_scope_allows`): every route's write is refused
    by the one check that lets the caller in.

    Task routes call it as their first line; other routes take it as the `CurrentUser`
    dependency. Either way it runs once per request."""
    known_identity: Identity | None = request.scope.get(_IDENTITY)
    if known_identity is not None:
        return known_identity
    password = basic_password(request) if basic else None
    if password is not None:
        if not password.startswith(personal.PREFIX):
            raise InvalidToken("The Basic password is not a personal access token")
        identity = await personal.verify(primary(request), held(request.app, KnownTokens), password)
    else:
        identity = await _verify(request, bearer_token(request))
    if identity.audience is not None and not held(request.app, PathsApart).audience_allows(
        request.scope["path"]
    ):
        raise InvalidToken("This token is for the MCP endpoint (/mcp) only")
    # request.state.user_id, without making the State object (read by the request context)
    request.scope.setdefault("state", {})["user_id"] = identity.user_id
    if (
        identity.scope is not None  # a session's JWT: nothing more to check
        and identity.scope == personal.Scope.read
        and not read_scope_allows(request.scope["method"], request.scope["path"])
    ):
        raise ReadOnlyToken
    known = held(request.app, KnownUsers)
    profiles = held(request.app, SeenProfiles)
    first_sight = identity.user_id not in known
    if first_sight or profiles.is_news(identity):
        async with primary(request).connection() as conn:
            if first_sight:
                await ensure_user(conn, identity)
            await profiles.sync(conn, identity)  # the token's email and name, when news
        known.add(identity.user_id)
    if not identity.may_create_user and not known.email_cleared(identity.user_id):
        await _check_email(request, identity, known)
    request.scope[_IDENTITY] = identity
    return identity


async def _check_email(request: Request, identity: Identity, known: KnownUsers) -> None:
    """While EMAIL_VERIFICATION=required, this service's own credentials of an account whose
    email is not confirmed are 403 EMAIL_NOT_VERIFIED, but for `PathsApart.unverified`. A confirmed
    email (or any, when it is not required) is kept as cleared by KnownUsers, so this costs a
    lookup once per user and process."""
    if held(request.app, Settings).email_verification_mode == "required":
        async with primary(request).connection() as conn:
            verified = await email_verified(conn, identity.user_id)
        if not verified:
            allowed = held(request.app, PathsApart).unverified
            if (request.scope["method"], request.scope["path"]) not in allowed:
                raise EmailNotVerified
            return
    known.clear_email(identity.user_id)


def require_write(identity: Identity) -> None:
    """403 for a `read` token (an MCP tool that writes)."""
    if identity.scope == personal.Scope.read:
        raise ReadOnlyToken


def session_only(identity: Identity) -> None:
    """403 unless the caller signed in (a JWT or a Better Auth session): personal and app
    tokens cannot manage tokens, whatever their scope."""
    if identity.scope is not None:
        raise SessionRequired


_IDENTITY = "todo_api.identity"
CurrentUser = Annotated[Identity, Depends(authenticate)]


P = ParamSpec("P")
R = TypeVar("R")
# A service call: a connection and the caller's user id first, then its own arguments.
Act = Callable[Concatenate[Connection, uuid.UUID, P], Awaitable[R]]


@dataclass(frozen=True, slots=True)
class Caller:
    """A request whose token is checked: who is calling, the versions its If-Match names, and a
    pooled connection for just the statements the handler runs (`run`: one service call). A
    service takes the connection and the caller's user id first. A route makes it with
    `await caller(request)` as its first line, before reading the body (the direct routes take
    no dependencies); an MCP tool gets one per call."""

    request: Request
    user: Identity

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.user_id

    @property
    def if_match(self) -> Versions:
        return if_match(header(self.request, b"if-match"))

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        return database(self.request).connection()

    async def run(self, act: Act[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`act(conn, user_id, ...)`: a service call for the caller, on a pooled connection
        held for just that call."""
        async with self.connection() as conn:
            return await act(conn, self.user_id, *args, **kwargs)

    async def streamed(self, act: Act[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`run`, for a page of an answer that has started (a CalDAV report): when its replica
        fails mid-way, the primary reads the page again and answers the rest."""
        return await reading(database(self.request), act, self.user_id, *args, **kwargs)

    async def create(self, act: Act[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`run`, for a write that makes a row of the caller's: it needs their user row
        (`with_user_row`)."""
        async with self.connection() as conn:
            return await self.with_user_row(conn, lambda: act(conn, self.user_id, *args, **kwargs))

    async def with_user_row(self, conn: Connection, write: Callable[[], Awaitable[R]]) -> R:
        """`write` on `conn`, which needs the caller's user row (`users.with_user_row`)."""
        return await with_user_row(conn, self.user, write, held(self.request.app, KnownUsers))


async def caller(request: Request) -> Caller:
    return Caller(request, await authenticate(request))
