"""The change feed: what changed since a sync token, oldest first, and the token to use next.

Every task write is stamped by a trigger with (writing transaction, sequence number), and a
delete leaves a tombstone stamped the same way (migration 0004); lists are stamped from the
same sequence (migration 0007), so tasks, lists and both kinds of deletion are one stream.
Reading, the feed first takes a bound below which every write has finished: on PostgreSQL the
oldest transaction still running, on SQLite (one writer at a time) one past the last stamp.
Only changes under the bound are returned, so a slow transaction that commits after a faster
one is read on the next call, not skipped.
"""

import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, literal, select, text, tuple_

from todo_api.db import Connection, Query, Row
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables.lists import SERVED, list_tombstones, lists
from todo_api.tables.tasks import tasks, tombstones

# One past the newest stamp that can no longer change (see the module's docstring).
_BOUND = {
    "postgresql": Query(
        text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS bound").columns(
            bound=BigInteger
        )
    ),
    "sqlite": Query(
        text("SELECT value + 1 AS bound FROM sync_counter WHERE id = 1").columns(bound=BigInteger)
    ),
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
    changes: list[Row]
    deleted: list[uuid.UUID]
    lists: list[Row]
    deleted_lists: list[uuid.UUID]
    position: Position
    has_more: bool


class SyncTokens:
    """Sync tokens: a position in the feed and since when the client's view is complete up to
    it, signed for one user. The age decides expiry: tombstones older than the retention are
    gone, so an older token could miss deletions."""

    def __init__(self, secret: str, retention_seconds: float) -> None:
        self._signer = Signer(secret, "todo-api sync token")
        self._retention = retention_seconds

    def issue(self, user_id: uuid.UUID, position: Position, as_of: float) -> str:
        return self._signer.dumps([position.txid, position.seq, int(as_of)], user_id.hex)

    def read(self, user_id: uuid.UUID, token: str) -> tuple[Position, float]:
        """The token's position and age (as a time); raises if invalid or expired."""
        try:
            txid, seq, as_of = self._signer.loads(token, user_id.hex)
            position, issued = Position(int(txid), int(seq)), float(as_of)
        except InvalidToken as exc:
            raise InvalidSyncToken(str(exc)) from None
        except (TypeError, ValueError):
            raise InvalidSyncToken("is not a sync token") from None
        if time.time() - issued > self._retention:
            raise ExpiredSyncToken
        return position, issued

    def next_token(self, user_id: uuid.UUID, feed: "Feed", since_as_of: float | None) -> str:
        """The token after this call. Caught up, the view is complete as of now; mid-way
        through pages it is only as recent as where the paging started, so it keeps that age."""
        keeps_age = feed.has_more and since_as_of is not None
        as_of = since_as_of if keeps_age and since_as_of is not None else time.time()
        return self.issue(user_id, feed.position, as_of)


async def read_changes(
    conn: Connection, *, user_id: uuid.UUID, since: Position | None, limit: int
) -> Feed:
    bound = (await conn.execute(_BOUND[conn.name])).scalar()
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

    def since_start(table: Table, *columns: Any) -> Any:
        return select(*columns).where(*newer(table)).order_by(*in_order(table)).limit(limit + 1)

    streams: list[tuple[str, Any]] = [
        ("changes", since_start(tasks, tasks)),
        ("lists", since_start(lists, *SERVED).params(user_id=user_id)),
    ]
    if since is not None:  # a first sync has nothing to forget
        streams += [
            ("deleted", since_start(tombstones, *_stamped(tombstones, tombstones.c.task_id))),
            (
                "deleted_lists",
                since_start(list_tombstones, *_stamped(list_tombstones, list_tombstones.c.list_id)),
            ),
        ]
    merged: list[tuple[Position, str, Row]] = []
    for kind, statement in streams:
        for row in (await conn.execute(statement)).rows:
            merged.append((Position(row.change_txid, row.change_seq), kind, row))
    merged.sort(key=lambda item: (item[0].txid, item[0].seq))
    page = merged[:limit]
    found: dict[str, list[Any]] = {kind: [] for kind in FEED_KINDS}
    for _, kind, row in page:
        found[kind].append(row if kind in ("changes", "lists") else row.gone)
    return Feed(
        changes=found["changes"],
        deleted=found["deleted"],
        lists=found["lists"],
        deleted_lists=found["deleted_lists"],
        position=page[-1][0] if page else start,
        has_more=len(merged) > limit,
    )


FEED_KINDS = ("changes", "deleted", "lists", "deleted_lists")


def _stamped(table: Table, id_column: Any) -> list[Any]:
    return [id_column.label("gone"), table.c.change_txid, table.c.change_seq]
