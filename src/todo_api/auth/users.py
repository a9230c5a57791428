"""User rows, created the first time a subject is seen."""

from collections import OrderedDict
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from todo_api.auth.models import users
from todo_api.auth.tokens import Identity
from todo_api.db import insert_or_ignore, utcnow


async def ensure_user(conn: AsyncConnection, identity: Identity) -> None:
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

    def forget(self, user_id: UUID) -> None:
        self._ids.pop(user_id, None)

    def add(self, user_id: UUID) -> None:
        self._ids[user_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
