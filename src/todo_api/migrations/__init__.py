"""Alembic owns the schema; this runs it from the package itself, wherever it is installed."""

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from todo_api.config import Settings
from todo_api.db import create_engine

# Any fixed number: every process that migrates one PostgreSQL database takes this lock.
MIGRATION_LOCK_KEY = 7_164_120_311


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    return config


@functools.cache
def head_revision() -> str:
    """The newest migration this package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(settings: Settings) -> None:
    """Bring the database to the latest schema; safe when several processes start at once.

    On PostgreSQL a transaction-scoped advisory lock makes concurrent starters wait for each
    other; the second one then finds the schema current and does nothing. (SQLite locks the
    whole file for the one writer.)
    """
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(_upgrade, alembic_config())
    finally:
        await engine.dispose()
