"""What a long-lived grant of access (a live stream, its cookie) is bound to: the credential
that asked for it, which it never outlives.

A credential is a personal access token (its id), a built-in sign-in (its refresh family's id:
the `sign_in` claim of the access tokens it issued), an OAuth grant, or, for an external
issuer's token (a JWT, a Better Auth session), the user alone. It stops working when its token
is revoked or expires, its sign-in ends (logout, a family revoked on reuse), or its user is
deleted; the user counts only as the row that existed when the credential was seen
(`seen_at`), not a new, empty user an external issuer's token made later for the same subject.

A stop is told to every process as a revocation of its id (the user's id for a deletion:
`KnownTokens.revoked`, todo_api.live.wakeups); `ended` reads what stopped from the database,
for a process that may have missed one.
"""

import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select

from todo_api.auth.identity import Identity
from todo_api.db import Connection
from todo_api.tables.oauth import oauth_grants
from todo_api.tables.tokens import personal_tokens
from todo_api.tables.users import refresh_tokens, users


class Kind(StrEnum):
    token = "token"
    sign_in = "sign_in"
    grant = "grant"
    user = "user"


@dataclass(frozen=True, slots=True)
class Credential:
    user_id: uuid.UUID
    kind: Kind
    id: uuid.UUID | None  # the token's, sign-in's or grant's id; None for the user alone
    expires_at: float | None  # Unix seconds; None: never
    seen_at: float  # Unix seconds: when it was seen to work

    @property
    def ids(self) -> tuple[uuid.UUID, ...]:
        """The ids whose revocation ends it: its own and its user's."""
        return (self.user_id,) if self.id is None else (self.id, self.user_id)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def of(identity: Identity, *, expires_at: float | None = None) -> Credential:
    """The credential of a verified token; `expires_at` bounds it further (a cookie's own
    lifetime: a sign-in's cookie outlives the access token that asked for it, not the
    sign-in; an external issuer's token, whose renewal this service never sees, is all there
    is to go by, so its cookie ends with it)."""
    kind, credential_id, expiry = Kind.user, None, identity.expires_at
    if identity.grant_id is not None:
        kind, credential_id = Kind.grant, identity.grant_id
    elif identity.token_id is not None:
        kind, credential_id = Kind.token, identity.token_id
    elif identity.sign_in is not None:
        kind, credential_id = Kind.sign_in, identity.sign_in
    if kind == Kind.sign_in and expires_at is not None:
        expiry = None  # the access token is refreshed: what counts is the sign-in
    if expires_at is not None:
        expiry = expires_at if expiry is None else min(expiry, expires_at)
    return Credential(identity.user_id, kind, credential_id, expiry, time.time())


def _uuid(value: object) -> uuid.UUID:
    return uuid.UUID(str(value))  # asyncpg gives its own type


def _timestamp(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


async def ended(conn: Connection, credentials: Collection[Credential]) -> set[Credential]:
    """Those of `credentials` that no longer work: expired, revoked, their sign-in ended or
    their user gone (a statement per kind present, whatever their number)."""
    now = time.time()
    gone = {c for c in credentials if c.expired(now)}
    live = [c for c in credentials if c not in gone]
    if not live:
        return gone
    user_ids = {c.user_id for c in live}
    created = {
        _uuid(row.id): _timestamp(row.created_at)
        for row in await conn.execute(
            select(users.c.id, users.c.created_at).where(users.c.id.in_(user_ids))
        )
    }
    gone |= {c for c in live if c.user_id not in created or created[c.user_id] > c.seen_at}
    by_kind: dict[Kind, set[uuid.UUID]] = {}
    for c in live:
        if c.id is not None:
            by_kind.setdefault(c.kind, set()).add(c.id)
    working: set[uuid.UUID] = set()
    if ids := by_kind.get(Kind.token):
        query = select(personal_tokens.c.id).where(personal_tokens.c.id.in_(ids))
        working |= {_uuid(row.id) for row in await conn.execute(query)}
    if ids := by_kind.get(Kind.grant):
        query = select(oauth_grants.c.id).where(oauth_grants.c.id.in_(ids))
        working |= {_uuid(row.id) for row in await conn.execute(query)}
    if ids := by_kind.get(Kind.sign_in):
        # A sign-in works while none of its refresh tokens is revoked and one is unexpired.
        rt = refresh_tokens.c
        query = (
            select(rt.family_id)
            .where(rt.family_id.in_(ids))
            .group_by(rt.family_id)
            .having(func.count(rt.revoked_at) == 0, func.max(rt.expires_at) > datetime.now(UTC))
        )
        working |= {_uuid(row.family_id) for row in await conn.execute(query)}
    gone |= {c for c in live if c.id is not None and c.id not in working}
    return gone
