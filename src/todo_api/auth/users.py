"""User rows, created the first time a subject is seen.

`KnownUsers` is an OrderedDict with a capacity rather than `cachetools.LRUCache`: its check runs
on every request, 0.26 µs against 0.65 µs (an add to a full cache 0.81 against 2.93 µs), and it
also remembers lately deleted ids (bench/README.md, `library_choices.py`).
"""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from sqlalchemy import bindparam, select

from todo_api.auth.errors import InvalidToken
from todo_api.auth.identity import Identity
from todo_api.db import Connection, IntegrityViolation, Query, insert_or_ignore
from todo_api.kit.ids import utcnow
from todo_api.tables.users import users

T = TypeVar("T")

_EXISTS = Query(select(users.c.id).where(users.c.id == bindparam("id")))
_VERIFIED = Query(select(users.c.email_verified).where(users.c.id == bindparam("id")))


async def ensure_user(conn: Connection, identity: Identity) -> None:
    """Create the user row unless it exists; safe when many first requests race. Only an
    external issuer's token makes a user (`Identity.may_create_user`): this service's own
    tokens are refused (401) once their user is gone, so that a request racing the account's
    deletion, or an old token, never brings back a new, empty user.

    Conflicts are absorbed by the database (`ON CONFLICT DO NOTHING`). When the row was not
    written and the token carried an email, that email may belong to another user: the row is
    then created without it rather than failing the request.
    """
    if not identity.may_create_user:
        if not await _exists(conn, identity.user_id):
            raise InvalidToken("The token is not valid: its account was deleted")
        return
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
    conn: Connection, identity: Identity, write: Callable[[], Awaitable[T]], known: "KnownUsers"
) -> T:
    """Run a write that needs the caller's user row. If the row went away behind this
    process's cache of known users (an account deleted while its token lives on, elsewhere),
    an external issuer's subject becomes a user again, as on first sight, and the write runs
    once more; any other token is refused (`ensure_user`). A write whose user was deleted by
    this process, or one that told it, fails instead (401): it ran while the deletion
    committed, and nothing of the account outlives its deletion, not even in a new user."""
    try:
        async with conn.savepoint():
            return await write()
    except IntegrityViolation:
        if known.deleted(identity.user_id) and not await _exists(conn, identity.user_id):
            raise InvalidToken("The account was deleted while this request ran") from None
        await ensure_user(conn, identity)
        return await write()


async def _exists(conn: Connection, user_id: UUID) -> bool:
    return (await conn.execute(_EXISTS, {"id": user_id})).first() is not None


async def email_verified(conn: Connection, user_id: UUID) -> bool:
    return bool((await conn.execute(_VERIFIED, {"id": user_id})).scalar())


class KnownUsers:
    """The user ids this process has already ensured, so the check costs nothing after once;
    and those it knows were deleted lately (as many at most).

    With each, whether its email is cleared: confirmed, or not asked for (EMAIL_VERIFICATION is
    not `required`). A confirmed email stays confirmed, so it is asked once per process; an
    unconfirmed one is never kept, so that a confirmation made on any process counts from the
    next request on every other."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[UUID, bool] = OrderedDict()  # -> its email is cleared
        self._deleted: OrderedDict[UUID, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, user_id: UUID) -> bool:
        if user_id in self._ids:
            self._ids.move_to_end(user_id)
            return True
        return False

    def discard(self, user_id: UUID) -> None:
        """The user's row is going or gone (a deleted account): their next request makes it
        again (`ensure_user`), and a write it overtook fails (`with_user_row`)."""
        self._ids.pop(user_id, None)
        self._deleted[user_id] = None
        if len(self._deleted) > self._capacity:
            self._deleted.popitem(last=False)

    def deleted(self, user_id: UUID) -> bool:
        return user_id in self._deleted

    def add(self, user_id: UUID) -> None:
        self._ids.setdefault(user_id, False)
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def email_cleared(self, user_id: UUID) -> bool:
        return self._ids.get(user_id, False)

    def clear_email(self, user_id: UUID) -> None:
        if user_id in self._ids:
            self._ids[user_id] = True
