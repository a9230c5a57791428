"""Migrations run online: a migration steps outside its transaction (concurrent indexes,
validation, batched backfills) under the project's runner, and one that cannot get its lock
gives up after its attempts, names the backend holding it, and leaves the schema as it was
until a later start migrates."""

import asyncio
import textwrap
import time
import uuid
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import app_for, client_for, make_settings, token_for
from tests.test_migration_text_keys import _upgrade, engine, fresh_url
from tests.test_migrations import empty_postgres_url
from todo_api.config import Settings
from todo_api.db import Database, create_engine
from todo_api.kit.backfills import work_through
from todo_api.kit.deps import held
from todo_api.migrations import alembic_config, head_revision, upgrade_to_head
from todo_api.migrations.online import Backfill
from todo_api.process.startup import StartupFailed, migrate_when_reachable

__all__ = ["empty_postgres_url", "engine", "fresh_url"]  # the fixtures this module uses

pytestmark = pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index"
)

# A migration after the head, written with the steps of migrations/online.py.
ONLINE_STEPS = """
import sqlalchemy as sa

from todo_api.migrations import online

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    online.add_column("tasks", sa.Column("estimate_minutes", sa.Integer(), nullable=True))
    online.backfill("tasks", "estimate_minutes = 30", "estimate_minutes IS NULL", first_batch=2)
    online.add_check("ck_tasks_estimate_positive", "tasks", "estimate_minutes > 0")
    online.validate("ck_tasks_estimate_positive", "tasks")
    online.create_index("ix_tasks_user_id_estimate", "tasks", "user_id, estimate_minutes")


def downgrade() -> None:
    pass
"""


async def test_a_migration_builds_indexes_and_backfills_outside_its_transaction(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    settings = make_settings(fresh_url, tmp_path / "data")
    await upgrade_to_head(settings)
    owner = str(uuid.uuid4())
    async with app_for(settings) as app, client_for(app, token_for(settings, owner)) as alice:
        for number in range(5):
            response = await alice.post("/api/tasks", json={"title": f"task {number}"})
            assert response.status_code == 201, response.text

        versions = tmp_path / "versions"
        versions.mkdir()
        migration = ONLINE_STEPS.format(head=head_revision())
        (versions / "9001_online_steps.py").write_text(textwrap.dedent(migration))
        await upgrade_to_head(settings, directory=versions)

        # The service's reads go on as before over the migrated schema.
        response = await alice.get("/api/tasks")
        assert response.status_code == 200, response.text
        assert len(response.json()) == 5
        # A release that does not know the migration (the previous one, in a rolling upgrade)
        # is ready on it, and starting it again migrates nothing backwards.
        assert (await alice.get("/ready")).status_code == 200
        await upgrade_to_head(settings)

    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == "9001"
        estimates = (await conn.execute(text("SELECT estimate_minutes FROM tasks"))).scalars()
        assert list(estimates) == [30] * 5
        if conn.dialect.name != "postgresql":
            return
        valid = await conn.execute(
            text(
                "SELECT (SELECT indisvalid FROM pg_index "
                "WHERE indexrelid = 'ix_tasks_user_id_estimate'::regclass), "
                "(SELECT convalidated FROM pg_constraint "
                "WHERE conname = 'ck_tasks_estimate_positive')"
            )
        )
        assert tuple(valid.one()) == (True, True)


def _upgrade_in(conn: Connection, versions: Path) -> None:
    config = alembic_config(versions)
    config.attributes["connection"] = conn
    command.upgrade(config, "heads")


async def test_the_steps_run_inside_a_transaction_that_a_caller_holds(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    """As the tests of a migration run them (to a revision, in one transaction of their own):
    the plain statements, in that transaction."""
    versions = tmp_path / "versions"
    versions.mkdir()
    migration = ONLINE_STEPS.format(head=head_revision())
    (versions / "9001_online_steps.py").write_text(textwrap.dedent(migration))
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_in, versions)
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == "9001"


# A column a migration adds, and the backfill it leaves to the running service.
A_COLUMN = """
import sqlalchemy as sa

from todo_api.migrations import online

revision = "9002"
down_revision = "{head}"
branch_labels = None
depends_on = None
BACKFILLS = [online.Backfill("tasks", "size_points = 3", "size_points IS NULL")]


def upgrade() -> None:
    online.add_column("tasks", sa.Column("size_points", sa.Integer(), nullable=True))


def downgrade() -> None:
    pass
"""


async def test_a_backfill_left_to_the_service_runs_in_batches_and_resumes(
    engine: AsyncEngine, fresh_url: str, tmp_path: Path
) -> None:
    settings = make_settings(fresh_url, tmp_path / "data")
    await upgrade_to_head(settings)
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "9002_a_column.py").write_text(A_COLUMN.format(head=head_revision()))
    async with app_for(settings) as app, client_for(app, token_for(settings)) as alice:
        for number in range(7):
            response = await alice.post("/api/tasks", json={"title": f"task {number}"})
            assert response.status_code == 201, response.text
        await upgrade_to_head(settings, directory=versions)
        work = Backfill("tasks", "size_points = 3", "size_points IS NULL")
        db = held(app, Database)

        # A turn with no time left does nothing and says there is work left.
        assert await work_through(db, [work], deadline=time.monotonic()) is True
        assert await _column(engine, "size_points") == [None] * 7
        # The old release goes on writing rows without the column meanwhile.
        response = await alice.post("/api/tasks", json={"title": "written meanwhile"})
        assert response.status_code == 201, response.text
        assert await work_through(db, [work], deadline=time.monotonic() + 60) is False
        assert await _column(engine, "size_points") == [3] * 8
        # Done: a later turn does nothing.
        assert await work_through(db, [work], deadline=time.monotonic() + 60) is False


async def _column(engine: AsyncEngine, column: str) -> list[object]:
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"SELECT {column} FROM tasks ORDER BY title"))  # noqa: S608
        return list(rows.scalars())


async def test_a_migration_that_cannot_get_its_lock_names_who_holds_it(
    empty_postgres_url: str, tmp_path: Path
) -> None:
    """PostgreSQL's: SQLite's writers wait their turn (busy_timeout), readers go on (WAL)."""
    fresh_url = empty_postgres_url
    settings = make_settings(fresh_url, tmp_path / "data", migration_lock_attempts=2)
    engine = create_engine(settings)
    try:
        await _blocked_then_migrated(engine, settings)
    finally:
        await engine.dispose()


async def _blocked_then_migrated(engine: AsyncEngine, settings: Settings) -> None:
    fresh_url = str(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, "0020")  # the next one, 0021, locks tasks
    holder = await asyncpg.connect(fresh_url, server_settings={"application_name": "report"})
    try:
        # A long report: its transaction holds a lock on tasks that a schema change waits for.
        transaction = holder.transaction()
        await transaction.start()
        await holder.fetch("SELECT count(*) FROM tasks")
        holder_pid = await holder.fetchval("SELECT pg_backend_pid()")

        with pytest.raises(StartupFailed) as failure:
            await migrate_when_reachable(settings)
        message = str(failure.value)
        assert f"pid {holder_pid} (application_name report, idle in transaction" in message
        assert "transaction open for" in message
        assert "2 times" in message
        assert "The schema stays at 0020" in message

        # The old schema is whole, and the report (like any reader or writer) went on.
        assert await holder.fetchval("SELECT count(*) FROM tasks") == 0
        await transaction.rollback()
        version = await holder.fetchval("SELECT version_num FROM alembic_version")
        assert version == "0020"
        columns = await holder.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'task_tags' AND column_name = 'is_completed'"
        )
        assert columns == []
    finally:
        await holder.close()

    # Once the report is done, a later start migrates.
    await asyncio.wait_for(migrate_when_reachable(settings), timeout=120)
    async with engine.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == head_revision()
