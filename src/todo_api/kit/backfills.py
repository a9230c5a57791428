"""The backfills that migrations leave to the running service: a migration of a big table
declares them (`BACKFILLS = [Backfill(...)]` in its module, migrations/online.py) rather than
holding up the service's start, and this singleton job works through them once the service
serves, a batch at a time, each batch its own short transaction, until none has rows left to
do. A batch updates only the rows its `todo` still names, so a job that stopped (a restart, a
deploy) resumes without redoing any; the code reads such a column with a fallback until a
later release contracts it.
"""

import functools
import time
import weakref
from collections.abc import Sequence

from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.jobs import Schedule
from todo_api.migrations import alembic_config, shipped
from todo_api.migrations.batches import Backfill, BatchSize

schedule = Schedule()

# One turn's work at the most; while any is left, the next turn starts at once.
TURN_SECONDS = 10.0


@functools.cache
def declared() -> tuple[Backfill, ...]:
    """Every backfill the shipped migrations declare, oldest migration first. Alembic loads
    them only when one of their files declares any: until then, no process that serves holds
    it."""
    if not any(rev.declares_backfills for rev in shipped()):
        return ()
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    revisions = reversed(list(script.walk_revisions()))
    return tuple(work for rev in revisions for work in getattr(rev.module, "BACKFILLS", ()))


# Per database (of this process): the last key each backfill reached (none: from the start),
# DONE once it has no rows left to do.
_reached: "weakref.WeakKeyDictionary[Database, dict[Backfill, object]]" = (
    weakref.WeakKeyDictionary()
)
DONE = object()


# Looked for at start and once per housekeeping interval; while rows are left, turn after turn.
@schedule.job("migrations.backfill", every=lambda settings: settings.maintenance_interval_seconds)
async def run_backfills(db: Database, settings: Settings) -> float | None:
    """The declared backfills; 0 (a turn again at once) while any has rows left to do."""
    left = await work_through(db, declared(), time.monotonic() + TURN_SECONDS)
    return 0.0 if left else None


async def work_through(db: Database, backfills: Sequence[Backfill], deadline: float) -> bool:
    """Batches of `backfills`, in order, until they are done or the `deadline` (a monotonic
    time) passes; whether any is left."""
    reached = _reached.setdefault(db, {})
    for work in backfills:
        if reached.get(work) is DONE:
            continue
        size = BatchSize()
        while time.monotonic() < deadline:
            started = time.monotonic()
            after = reached.get(work)
            async with db.transaction() as conn:
                last = (await conn.execute(work.keys(after, size.rows))).scalar()
                if last is not None:
                    await conn.execute(work.update(after, last))
            if last is None:
                reached[work] = DONE
                break
            size.took(time.monotonic() - started)
            reached[work] = last
        else:
            return True
    return False
