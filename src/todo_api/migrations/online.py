"""Migrations run online: the rules every migration after 0021 keeps, and the steps that keep
them. `todo-api serve` migrates at start, so every upgrade is a migration under load; on
PostgreSQL no step may hold a lock that blocks reads or writes of a table for more than a second.

1. **Lock timeout, then retry.** The runner sets `lock_timeout` (LOCK_TIMEOUT) and
   `statement_timeout` (STATEMENT_TIMEOUT) on the migration's session; a step that does not get
   its lock in time fails, its migration (one transaction per migration) rolls back, and the
   runner tries again a bounded number of times (MIGRATION_LOCK_ATTEMPTS) before giving up
   with the blocking backend's name. Queueing instead would stall every query of the service
   behind the waiting lock. Nothing to write in a migration: `env.py` sets both.
2. **Indexes `CONCURRENTLY`**, built and dropped outside the transaction: `create_index`,
   `drop_index` here. An index on a table created in the same migration is the exception
   (nobody reads it yet): Alembic's `op.create_index` is fine there.
3. **Constraints `NOT VALID`, then `VALIDATE`** after the commit: `add_foreign_key`,
   `add_check`, then `validate` (in the same migration, after them, or in a later one).
   A `NOT NULL` on a big table is a validated `CHECK (col IS NOT NULL)` first; then
   `SET NOT NULL` uses it instead of scanning.
4. **No table rewrite.** No type change that rewrites (varchar to text or a longer varchar is
   fine; int to bigint is not), no volatile default (`now()`, `gen_random_uuid()`), no new
   `NOT NULL` column without a constant default: `add_column` refuses what would rewrite.
5. **Backfills in batches**, each its own short transaction (sized to last BATCH_SECONDS at
   most), outside the schema change's: `Backfill` (batches.py). Each batch updates only rows
   still to do, so an interrupted backfill resumes where it stopped. `backfill(...)` in
   `upgrade()` runs it at once, and the service starts after it: for a small table. A big
   table's is declared in the migration's module, `BACKFILLS = [Backfill(...)]`, and the
   service runs it once started (`kit/backfills.py`, a job); the code reads the column with a
   fallback (`coalesce`) until a later release contracts (`NOT NULL`, through a validated
   `CHECK`), after one more `backfill(...)` for the rows the previous release wrote meanwhile.
6. **Every step may run twice.** A migration that stepped outside its transaction and then
   failed (a lock not granted) runs again from its start: `IF NOT EXISTS`, `IF EXISTS`, a
   constraint dropped if there before it is added. The steps here do it.
7. **Expand, then contract.** The previous release keeps serving during a rolling upgrade: a
   column or table it reads is dropped (or renamed, or made `NOT NULL`) one release later,
   never in the release that stops reading it.

SQLite has one writer at a time and no concurrent DDL: these steps do the plain thing there
(the migration holds the database's write lock while it runs; readers go on, in WAL mode), and
add no constraint (SQLite adds one by copying the table, which drops its triggers).

What Alembic's autogenerate writes is often right as it is: a nullable `op.add_column`; a new
table with its keys, foreign keys and indexes (`op.create_table`, then `op.create_index` on
it). An index on a table that exists, a constraint on one, a `NOT NULL` column or a backfill
take the steps here.

`make lint-migrations` checks the SQL of every migration after 0021 with squawk
(`scripts/lint_migrations.py`; the exceptions, each explained, in `squawk-allow.toml`).
"""

# The statements are built from a migration's own constant names and SQL: nothing from outside
# reaches them.
# ruff: noqa: S608

import re
import time

import sqlalchemy as sa
from alembic import op

from todo_api.migrations.batches import Backfill, BatchSize

# A step waits this long for its lock, then fails and its migration is tried again: below the
# contract's 1 s, the step itself included.
LOCK_TIMEOUT = "800ms"
# A schema step that runs longer than this (a rewrite that slipped through) fails instead of
# holding its lock; steps that block nobody (concurrent indexes, validation) lift it.
STATEMENT_TIMEOUT = "5s"
# The last migration written before these rules: it and those before it run without
# statement_timeout (0010 rewrites every task), still under lock_timeout.
LAST_BEFORE_RULES = "0021"

_FUNCTION_CALL = re.compile(r"\w\s*\(")


def timeouts(statement_timeout: bool = True) -> list[str]:
    """The settings every migration session starts with (env.py runs them)."""
    limit = f"'{STATEMENT_TIMEOUT}'" if statement_timeout else "0"
    return [f"SET lock_timeout = '{LOCK_TIMEOUT}'", f"SET statement_timeout = {limit}"]


# Set by env.py: whether the migrations run in transactions of their own (`todo-api migrate`,
# or `--sql`), so that a step may leave its migration's; not when they run inside one that a
# caller holds (a test going to a revision), where the steps run as plain statements in it.
OWN_TRANSACTIONS = "own_transactions"


def _postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _online() -> bool:
    """PostgreSQL, with the migrations in transactions of their own."""
    config = op.get_context().config
    return _postgresql() and config is not None and config.attributes.get(OWN_TRANSACTIONS, False)


def _unbounded(statement: str) -> None:
    """A step that blocks no read or write, run in its own transaction(s), without the
    statement timeout (it may take minutes on a big table), still with the lock timeout."""
    with op.get_context().autocommit_block():
        op.execute("SET statement_timeout = 0")
        op.execute(statement)
        op.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'")


def create_index(
    name: str, table: str, columns: str, *, unique: bool = False, where: str | None = None
) -> None:
    """`CREATE INDEX CONCURRENTLY` on PostgreSQL (`columns` as SQL: `"user_id, created_at"`).
    A build interrupted before (which leaves an invalid index) is dropped first."""
    kind = "UNIQUE INDEX" if unique else "INDEX"
    predicate = f" WHERE {where}" if where else ""
    if not _online():
        op.execute(f"CREATE {kind} IF NOT EXISTS {name} ON {table} ({columns}){predicate}")
        return
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    _unbounded(f"CREATE {kind} CONCURRENTLY IF NOT EXISTS {name} ON {table} ({columns}){predicate}")


def drop_index(name: str) -> None:
    if not _online():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        return
    _unbounded(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


def add_column(table: str, column: sa.Column[object]) -> None:
    """A column added to the catalogue alone: nullable, or with a constant default."""
    default = column.server_default
    if not column.nullable and default is None:
        raise ValueError(
            f"{table}.{column.name}: a NOT NULL column needs a constant default; or add it "
            "nullable, backfill it, and add NOT NULL through a validated CHECK"
        )
    if isinstance(default, sa.DefaultClause) and _FUNCTION_CALL.search(str(default.arg)):
        raise ValueError(
            f"{table}.{column.name}: a function default may be volatile and rewrite the table; "
            "add the column without it, then set the default, and backfill"
        )
    # IF NOT EXISTS: a migration that failed after this step (its lock not granted in a later
    # one) is run again from its start.
    op.add_column(table, column, if_not_exists=_postgresql())


def add_foreign_key(
    name: str, table: str, columns: str, referent: str, referent_columns: str, on_delete: str = ""
) -> None:
    """A foreign key checked for new rows at once, for old ones by `validate` after the commit.
    PostgreSQL only: SQLite adds one by copying the table, which would drop its triggers."""
    action = f" ON DELETE {on_delete}" if on_delete else ""
    if _postgresql():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")  # as add_column
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({columns}) "
            f"REFERENCES {referent} ({referent_columns}){action} NOT VALID"
        )


def add_check(name: str, table: str, condition: str) -> None:
    """A check constraint, `NOT VALID` until `validate`; PostgreSQL only, as a foreign key."""
    if _postgresql():
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")  # as add_column
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID")


def validate(name: str, table: str) -> None:
    """Check a `NOT VALID` constraint's old rows, after the commit that added it: it takes a
    lock that lets reads and writes go on (SHARE UPDATE EXCLUSIVE)."""
    if not _postgresql():
        return
    if not _online():
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
        return
    # A transaction of its own (the lock that added the constraint is let go before): PostgreSQL
    # validates rows while reads and writes go on.
    with op.get_context().autocommit_block():
        op.execute("BEGIN")
        op.execute("SET LOCAL statement_timeout = 0")
        op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")
        op.execute("COMMIT")


def backfill(table: str, assignments: str, todo: str, first_batch: int = 1000) -> None:
    """Run a `Backfill` now, outside the schema change's transaction, each batch committed on
    its own (in `--sql` mode: the statement once). The service starts when it is done: for a
    big table, declare it in `BACKFILLS` instead."""
    work = Backfill(table, assignments, todo)
    context = op.get_context()
    if not _online():
        op.execute(f"UPDATE {table} SET {assignments} WHERE {todo}")
        return
    with context.autocommit_block():
        if context.as_sql:
            op.execute(f"UPDATE {table} SET {assignments} WHERE {todo}")
            return
        conn = op.get_bind()
        size, after = BatchSize(first_batch), None
        while True:
            started = time.monotonic()
            last = conn.execute(work.keys(after, size.rows)).scalar()
            if last is None:
                return
            conn.execute(work.update(after, last))
            size.took(time.monotonic() - started)
            after = last
