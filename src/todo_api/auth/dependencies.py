"""Who is calling: `authenticate`, the `CurrentUser` dependency, and `Caller`, the request
context a handler works with once the token is checked."""

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request

from todo_api.auth.errors import Unauthorized
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.tokens import Identity, TokenVerifier
from todo_api.auth.users import KnownUsers, ensure_user, with_user_row
from todo_api.db import Connection
from todo_api.kit.conditional import if_match
from todo_api.kit.deps import database, held
from todo_api.kit.versions import Versions


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header; 401 without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized
    return token


async def authenticate(request: Request) -> Identity:
    """The verified token's identity, whose user row is known to exist (checked once per
    subject per process). A bad token costs no database work.

    Task routes call it as their first line; other routes take it as the `CurrentUser`
    dependency. Either way it runs once per request."""
    known_identity: Identity | None = request.scope.get(_IDENTITY)
    if known_identity is not None:
        return known_identity
    return await authenticate_token(request, bearer_token(request))


async def authenticate_token(request: Request, token: str) -> Identity:
    """`authenticate` for a token taken from elsewhere than a Bearer header (CalDAV's Basic
    password)."""
    verifier = held(request.app, TokenVerifier)
    identity = await verifier.verify(token)
    request.state.user_id = identity.user_id
    known = held(request.app, KnownUsers)
    profiles = held(request.app, SeenProfiles)
    first_sight = identity.user_id not in known
    if first_sight or profiles.is_news(identity):
        async with database(request).connection() as conn:
            if first_sight:
                await ensure_user(conn, identity)
            await profiles.sync(conn, identity)  # the token's email and name, when news
        known.add(identity.user_id)
    request.scope[_IDENTITY] = identity
    return identity


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
        return if_match(self.request.headers.get("if-match"))

    def connection(self) -> AbstractAsyncContextManager[Connection]:
        return database(self.request).connection()

    async def run(self, act: Act[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`act(conn, user_id, ...)`: a service call for the caller, on a pooled connection
        held for just that call."""
        async with self.connection() as conn:
            return await act(conn, self.user_id, *args, **kwargs)

    async def create(self, act: Act[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """`run`, for a write that makes a row of the caller's: it needs their user row
        (`with_user_row`)."""
        async with self.connection() as conn:
            return await with_user_row(
                conn, self.user, lambda: act(conn, self.user_id, *args, **kwargs)
            )


async def caller(request: Request) -> Caller:
    return Caller(request, await authenticate(request))
