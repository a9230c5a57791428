"""The dependency routes use to know who is calling."""

from typing import Annotated

from fastapi import Depends, Request

from todo_api.auth.tokens import Identity, TokenVerifier, unauthorized
from todo_api.auth.users import KnownUsers, ensure_user
from todo_api.deps import database


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer` header; 401 without one."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    return token


async def current_user(request: Request) -> Identity:
    """The verified token's identity, whose user row is known to exist (checked once per
    subject per process). A bad token costs no database work."""
    verifier: TokenVerifier = request.app.state.token_verifier
    identity = await verifier.verify(bearer_token(request))
    request.state.user_id = identity.user_id
    known: KnownUsers = request.app.state.known_users
    if identity.user_id not in known:
        async with database(request).connection() as conn:
            await ensure_user(conn, identity)
        known.add(identity.user_id)
    return identity


CurrentUser = Annotated[Identity, Depends(current_user)]
