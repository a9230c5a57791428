"""Migration 0014 goes down to 0013 and up again on both databases, on a database of its own."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url

from tests.support import ADMIN_URL, make_settings
from todo_api.db import create_engine
from todo_api.migrations import alembic_config, upgrade_to_head

TABLES = {"webhooks", "webhook_deliveries"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without PostgreSQL
    name = f"todo_mig_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _migrate(connection: Connection, target: str, up: bool) -> set[str]:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.upgrade if up else command.downgrade)(config, target)
    return set(inspect(connection).get_table_names())


async def test_webhooks_migration_goes_down_and_up(fresh_url: str, tmp_path: Path) -> None:
    settings = make_settings(fresh_url, tmp_path)
    await upgrade_to_head(settings)
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            assert await conn.run_sync(lambda c: set(inspect(c).get_table_names())) >= TABLES
        async with engine.begin() as conn:
            assert not TABLES & await conn.run_sync(_migrate, "0013", False)
        async with engine.begin() as conn:
            assert await conn.run_sync(_migrate, "head", True) >= TABLES
    finally:
        await engine.dispose()
