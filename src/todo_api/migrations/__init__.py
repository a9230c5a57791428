"""Alembic owns the schema; this runs it from the package itself, wherever it is installed."""

import functools
import importlib.util
import os
import warnings
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import SAWarning

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
    with warnings.catch_warnings():
        # Before 0008, SQLite's email index is on lower(email), which SQLite cannot reflect
        # when a batch migration of those days reads the users table; they only add columns
        # there and the index stays (a test checks it), so the warning would only alarm
        # whoever starts the service.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        command.upgrade(config, "head")


def _lint_after_writing(config: Config) -> None:
    """Have Alembic run ruff on each migration it writes, so that the file passes `make lint`
    as written (the template's imports a migration does not use, the quotes of its ids).
    Where ruff is not installed, the migration is written as it is."""
    if importlib.util.find_spec("ruff") is None:
        return
    hooks = {"ruff_fix": "check --fix --quiet", "ruff_format": "format --quiet"}
    config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
    for name, arguments in hooks.items():
        config.set_section_option("post_write_hooks", f"{name}.type", "module")
        config.set_section_option("post_write_hooks", f"{name}.module", "ruff")
        config.set_section_option(
            "post_write_hooks", f"{name}.options", f"{arguments} REVISION_SCRIPT_FILENAME"
        )


def _revision(connection: Connection, config: Config, message: str, into: str | None) -> None:
    config.attributes["connection"] = connection
    _lint_after_writing(config)
    head = ScriptDirectory.from_config(config).get_current_head() or "0"
    rev_id = f"{int(head) + 1:04d}"
    command.revision(config, message, autogenerate=True, rev_id=rev_id, version_path=into)


async def generate_revision(
    settings: Settings, message: str, directory: Path | None = None
) -> None:
    """Write a migration for what the models have and the schema has not (Alembic's
    autogenerate, against the configured database brought to the latest schema first), into
    the package's versions folder or `directory`. Review it before committing it."""
    await upgrade_to_head(settings)
    settings = settings.for_migrations()
    config = alembic_config()
    if directory is not None:
        shipped = Path(__file__).parent / "versions"
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join([str(shipped), str(directory)]))
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            into = str(directory) if directory is not None else None
            await conn.run_sync(_revision, config, message, into)
    finally:
        await engine.dispose()


async def upgrade_to_head(settings: Settings) -> None:
    """Bring the database to the latest schema; safe when several processes start at once.

    On PostgreSQL a transaction-scoped advisory lock makes concurrent starters wait for each
    other; the second one then finds the schema current and does nothing. (SQLite locks the
    whole file for the one writer.) DATABASE_DIRECT_URL, when set, is used instead of
    DATABASE_URL: a pooler in transaction mode does not keep a session for the migration.
    """
    engine = create_engine(settings.for_migrations())
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await conn.run_sync(_upgrade, alembic_config())
    finally:
        await engine.dispose()
