"""The dependencies routes use to know who is calling."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from todo_api.auth.profile import SeenProfiles
from todo_api.auth.tokens import Identity, TokenVerifier, unauthorized
from todo_api.auth.users import KnownUsers, ensure_user
from todo_api.db import Connection

bearer_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT")


async def current_identity(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Identity:
    """The verified token's identity; no database work, so a bad token costs nothing."""
    if credentials is None or not credentials.credentials:
        raise unauthorized()
    verifier: TokenVerifier = request.app.state.token_verifier
    identity = await verifier.verify(credentials.credentials)
    request.state.user_id = str(identity.user_id)
    return identity


async def current_user(
    request: Request,
    identity: Annotated[Identity, Depends(current_identity)],
    conn: Connection,
) -> Identity:
    """The caller, whose user row is known to exist (checked once per subject per process)."""
    known: KnownUsers = request.app.state.known_users
    if identity.user_id not in known:
        await ensure_user(conn, identity)
        known.add(identity.user_id)
    profiles: SeenProfiles = request.app.state.seen_profiles
    await profiles.sync(conn, identity)  # the token's email and name, when they are news
    return identity


CurrentUser = Annotated[Identity, Depends(current_user)]
