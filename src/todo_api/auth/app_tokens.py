"""The access tokens apps hold: the built-in authorization server (todo_api.oauth) issues
them, for /mcp only. Here: their prefix and OAuth scopes, what each scope lets a token do, and
the check of a token on each request, which dependencies.authenticate makes.

An access token is kept as its hash and checked as a personal token is
(todo_api.auth.hashed_tokens): one lookup of its hash, remembered by the process until it is
revoked; what it is used at is written on its grant (`last_used_at`).
"""

import uuid
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update

from todo_api.auth.hashed_tokens import KnownTokens, hash_token, token_identity, verify_by_hash
from todo_api.auth.identity import Identity
from todo_api.auth.personal import Scope
from todo_api.db import Connection, Database, Query, Row
from todo_api.tables.oauth import oauth_grants, oauth_tokens

ACCESS_PREFIX = "todo_mcp_"
READ, WRITE = "tasks:read", "tasks:write"
SCOPES = [READ, WRITE]
# What a token of the built-in server is good for: /mcp (its audience), nothing else.
MCP_AUDIENCE = "mcp"


def token_scope(scope: str) -> Scope:
    """What a token's OAuth scope lets it do: `tasks:write` everything, else read."""
    return Scope.write if WRITE in scope.split() else Scope.read


_g = oauth_grants
_t = oauth_tokens
_ACCESS = Query(
    select(
        _t.c.id,
        _t.c.grant_id,
        _t.c.scope,
        _t.c.expires_at,
        _g.c.user_id,
        _g.c.client_id,
        _g.c.last_used_at,
    )
    .join(_g, _g.c.id == _t.c.grant_id)
    .where(_t.c.token_hash == bindparam("token_hash"), _t.c.kind == "access")
)
_TOUCH = Query(
    update(_g)
    .where(
        _g.c.id == bindparam("id"),
        or_(_g.c.last_used_at.is_(None), _g.c.last_used_at <= bindparam("stale")),
    )
    .values(last_used_at=bindparam("now"))
)


async def find_access(conn: Connection, token: str) -> Row | None:
    return (await conn.execute(_ACCESS, {"token_hash": hash_token(token)})).first()


async def verify(db: Database, known: KnownTokens, token: str) -> Identity:
    """The identity an access token speaks for (at /mcp only: its `audience`); 401 when it is
    unknown, revoked or expired. As a personal token's check (`verify_by_hash`), with the
    grant's `last_used_at` written at most once a minute."""
    return await verify_by_hash(
        db,
        known,
        token,
        lookup=_ACCESS,
        identity_of=_identity,
        touch=_TOUCH,
        touched=lambda identity: identity.grant_id,
    )


def _identity(row: Row) -> Identity:
    """As a personal token's identity (`token_identity`), with the OAuth scope as `read` or
    `write`, for /mcp only (its audience), and its grant."""
    return replace(
        token_identity(row),
        scope=token_scope(row["scope"]).value,
        audience=MCP_AUDIENCE,
        grant_id=uuid.UUID(str(row["grant_id"])),
    )


# --- ending grants: an app's connection, or every app of an account whose password is reset --

_ACCESS_IDS = select(_t.c.id).where(_t.c.kind == "access")


async def revoke_grants(conn: Connection, *conditions: Any) -> tuple[int, list[uuid.UUID]]:
    """Delete the grants that match (their tokens go with them): how many, and the ids of their
    access tokens, which every process must forget (`KnownTokens.revoked`, once the connection
    is back in the pool: it takes one of its own) before the caller answers."""
    async with conn.transaction():
        grant_ids = select(_g.c.id).where(*conditions)
        ids = [
            uuid.UUID(str(row["id"]))
            for row in await conn.execute(_ACCESS_IDS.where(_t.c.grant_id.in_(grant_ids)))
        ]
        deleted = (await conn.execute(delete(_g).where(*conditions))).rowcount
    return deleted, ids


async def connected_apps(conn: Connection, *conditions: Any) -> list[str]:
    """The names of the apps connected by the grants that match (a code never exchanged
    connected nothing), each once, in order."""
    rows = await conn.execute(
        select(_g.c.client_name).where(*conditions, _g.c.exchanged_at.is_not(None)).distinct()
    )
    return sorted({str(row["client_name"]) for row in rows}, key=str.casefold)


def grants_of(user_id: uuid.UUID) -> Any:
    """Every grant of the user, whichever app holds it."""
    return _g.c.user_id == user_id
