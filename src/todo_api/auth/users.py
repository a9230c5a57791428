"""User rows, created the first time a subject is seen."""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from todo_api.auth.tokens import Identity
from todo_api.db import Connection, IntegrityViolation, insert_or_ignore
from todo_api.kit.ids import utcnow
from todo_api.tables.users import users

T = TypeVar("T")


async def ensure_user(conn: Connection, identity: Identity) -> None:
    """Create the user row unless it exists; safe when many first requests race.

    Conflicts are absorbed by the database (`ON CONFLICT DO NOTHING`). When the row was not
    written and the token carried an email, that email may belong to another user: the row is
    then created without it rather than failing the request.
    """
    now = utcnow()
    row = {
        "id": identity.user_id,
        "email": identity.email,
        "name": identity.name,
        "created_at": now,
        "updated_at": now,
    }
    result = await conn.execute(insert_or_ignore(conn, users).values(**row))
    if result.rowcount == 0 and identity.email is not None:
        await conn.execute(insert_or_ignore(conn, users).values(**{**row, "email": None}))


async def with_user_row(
    conn: Connection, identity: Identity, write: Callable[[], Awaitable[T]]
) -> T:
    """Run a write that needs the caller's user row. If the row went away behind this
    process's cache of known users (an account deleted while its token lives on), the token's
    subject becomes a user again, as on first sight, and the write runs once more."""
    try:
        async with conn.savepoint():
            return await write()
    except IntegrityViolation:
        await ensure_user(conn, identity)
        return await write()


class KnownUsers:
    """The user ids this process has already ensured, so the check costs nothing after once."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[UUID, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, user_id: UUID) -> bool:
        if user_id in self._ids:
            self._ids.move_to_end(user_id)
            return True
        return False

    def discard(self, user_id: UUID) -> None:
        """The user's row is gone (a deleted account): their next request makes it again."""
        self._ids.pop(user_id, None)

    def add(self, user_id: UUID) -> None:
        self._ids[user_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
