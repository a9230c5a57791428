"""Alembic owns the schema; this runs it from the package itself, wherever it is installed.

Alembic (with Mako) is loaded only where a migration runs or is written: a serving process
needs the shipped revisions' ids alone (/ready, the declared backfills), and reads them from
the migration files (`shipped`; tests/test_migrations.py holds them equal to Alembic's)."""

import ast
import asyncio
import contextlib
import functools
import importlib.util
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SAWarning, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from todo_api.config import Settings
from todo_api.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger("todo_api")

# Any fixed number: every process that migrates one PostgreSQL database takes this lock.
MIGRATION_LOCK_KEY = 7_164_120_311
VERSIONS = Path(__file__).parent / "versions"


def alembic_config(directory: Path | None = None) -> "Config":
    """The package's migrations, and `directory`'s when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    if directory is not None:
        config.set_main_option("path_separator", "os")
        config.set_main_option(
            "version_locations", os.pathsep.join([str(VERSIONS), str(directory)])
        )
    return config


@dataclass(frozen=True, slots=True)
class Revision:
    """A migration as its file names it: its id, the ids it follows, whether it declares
    BACKFILLS."""

    revision: str
    down: tuple[str, ...]
    declares_backfills: bool


# A module-level `name = value` or `name: type = value` line of a migration file.
_ASSIGNMENT = re.compile(r"^(revision|down_revision|BACKFILLS)\b[^=\n]*=\s*(.*?)\s*$", re.MULTILINE)


def read_revisions(folder: Path) -> tuple[Revision, ...]:
    """The migrations of `folder`, read from their files' own lines (the files Alembic loads:
    `*.py` but `__init__.py`), without running them."""
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("__"):
            continue
        lines = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        down = ast.literal_eval(lines.get("down_revision", "None"))
        downs = () if down is None else (down,) if isinstance(down, str) else tuple(down)
        found.append(Revision(ast.literal_eval(lines["revision"]), downs, "BACKFILLS" in lines))
    return tuple(found)


@functools.cache
def shipped() -> tuple[Revision, ...]:
    """Every migration this package ships."""
    return read_revisions(VERSIONS)


@functools.cache
def head_revision() -> str:
    """The newest migration this package ships: the one no other follows."""
    followed = {down for rev in shipped() for down in rev.down}
    (head,) = [rev.revision for rev in shipped() if rev.revision not in followed]
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every migration this package ships; a database at another one was migrated by a later
    release."""
    return frozenset(rev.revision for rev in shipped())


def _upgrade(connection: Connection, config: "Config") -> None:
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from todo_api.migrations import online

    config.attributes["connection"] = connection
    outside_transaction = not connection.in_transaction()
    current = MigrationContext.configure(connection).get_current_revision()
    if outside_transaction:
        # Alembic owns the transactions only on a connection outside one (PostgreSQL's run).
        connection.commit()
    if current == head_revision() and config.get_main_option("version_locations") is None:
        # Already current, as at most starts: Alembic would load every migration to say so.
        return
    script = ScriptDirectory.from_config(config)
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        # A later release migrated already (a rolling upgrade, or a rollback of the code): its
        # schema serves this release too (expand, then contract a release later).
        log.warning("database schema at %s, a migration this release does not know", current)
        return
    history = {rev.revision for rev in script.iterate_revisions(online.LAST_BEFORE_RULES, "base")}
    with warnings.catch_warnings():
        # Before 0008, SQLite's email index is on lower(email), which SQLite cannot reflect
        # when a batch migration of those days reads the users table; they only add columns
        # there and the index stays (a test checks it), so the warning would only alarm
        # whoever starts the service.
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index", SAWarning
        )
        if current is None or current in history - {online.LAST_BEFORE_RULES}:
            # The migrations written before the rules, without the statement timeout.
            config.attributes["statement_timeout"] = False
            command.upgrade(config, online.LAST_BEFORE_RULES)
        config.attributes["statement_timeout"] = True
        command.upgrade(config, "heads")


def _lint_after_writing(config: "Config") -> None:
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


def _revision(connection: Connection, config: "Config", message: str, into: str | None) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    config.attributes["connection"] = connection
    _lint_after_writing(config)
    # Past the highest number, not the head's: work done alongside can run a revision of a
    # higher number before the head (0034 before 0032, say).
    script = ScriptDirectory.from_config(config)
    numbers = [int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    command.revision(config, message, autogenerate=True, rev_id=rev_id, version_path=into)


async def generate_revision(
    settings: Settings, message: str, directory: Path | None = None
) -> None:
    """Write a migration for what the models have and the schema has not (Alembic's
    autogenerate, against the configured database brought to the latest schema first), into
    the package's versions folder or `directory`. Review it before committing it."""
    await upgrade_to_head(settings)
    settings = settings.for_migrations()
    config = alembic_config(directory)
    engine = create_engine(settings)
    try:
        async with engine.begin() as conn:
            into = str(directory) if directory is not None else None
            await conn.run_sync(_revision, config, message, into)
    finally:
        await engine.dispose()


class MigrationBlocked(Exception):
    """A migration did not get its lock within its attempts; the message names who held it."""


async def upgrade_to_head(
    settings: Settings, directory: Path | None = None, attempts: int | None = None
) -> None:
    """Bring the database to the latest schema (the package's migrations, and `directory`'s);
    safe when several processes start at once.

    On PostgreSQL a session's advisory lock makes concurrent starters wait for each other; the
    second one then finds the schema current and does nothing. Each migration is then its own
    transaction, under `online.py`'s lock timeout: one that does not get its lock rolls back
    and is tried again, up to MIGRATION_LOCK_ATTEMPTS times, then MigrationBlocked names the
    backends that held it (the schema stays at the last migration that committed, and the
    instances already serving go on). SQLite runs them all in one transaction, its write lock
    waited for up to its busy timeout. DATABASE_DIRECT_URL, when set, is used instead of
    DATABASE_URL: a pooler in transaction mode does not keep a session for the migration.
    """
    settings = settings.for_migrations()
    config = alembic_config(directory)
    engine = create_engine(settings)
    try:
        if settings.is_sqlite:
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade, config)
            return
        async with engine.connect() as conn:
            await _take_migration_lock(conn)
            # The session's lock goes with the connection: engine.dispose() below closes it.
            await _upgrade_online(
                engine, conn, config, attempts or settings.migration_lock_attempts
            )
    finally:
        await engine.dispose()


LOCK_POLL_SECONDS = 0.2


async def _take_migration_lock(conn: AsyncConnection) -> None:
    """The session's advisory lock, tried until it is free rather than waited for: a session
    waiting inside a statement holds a snapshot, which a `CREATE INDEX CONCURRENTLY` of the
    lock's holder waits for in turn (a deadlock PostgreSQL does not see)."""
    while True:
        taken = await conn.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
        await conn.commit()
        if taken:
            return
        await asyncio.sleep(LOCK_POLL_SECONDS)


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's error when lock_timeout runs out
FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 5.0
_BLOCKERS = text(
    """
    SELECT pid, coalesce(nullif(application_name, ''), '(none)') AS application_name, state,
           extract(epoch FROM now() - xact_start) AS open_seconds
    FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(:pid))
    """
)


async def _watch_blockers(engine: AsyncEngine, pid: int, seen: list[str]) -> None:
    """Until cancelled: who blocks the migration's backend, as last seen (in autocommit, so
    that the watcher's own transaction delays no concurrent index build)."""
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            while True:
                if rows := (await conn.execute(_BLOCKERS, {"pid": pid})).all():
                    seen[:] = [
                        f"pid {row.pid} (application_name {row.application_name}, "
                        f"{row.state or 'state unknown'}, transaction open for "
                        f"{row.open_seconds or 0:.0f} s)"
                        for row in rows
                    ]
                await asyncio.sleep(0.1)
    except (OSError, SQLAlchemyError) as exc:  # no connection to spare: the blocker goes unnamed
        log.debug("cannot watch what blocks the migration", exc_info=exc)


async def _upgrade_online(
    engine: AsyncEngine, conn: AsyncConnection, config: "Config", attempts: int
) -> None:
    from todo_api.migrations import online

    pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await conn.commit()
    pause = FIRST_PAUSE_SECONDS
    for attempt in range(1, attempts + 1):
        blockers: list[str] = []
        watcher = asyncio.create_task(_watch_blockers(engine, pid, blockers))
        try:
            await conn.run_sync(_upgrade, config)
            return
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            await conn.rollback()
            failure = exc
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        held_by = ", ".join(blockers) or "a backend that let go before it could be named"
        at = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        await conn.commit()
        if attempt == attempts:
            raise MigrationBlocked(
                f"the migration after {at} did not get its lock within {online.LOCK_TIMEOUT}, "
                f"{attempts} times: it was held by {held_by}. The schema stays at {at} (instances "
                "already running keep serving); end that transaction, or start again later"
            ) from failure
        log.warning(
            "the migration after %s waited %s for a lock held by %s; trying again in %.1f s "
            "(attempt %d of %d)",
            at,
            online.LOCK_TIMEOUT,
            held_by,
            pause,
            attempt,
            attempts,
        )
        await asyncio.sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)
