"""Personal access tokens: long-lived, revocable, scoped tokens for scripts, command-line
tools, calendar apps and assistants.

A token is `todo_pat_` and 32 random bytes in base64url (256 bits). It is shown once, when it
is made; the table keeps only its SHA-256 (`personal_tokens.token_hash`, unique), so a copy of
the database gives nobody a usable token. The random part is what keeps a token secret, so a
plain hash is enough (a slow password hash would only slow every request down).

Its hash, its lookup and what a process keeps of the tokens it looked up (and forgets when
one is revoked) are shared with OAuth's access tokens: todo_api.auth.hashed_tokens.
"""

import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update

from todo_api.auth.errors import TokenNotFound, TooManyTokens
from todo_api.auth.hashed_tokens import (
    KnownTokens,
    hash_token,
    new_secret,
    token_identity,
    verify_by_hash,
)
from todo_api.auth.identity import Identity
from todo_api.db import Connection, Database, Query, Row
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.tokens import TOKEN_PREFIX_LENGTH, personal_tokens
from todo_api.tables.users import users

PREFIX = "todo_pat_"
MAX_TOKENS_PER_USER = 50


class Scope(StrEnum):
    read = "read"
    write = "write"


_pt = personal_tokens
_LOOKUP = Query(
    select(_pt.c.id, _pt.c.user_id, _pt.c.scope, _pt.c.expires_at, _pt.c.last_used_at).where(
        _pt.c.token_hash == bindparam("token_hash")
    )
)
# Written only when the stored time is a resolution old; of processes racing, one writes.
_TOUCH = Query(
    update(_pt)
    .where(
        _pt.c.id == bindparam("id"),
        or_(_pt.c.last_used_at.is_(None), _pt.c.last_used_at <= bindparam("stale")),
    )
    .values(last_used_at=bindparam("now"))
)
_LOCK_USER = Query(select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update())
_COUNT = Query(select(func.count()).select_from(_pt).where(_pt.c.user_id == bindparam("user_id")))
_LISTED = (
    _pt.c.id,
    _pt.c.name,
    _pt.c.scope,
    _pt.c.prefix,
    _pt.c.created_at,
    _pt.c.expires_at,
    _pt.c.last_used_at,
)
_INSERT = Query(insert(_pt).returning(*_LISTED))
_ALL = Query(
    select(*_LISTED)
    .where(_pt.c.user_id == bindparam("user_id"))
    .order_by(_pt.c.created_at.desc(), _pt.c.id.desc())
)
_DELETE = Query(
    delete(_pt).where(_pt.c.id == bindparam("id"), _pt.c.user_id == bindparam("user_id"))
)


async def verify(db: Database, known: KnownTokens, token: str) -> Identity:
    """The identity a personal token speaks for; 401 when it is unknown, revoked or expired."""
    return await verify_by_hash(
        db,
        known,
        token,
        lookup=_LOOKUP,
        identity_of=token_identity,
        touch=_TOUCH,
        touched=lambda identity: identity.token_id,
    )


async def create_token(
    conn: Connection, user_id: uuid.UUID, *, name: str, scope: Scope, expires_in_days: int | None
) -> tuple[Row, str]:
    """A new token and its text (which is not kept); TooManyTokens beyond the limit. The
    user's row lock (PostgreSQL; SQLite's write transactions take turns) keeps two creates at
    once from making a 51st."""
    token = new_secret(PREFIX)
    now = utcnow()
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "name": name,
        "scope": scope.value,
        "token_hash": hash_token(token),
        "prefix": token[:TOKEN_PREFIX_LENGTH],
        "created_at": now,
        "expires_at": None if expires_in_days is None else now + timedelta(days=expires_in_days),
        "last_used_at": None,
    }
    async with conn.transaction():
        if conn.name == "postgresql":
            await conn.execute(_LOCK_USER, {"user_id": user_id})
        if (await conn.execute(_COUNT, {"user_id": user_id})).scalar() >= MAX_TOKENS_PER_USER:
            raise TooManyTokens(MAX_TOKENS_PER_USER)
        row = (await conn.execute(_INSERT, values)).one()
    return row, token


async def list_tokens(conn: Connection, user_id: uuid.UUID) -> list[Row]:
    return (await conn.execute(_ALL, {"user_id": user_id})).rows


async def revoke_token(conn: Connection, user_id: uuid.UUID, token_id: uuid.UUID) -> None:
    """Delete the token: the next request that carries it, on any process, finds nothing."""
    if not (await conn.execute(_DELETE, {"id": token_id, "user_id": user_id})).rowcount:
        raise TokenNotFound


async def revoke_all(conn: Connection, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Delete every token of the user: their ids, which every process must forget
    (`KnownTokens.revoked`) once the deletion has committed."""
    deleted = await conn.execute(delete(_pt).where(_pt.c.user_id == user_id).returning(_pt.c.id))
    return [uuid.UUID(str(row.id)) for row in deleted]
