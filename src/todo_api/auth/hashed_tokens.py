"""Tokens kept by their hash: personal access tokens (todo_api.auth.personal) and the OAuth
access tokens of the built-in authorization server (todo_api.oauth) are each 256 random
bits, kept only as their SHA-256 (`hash_token`), and checked by one lookup of that hash
(`verify_by_hash`).

Revocation holds from the next request on every worker and instance. A token is looked up by
its hash (one indexed read); revoking deletes its row. Each process keeps what it looked up
(`KnownTokens`) so that a busy token costs no lookup per request (a lookup per request made a
small read cost 1.3 x the same with a JWT: bench/README.md), and a revocation reaches
every process through the channel live updates already use (todo_api.live.wakeups: PostgreSQL
LISTEN/NOTIFY on a direct connection, or Redis pub/sub): the revoking process sends the token's
id after the delete has committed, every process forgets it when it hears it and says so, and
the revocation answers once every process listening has (at most `CONFIRM_SECONDS` later:
todo_api.live.hub). A process keeps nothing while it does not hear the channel (none configured:
SQLite, or a pooler without a direct URL; or the channel down), forgets everything when the
channel reconnects (what was sent meanwhile is lost), never keeps an entry past
`KNOWN_TOKEN_SECONDS` (the bound of a message lost otherwise), and drops a lookup that a
revocation overtook (`KnownTokens.generation`). Without the channel, every request looks its
token up.

A revoked token and one never issued take the same path (a lookup that finds nothing), and an
expired one the same lookup (it is never answered from memory), so their answers take the
same time. Expiry is decided by this service's clock.

`last_used_at` is at most `LAST_USED_RESOLUTION` behind the latest use and is written at most
once per resolution per token: the lookup (or the process's entry) tells when it was last
written, and only a request that finds it older writes it, with a conditional UPDATE that only
one of several processes racing at that moment gets to make.
"""

import base64
import hashlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from todo_api.auth.errors import InvalidToken, TokenExpired
from todo_api.auth.identity import Identity
from todo_api.db import Connection, Database, Query, Row
from todo_api.kit.ids import utcnow

LAST_USED_RESOLUTION = timedelta(minutes=1)
KNOWN_TOKEN_SECONDS = 30.0
KNOWN_TOKENS_MAX = 10_000
RANDOM_BYTES = 32


def new_secret(prefix: str) -> str:
    """A new token: `prefix` and 32 random bytes in base64url (256 bits)."""
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(RANDOM_BYTES)).decode().rstrip("=")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(slots=True)
class KnownToken:
    identity: Identity
    expires_at: datetime | None
    last_used_at: datetime | None
    good_until: float  # time.monotonic()


class KnownTokens:
    """The tokens this process looked up lately, by their hash (see the module's docstring).

    `trusted` says whether revocations are heard now (set by whoever listens to the channel;
    never, by default); `announce` sends revoked credentials' ids and deleted users' to every
    process (this one included: todo_api.live.hub ends the streams they opened)."""

    def __init__(self, max_age: float = KNOWN_TOKEN_SECONDS) -> None:
        self._max_age = max_age
        self._entries: dict[str, KnownToken] = {}
        self._hashes: dict[uuid.UUID, str] = {}  # token id -> its hash
        self.generation = 0  # moves on every forgetting: a lookup it overtook is not kept
        self.trusted: Callable[[], bool] = lambda: False
        self.announce: Callable[[list[uuid.UUID], list[uuid.UUID]], Awaitable[None]] | None = None

    def get(self, token_hash: str) -> KnownToken | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if time.monotonic() < entry.good_until and self.trusted():
            return entry
        self._drop(token_hash)
        return None

    def add(self, token_hash: str, entry: KnownToken, generation: int) -> None:
        if generation != self.generation or not self.trusted():
            return
        if len(self._entries) >= KNOWN_TOKENS_MAX:
            self._drop(next(iter(self._entries)))
        entry.good_until = time.monotonic() + self._max_age
        self._entries[token_hash] = entry
        if entry.identity.token_id is not None:
            self._hashes[entry.identity.token_id] = token_hash

    def forget(self, token_ids: Iterable[uuid.UUID]) -> None:
        self.generation += 1
        for token_id in token_ids:
            token_hash = self._hashes.get(token_id)
            if token_hash is not None:
                self._drop(token_hash)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._hashes.clear()

    async def revoked(self, *token_ids: uuid.UUID, deleted_user: uuid.UUID | None = None) -> None:
        """Revocations have committed (a token revoked, a sign-in ended, a user deleted with
        every token of theirs): forget them here, and tell every process."""
        users = [] if deleted_user is None else [deleted_user]
        if not token_ids and not users:
            return
        self.forget([*token_ids, *users])
        if self.announce is not None:
            await self.announce(list(token_ids), users)

    def _drop(self, token_hash: str) -> None:
        entry = self._entries.pop(token_hash, None)
        if entry is not None and entry.identity.token_id is not None:
            self._hashes.pop(entry.identity.token_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def token_identity(row: Row) -> Identity:
    """Who a token's row (`id`, `user_id`, `scope`, `expires_at`) speaks for."""
    # As a JWT's identity has them: Python's UUIDs (asyncpg gives its own type).
    user_id = uuid.UUID(str(row["user_id"]))
    expires_at: datetime | None = row["expires_at"]
    return Identity(
        user_id=user_id,
        subject=str(user_id),
        email=None,
        scope=row["scope"],
        token_id=uuid.UUID(str(row["id"])),
        expires_at=None if expires_at is None else expires_at.timestamp(),
    )


async def verify_by_hash(
    db: Database,
    known: KnownTokens,
    token: str,
    *,
    lookup: Query,
    identity_of: Callable[[Row], Identity],
    touch: Query,
    touched: Callable[[Identity], uuid.UUID | None],
) -> Identity:
    """The identity a token kept by its hash speaks for (a personal token, an OAuth access
    token); 401 when it is unknown, revoked or expired. `lookup` finds its row by `token_hash`
    (with `expires_at`, None for never, and `last_used_at`), `identity_of` makes the identity,
    and `touch` writes `last_used_at` (`id`: `touched(identity)`) when it is a resolution old.
    """
    token_hash = hash_token(token)
    now = utcnow()
    entry = known.get(token_hash)
    if entry is not None and (entry.expires_at is None or entry.expires_at > now):
        if entry.last_used_at is None or entry.last_used_at <= now - LAST_USED_RESOLUTION:
            async with db.connection() as conn:
                await _touch(conn, touch, touched(entry.identity), now)
            entry.last_used_at = now
        return entry.identity
    generation = known.generation
    async with db.connection() as conn:
        row = (await conn.execute(lookup, {"token_hash": token_hash})).first()
        if row is None:
            raise InvalidToken("The token is not valid")
        expires_at: datetime | None = row["expires_at"]
        if expires_at is not None and expires_at <= now:
            raise TokenExpired("The token has expired")
        identity = identity_of(row)
        last_used: datetime | None = row["last_used_at"]
        if last_used is None or last_used <= now - LAST_USED_RESOLUTION:
            await _touch(conn, touch, touched(identity), now)
            last_used = now
    known.add(token_hash, KnownToken(identity, expires_at, last_used, 0.0), generation)
    return identity


async def _touch(conn: Connection, touch: Query, row_id: uuid.UUID | None, now: datetime) -> None:
    stale = now - LAST_USED_RESOLUTION
    await conn.execute(touch, {"id": row_id, "stale": stale, "now": now})
