"""Profile claims: a token's `email` and `name` kept on the user's row.

A user renamed at the issuer (or given another email) carries the new values in their next
token, and the row follows. To cost nothing per request, the process remembers the claims it
last applied for each user and goes to the database only when a token carries different ones.
A claim a token does not carry (or carries unusable) changes nothing, and an email that
another user already has is ignored: the request goes on, and the row keeps its email.

`SeenProfiles` is an OrderedDict with a capacity, as `KnownUsers` is, rather than
`cachetools.LRUCache`, which costs 2.5 times as much on a hit and 3.6 times on an add to a full
cache (bench/README.md, `library_choices.py`).
"""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select, update

from todo_api.auth.identity import Identity
from todo_api.db import Connection, IntegrityViolation
from todo_api.kit.ids import utcnow
from todo_api.tables.users import users

_other = users.alias("other_user")


async def update_profile(conn: Connection, identity: Identity) -> None:
    """Write the token's `email` and `name` claims to the user's row where they differ.

    One conditional UPDATE, which writes nothing when the row already has them.
    """
    try:
        await conn.execute(_profile_update(identity, with_email=True))
    except IntegrityViolation:
        # Another user took the email between the check and the write: keep the name only.
        if identity.name is not None:
            await conn.execute(_profile_update(identity, with_email=False))


def _profile_update(identity: Identity, *, with_email: bool) -> Any:
    values: dict[str, Any] = {}
    differs = []
    if identity.name is not None:
        values["name"] = identity.name
        differs.append(users.c.name.is_distinct_from(identity.name))
    if with_email and identity.email is not None:
        free = ~(
            select(_other.c.id)
            .where(func.lower(_other.c.email) == identity.email, _other.c.id != identity.user_id)
            .exists()
        )
        values["email"] = case((free, identity.email), else_=users.c.email)
        differs.append(and_(users.c.email.is_distinct_from(identity.email), free))
    return (
        update(users)
        .where(users.c.id == identity.user_id, or_(*differs))
        .values(**values, updated_at=utcnow())
    )


@dataclass(frozen=True, slots=True)
class _Seen:
    email: str | None
    name: str | None
    issued_at: float | None


class SeenProfiles:
    """The claims this process last applied per user (the most recently used `capacity`)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._seen: OrderedDict[UUID, _Seen] = OrderedDict()
        self._capacity = capacity

    def is_news(self, identity: Identity) -> bool:
        """Whether the token carries claims this process has not applied yet. A built-in
        sign-in's token never does: it carries what the row said when it was issued, and the
        row (whose email a confirmed change moves) is the truth."""
        if identity.sign_in is not None or (identity.email is None and identity.name is None):
            return False
        seen = self._seen.get(identity.user_id)
        if seen is None:
            return True
        self._seen.move_to_end(identity.user_id)
        return _differs(identity, seen) and not _older(identity.issued_at, seen.issued_at)

    def forget(self, user_id: UUID) -> None:
        """The user's row is gone (a deleted account): their next token's claims are news."""
        self._seen.pop(user_id, None)

    async def sync(self, conn: Connection, identity: Identity) -> None:
        """Update the user's row if this token's claims are news to this process.

        Claims of a token issued before the one last applied are not news: while an old and a
        new token of one user are both in use, the row keeps the newer values.
        """
        if not self.is_news(identity):
            return
        seen = self._seen.get(identity.user_id)
        await update_profile(conn, identity)
        self._seen[identity.user_id] = _Seen(
            email=identity.email or (seen.email if seen else None),
            name=identity.name or (seen.name if seen else None),
            issued_at=_latest(identity.issued_at, seen.issued_at if seen else None),
        )
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)


def _differs(identity: Identity, seen: _Seen) -> bool:
    return (identity.email is not None and identity.email != seen.email) or (
        identity.name is not None and identity.name != seen.name
    )


def _older(issued_at: float | None, than: float | None) -> bool:
    return issued_at is not None and than is not None and issued_at < than


def _latest(a: float | None, b: float | None) -> float | None:
    return max(a, b) if a is not None and b is not None else (a if a is not None else b)
