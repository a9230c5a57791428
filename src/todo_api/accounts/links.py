"""The single-use tokens account emails link to: at least 128 random bits (256 here), kept as
their SHA-256, used once (a conditional UPDATE decides between two racing uses), and good
until they expire. A token is for one purpose: a reset link never confirms an email."""

import hashlib
import secrets
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, update

from todo_api.auth.errors import InvalidLink
from todo_api.db import Connection, Row
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.accounts import account_tokens

RANDOM_BYTES = 32


class Purpose(StrEnum):
    reset = "reset"
    verify = "verify"
    email_change = "email_change"


LIFETIMES = {
    Purpose.reset: timedelta(hours=1),
    Purpose.verify: timedelta(hours=48),
    Purpose.email_change: timedelta(hours=48),
}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


_at = account_tokens.c


def _usable(token: str, purposes: tuple[Purpose, ...]) -> tuple[Any, ...]:
    return (
        _at.token_hash == _digest(token),
        _at.purpose.in_([p.value for p in purposes]),
        _at.used_at.is_(None),
        _at.expires_at > utcnow(),
    )


async def issue(
    conn: Connection, *, user_id: uuid.UUID, purpose: Purpose, email: str | None = None
) -> str:
    """A new token (its text: only its hash is kept)."""
    token = secrets.token_urlsafe(RANDOM_BYTES)
    now = utcnow()
    await conn.execute(
        insert(account_tokens).values(
            id=new_id(),
            user_id=user_id,
            purpose=purpose.value,
            token_hash=_digest(token),
            email=email,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


async def peek(conn: Connection, token: str, *purposes: Purpose) -> Row:
    """The usable token's row (`user_id`, `purpose`, `email`), not used up; InvalidLink."""
    query = select(_at.user_id, _at.purpose, _at.email).where(*_usable(token, purposes))
    row = (await conn.execute(query)).first()
    if row is None:
        raise InvalidLink
    return row


async def redeem(conn: Connection, token: str, *purposes: Purpose) -> Row:
    """Use the token up: its row (`user_id`, `purpose`, `email`); InvalidLink if it is not
    usable (unknown, used, expired, or for another purpose)."""
    used = (
        update(account_tokens)
        .where(*_usable(token, purposes))
        .values(used_at=utcnow())
        .returning(_at.user_id, _at.purpose, _at.email)
    )
    row = (await conn.execute(used)).first()
    if row is None:
        raise InvalidLink
    return row


async def spend_all(conn: Connection, user_id: uuid.UUID, *purposes: Purpose) -> None:
    """Use up every token of the user for these purposes (a new password makes every reset
    link sent before it useless; a new email, every link sent before it)."""
    await conn.execute(
        update(account_tokens)
        .where(
            _at.user_id == user_id,
            _at.purpose.in_([p.value for p in purposes]),
            _at.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


async def prune(conn: Connection) -> int:
    """Delete the tokens that expired a day ago or more (used or not)."""
    deleted = await conn.execute(
        account_tokens.delete().where(_at.expires_at < utcnow() - timedelta(days=1))
    )
    return deleted.rowcount
