"""The Alembic migrations: they match the models, re-run safely, and survive concurrent starts."""

import asyncio
import functools
import subprocess
import sys
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.helpers_server import TODO_API, clean_env
from tests.support import ADMIN_URL, TEST_SECRET, make_settings
from todo_api.config import Settings
from todo_api.db import create_engine
from todo_api.kit.ids import utcnow
from todo_api.migrations import (
    alembic_config,
    generate_revision,
    head_revision,
    known_revisions,
    read_revisions,
    shipped,
    upgrade_to_head,
)
from todo_api.tables import include_in_comparison, metadata
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()
# The highest revision number, which the head need not have (numbers given out to work done
# alongside can run in another order): a new revision takes the next one.
HIGHEST = max(
    int(r.revision) for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()
)


# Migrations of a folder of their own: two that follow the head (one declares a backfill, in
# another style of line), then one that merges them.
_BRANCH = """
from todo_api.migrations import online

revision{annotation} = {revision!r}
down_revision{annotation} = {down!r}
{backfills}

def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
"""


def _alembics(folder: Path | None) -> dict[str, tuple[tuple[str, ...], bool]]:
    """Each revision as Alembic loads it: the ids it follows, whether it declares BACKFILLS."""
    script = ScriptDirectory.from_config(alembic_config(folder))
    return {
        rev.revision: (tuple(rev._normalized_down_revisions), hasattr(rev.module, "BACKFILLS"))
        for rev in script.walk_revisions()
    }


def test_a_serving_process_knows_the_revisions_as_alembic_does(tmp_path: Path) -> None:
    """/ready's head and the declared backfills come from the migration files' own lines, not
    from Alembic (which a serving process does not load): the same as Alembic's."""
    assert head_revision() == HEAD
    shipped_by_alembic = _alembics(None)
    assert known_revisions() == set(shipped_by_alembic)
    assert {r.revision: (r.down, r.declares_backfills) for r in shipped()} == shipped_by_alembic
    head = head_revision()
    backfill = 'BACKFILLS = [online.Backfill("tasks", "title = title", "false")]'
    for name, annotation, down, backfills in (
        ("9002", "", head, backfill),
        ("9003", ": str | None", head, ""),
        ("9004", "", ("9002", "9003"), ""),
    ):
        text = _BRANCH.format(annotation=annotation, revision=name, down=down, backfills=backfills)
        (tmp_path / f"{name}_branch.py").write_text(text)
    read = {r.revision: (r.down, r.declares_backfills) for r in read_revisions(tmp_path)}
    assert read == {
        "9002": ((head,), True),
        "9003": ((head,), False),
        "9004": (("9002", "9003"), False),
    }
    assert read == {k: v for k, v in _alembics(tmp_path).items() if k in read}


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    yield engine
    await engine.dispose()


def _schema_diff(sync_conn: Connection) -> list[Any]:
    include = functools.partial(include_in_comparison, dialect=sync_conn.dialect.name)
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "include_object": include}
    )
    return list(compare_metadata(context, metadata))


def _schema_snapshot(sync_conn: Connection) -> dict[str, Any]:
    inspector = inspect(sync_conn)
    return {
        table: sorted(str(index["name"]) for index in inspector.get_indexes(table))
        for table in sorted(inspector.get_table_names())
    }


async def _versions(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())


def _user_row(email: str | None = None) -> dict[str, Any]:
    now = utcnow()
    return {"id": uuid.uuid4(), "email": email, "created_at": now, "updated_at": now}


def _task_row(user_id: uuid.UUID) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "title": "t",
        "created_at": now,
        "updated_at": now,
    }


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_schema_diff) == []
        assert await _versions(conn) == [HEAD]


async def test_upgrading_again_is_a_noop(settings: Settings, engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        before = await conn.run_sync(_schema_snapshot)

    await upgrade_to_head(settings)
    await upgrade_to_head(settings)

    async with engine.connect() as conn:
        assert await conn.run_sync(_schema_snapshot) == before
        assert await _versions(conn) == [HEAD]
        assert await conn.run_sync(_schema_diff) == []


async def test_foreign_keys_are_enforced(engine: AsyncEngine) -> None:
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(tasks.insert().values(**_task_row(uuid.uuid4())))


async def test_deleting_a_user_deletes_their_tasks(engine: AsyncEngine) -> None:
    user = _user_row()
    async with engine.begin() as conn:
        await conn.execute(users.insert().values(**user))
        await conn.execute(tasks.insert().values(**_task_row(user["id"])))
        await conn.execute(delete(users).where(users.c.id == user["id"]))
        left = await conn.execute(select(tasks.c.id).where(tasks.c.user_id == user["id"]))
        assert left.all() == []


async def test_emails_are_unique_whatever_their_case(engine: AsyncEngine) -> None:
    email = f"{uuid.uuid4().hex}@example.test"
    async with engine.begin() as conn:
        await conn.execute(users.insert().values(**_user_row(email)))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(users.insert().values(**_user_row(email.upper())))


# --- several processes migrating one empty PostgreSQL database at once ---------------------


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> Iterator[str]:
    """A brand-new, empty PostgreSQL database (postgres_url skips or fails when there is none)."""
    name = f"todo_migrate_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


def test_concurrent_migrate_processes_create_the_schema_once(
    empty_postgres_url: str, tmp_path: Any
) -> None:
    env = clean_env(DATABASE_URL=empty_postgres_url, JWT_SECRET=TEST_SECRET)
    processes = [
        subprocess.Popen(
            [TODO_API, "migrate"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = []
    try:
        for process in processes:
            _, stderr = process.communicate(timeout=60)
            outcomes.append((process.returncode, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    versions = asyncio.run(_fetch(empty_postgres_url, "SELECT version_num FROM alembic_version"))
    assert [row["version_num"] for row in versions] == [HEAD]
    tables = asyncio.run(
        _fetch(empty_postgres_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    )
    assert sorted(row["tablename"] for row in tables) == sorted(
        [*metadata.tables, "alembic_version"]
    )
    indexes = asyncio.run(
        _fetch(empty_postgres_url, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    )
    names = [row["indexname"] for row in indexes]
    for table in metadata.tables.values():
        for index in table.indexes:
            assert names.count(index.name) == 1, index.name


async def test_a_revision_of_unchanged_models_is_empty_and_follows_the_head(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data")
    versions = tmp_path / "versions"
    versions.mkdir()

    await generate_revision(settings, "nothing changed", directory=versions)

    (written,) = versions.glob("*.py")
    text = written.read_text()
    assert written.name == f"{HIGHEST + 1:04d}_nothing_changed.py"
    assert f'down_revision: str | None = "{HEAD}"' in text
    upgrade = text.split("def upgrade() -> None:")[1].split("def downgrade")[0]
    statements = [line.strip() for line in upgrade.splitlines() if line.strip()]
    assert [s for s in statements if not s.startswith("#")] == ["pass"]  # nothing to do


PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def test_a_generated_revision_passes_lint_as_written(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/todo.db", tmp_path / "data")
    versions = tmp_path / "versions"
    versions.mkdir()

    asyncio.run(generate_revision(settings, "nothing changed", directory=versions))

    (written,) = versions.glob("*.py")
    for check in (["check"], ["format", "--check"]):
        ruff = [sys.executable, "-m", "ruff", *check, "--config", str(PYPROJECT), str(written)]
        result = subprocess.run(ruff, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


async def test_writing_a_revision_warns_of_nothing(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data")
    versions = tmp_path / "versions"
    versions.mkdir()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await generate_revision(settings, "nothing changed", directory=versions)

    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
