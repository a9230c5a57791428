"""The change feed: what changed since a sync token, oldest first, and the token to use next.

Every task write is stamped by a trigger with (writing transaction, sequence number), and a
delete leaves a tombstone stamped the same way (migration 0004). Reading, the feed first takes
a bound below which every write has finished: on PostgreSQL the oldest transaction still
running, on SQLite (one writer at a time) one past the last stamp. Only changes under the
bound are returned, so a slow transaction that commits after a faster one is read on the next
call, not skipped.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Table, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_api.signing import InvalidToken, Signer
from todo_api.tasks.models import tasks, tombstones

# One past the newest stamp that can no longer change (see the module's docstring).
_BOUND = {
    "postgresql": text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"),
    "sqlite": text("SELECT value + 1 FROM sync_counter WHERE id = 1"),
}


class InvalidSyncToken(ValueError):
    pass


class ExpiredSyncToken(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    txid: int = 0
    seq: int = 0


@dataclass(frozen=True)
class Feed:
    changes: list[Row[Any]]
    deleted: list[uuid.UUID]
    position: Position
    has_more: bool


class SyncTokens:
    """Sync tokens: a position in the feed and when it was handed out, signed for one user."""

    def __init__(self, secret: str, retention_seconds: float) -> None:
        self._signer = Signer(secret, "todo-api sync token")
        self._retention = retention_seconds

    def issue(self, user_id: uuid.UUID, position: Position) -> str:
        return self._signer.dumps([position.txid, position.seq, int(time.time())], user_id.hex)

    def read(self, user_id: uuid.UUID, token: str) -> Position:
        try:
            txid, seq, issued_at = self._signer.loads(token, user_id.hex)
            position = Position(int(txid), int(seq))
            issued = float(issued_at)
        except InvalidToken as exc:
            raise InvalidSyncToken(str(exc)) from None
        except (TypeError, ValueError):
            raise InvalidSyncToken("is not a sync token") from None
        # Tombstones older than the retention are gone: an older token could miss deletions.
        if time.time() - issued > self._retention:
            raise ExpiredSyncToken
        return position


async def read_changes(
    *, conn: AsyncConnection, user_id: uuid.UUID, since: Position | None, limit: int
) -> Feed:
    bound = (await conn.execute(_BOUND[conn.dialect.name])).scalar_one()
    start = since or Position()

    def newer(table: Table) -> list[ColumnElement[bool]]:
        stamp = tuple_(table.c.change_txid, table.c.change_seq)
        return [
            table.c.user_id == user_id,
            stamp > tuple_(literal(start.txid), literal(start.seq)),
            table.c.change_txid < bound,
        ]

    def in_order(table: Table) -> list[ColumnElement[Any]]:
        return [table.c.change_txid, table.c.change_seq]

    changed = list(
        await conn.execute(
            select(tasks).where(*newer(tasks)).order_by(*in_order(tasks)).limit(limit + 1)
        )
    )
    removed: list[Row[Any]] = []
    if since is not None:  # a first sync has nothing to forget
        removed = list(
            await conn.execute(
                select(tombstones.c.task_id, tombstones.c.change_txid, tombstones.c.change_seq)
                .where(*newer(tombstones))
                .order_by(*in_order(tombstones))
                .limit(limit + 1)
            )
        )
    merged = sorted(
        [(Position(r.change_txid, r.change_seq), r, False) for r in changed]
        + [(Position(r.change_txid, r.change_seq), r, True) for r in removed],
        key=lambda item: (item[0].txid, item[0].seq),
    )
    page = merged[:limit]
    return Feed(
        changes=[row for _, row, gone in page if not gone],
        deleted=[row.task_id for _, row, gone in page if gone],
        position=page[-1][0] if page else start,
        has_more=len(merged) > limit,
    )
