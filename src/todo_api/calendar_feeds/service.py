"""Calendar feeds: make one (its secret shown once), list them, delete one, and find one by its
URL's secret.

A secret is 32 random bytes in base64url (256 bits), kept only as its SHA-256
(`calendar_feeds.secret_hash`, unique), as personal tokens (todo_api.auth.hashed_tokens) and
invitations are: the random part is what keeps it secret, so a plain hash is enough. A URL is
found by one indexed read of that hash; a wrong secret takes the same read and finds nothing,
so it answers in the same time as a right one's lookup.
"""

import hashlib
import secrets
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select

from todo_api.calendar_feeds.errors import FeedNotFound, TooManyFeeds
from todo_api.db import Connection, Query, Row
from todo_api.filters import service as filters
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists import service as lists
from todo_api.tables.calendar_feeds import calendar_feeds
from todo_api.tables.users import users

# A person's feeds at most: a calendar app per device and a few lists is plenty.
MAX_FEEDS_PER_USER = 20
SECRET_BYTES = 32


class Include(StrEnum):
    dated = "dated"  # tasks with a due or a start, as events
    all = "all"  # those and the undated ones, as tasks (VTODO)


_f = calendar_feeds
_LISTED = (_f.c.id, _f.c.list_id, _f.c.filter_id, _f.c.include, _f.c.created_at)
_LOOKUP = Query(select(*_LISTED, _f.c.user_id).where(_f.c.secret_hash == bindparam("hash")))
_LOCK_USER = Query(select(users.c.id).where(users.c.id == bindparam("user_id")).with_for_update())
_COUNT = Query(select(func.count()).select_from(_f).where(_f.c.user_id == bindparam("user_id")))
_INSERT = Query(insert(_f).returning(*_LISTED))
_ALL = Query(
    select(*_LISTED)
    .where(_f.c.user_id == bindparam("user_id"))
    .order_by(_f.c.created_at.desc(), _f.c.id.desc())
)
_DELETE = Query(delete(_f).where(_f.c.id == bindparam("id"), _f.c.user_id == bindparam("user_id")))


async def create_feed(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    list_id: uuid.UUID | None,
    filter_id: uuid.UUID | None,
    include: Include,
) -> tuple[Row, str]:
    """A new feed and its secret (which is not kept). The list must be one the user sees and
    the filter one of theirs (else 404, as for any other); TooManyFeeds beyond the limit. The
    user's row lock (PostgreSQL; SQLite's write transactions take turns) keeps two creates at
    once from making a 21st."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "list_id": list_id,
        "filter_id": filter_id,
        "include": include.value,
        "secret_hash": hash_secret(secret),
        "created_at": utcnow(),
    }
    async with conn.transaction():
        if list_id is not None:
            await lists.get_list(conn, user_id, list_id)
        if filter_id is not None:
            await filters.get_filter(conn, user_id, filter_id)
        if conn.name == "postgresql":
            await conn.execute(_LOCK_USER, {"user_id": user_id})
        if (await conn.execute(_COUNT, {"user_id": user_id})).scalar() >= MAX_FEEDS_PER_USER:
            raise TooManyFeeds(MAX_FEEDS_PER_USER)
        row = (await conn.execute(_INSERT, values)).one()
    return row, secret


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


async def list_feeds(conn: Connection, user_id: uuid.UUID) -> list[Row]:
    return (await conn.execute(_ALL, {"user_id": user_id})).rows


async def delete_feed(conn: Connection, user_id: uuid.UUID, feed_id: uuid.UUID) -> None:
    """Delete the feed: its URL answers 404 from the next request on."""
    if not (await conn.execute(_DELETE, {"id": feed_id, "user_id": user_id})).rowcount:
        raise FeedNotFound


async def find_feed(conn: Connection, secret: str) -> Row | None:
    """The feed whose URL carries `secret`, by one indexed read of its hash."""
    return (await conn.execute(_LOOKUP, {"hash": hash_secret(secret)})).first()
