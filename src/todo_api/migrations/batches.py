"""A backfill's batches (online.py's rule 5), without Alembic: the migration that runs one at
once (`online.backfill`) and the service that runs the declared ones (`kit/backfills.py`) share
them, and the service does not load Alembic to serve."""

# The statements are built from a migration's own constant names and SQL: nothing from outside
# reaches them.
# ruff: noqa: S608

from dataclasses import dataclass

import sqlalchemy as sa

# The most rows a batch of a backfill updates, and the time one should take at the most.
BACKFILL_BATCH = 5000
BATCH_SECONDS = 0.2


@dataclass(frozen=True, slots=True)
class Backfill:
    """`UPDATE table SET assignments WHERE todo`, in batches by key, each its own transaction;
    `todo` names the rows still to do, so an interrupted backfill resumes without redoing any.

    A migration runs one with `backfill(...)`; or declares it, `BACKFILLS = [Backfill(...)]`,
    and the service runs it after it starts (`kit/backfills.py`), a batch at a time."""

    table: str
    assignments: str
    todo: str

    def keys(self, after: object, size: int) -> sa.TextualSelect:
        """The last key of the next batch after `after` (None: from the start)."""
        start = "" if after is None else "WHERE id > :after"
        keys = f"SELECT id FROM {self.table} {start} ORDER BY id LIMIT {int(size)}"
        last = sa.text(f"SELECT id FROM ({keys}) k ORDER BY id DESC LIMIT 1")
        if after is not None:
            last = last.bindparams(after=after)
        return last.columns(sa.column("id"))  # the key as the driver gives it, given back so

    def update(self, after: object, last: object) -> sa.TextClause:
        """The batch's rows still to do, the keys after `after` up to `last`."""
        lower = "" if after is None else "id > :after AND "
        where = f"{lower}id <= :last AND ({self.todo})"
        update = sa.text(f"UPDATE {self.table} SET {self.assignments} WHERE {where}")
        return (
            update.bindparams(last=last)
            if after is None
            else update.bindparams(after=after, last=last)
        )


class BatchSize:
    """A batch's rows stay locked until it commits, and a write of one of them waits: the size
    follows the time a batch takes, halved above BATCH_SECONDS, doubled well below it."""

    def __init__(self, rows: int = 1000) -> None:
        self.rows = rows

    def took(self, seconds: float) -> None:
        if seconds > BATCH_SECONDS:
            self.rows = max(100, self.rows // 2)
        elif seconds < BATCH_SECONDS / 4:
            self.rows = min(BACKFILL_BATCH, self.rows * 2)
