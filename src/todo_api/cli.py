"""`todo-api serve | migrate | token`, also reachable as `python -m todo_api`."""

import argparse
import asyncio
import functools
import logging
import os
import signal
import sys
import time
import uuid
from types import FrameType
from typing import cast

from todo_api.config import ConfigError, Settings, load_settings

log = logging.getLogger("todo_api")

# Between two attempts to reach the database at start-up: doubling from the first, capped.
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
CONNECT_ATTEMPT_SECONDS = 10.0


class StartupFailed(Exception):
    """The service cannot start; the message is the one line that says why."""


def _root_cause(exc: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrappers."""
    seen = {id(exc)}
    while (inner := getattr(exc, "orig", None) or exc.__cause__) is not None:
        if id(inner) in seen:
            break
        seen.add(id(inner))
        exc = inner
    return exc


def _describe(exc: BaseException) -> str:
    root = _root_cause(exc)
    text = " ".join(str(root).split()) or "no detail"
    return f"{type(root).__name__}: {text}"


def _unreachable(exc: BaseException) -> bool:
    """Whether trying again may help: no answer, or a server still starting or full."""
    import asyncpg  # type: ignore[import-untyped]

    root = _root_cause(exc)
    transient = (
        OSError,
        TimeoutError,
        asyncpg.CannotConnectNowError,
        asyncpg.TooManyConnectionsError,
    )
    return isinstance(root, transient)


async def _reach(settings: Settings) -> None:
    """One attempt at a connection to the database that migrations use."""
    from todo_api.db import create_engine

    engine = create_engine(settings.for_migrations())
    try:
        async with asyncio.timeout(CONNECT_ATTEMPT_SECONDS), engine.connect():
            pass
    finally:
        await engine.dispose()


async def _migrate_when_reachable(settings: Settings) -> None:
    """Wait for the database for up to DATABASE_CONNECT_TIMEOUT (a line per failed attempt),
    then bring its schema to the latest migration. Raises StartupFailed with one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from todo_api.migrations import upgrade_to_head

    where = settings.for_migrations().database_summary()
    deadline = time.monotonic() + settings.database_connect_timeout
    pause = FIRST_RETRY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            await _reach(settings)
            break
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            left = deadline - time.monotonic()
            if not _unreachable(exc):
                raise StartupFailed(f"cannot use the database ({where}): {_describe(exc)}") from exc
            if left <= 0:
                raise StartupFailed(
                    f"the database ({where}) did not answer within "
                    f"{settings.database_connect_timeout:g} s (DATABASE_CONNECT_TIMEOUT): "
                    f"{_describe(exc)}"
                ) from exc
            wait = min(pause, left)
            log.warning(
                "database not reachable (attempt %d: %s); trying again in %.1f s",
                attempt,
                _describe(exc),
                wait,
            )
            await asyncio.sleep(wait)
            pause = min(pause * 2, MAX_RETRY_SECONDS)
    try:
        await upgrade_to_head(settings)
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        log.debug("migration failed", exc_info=exc)
        raise StartupFailed(f"migrating the database ({where}) failed: {_describe(exc)}") from exc


def _exit_once_stopped(_sig: int, _frame: FrameType | None) -> None:
    """uvicorn raises the signal that stopped it again once it has shut down gracefully;
    reaching this handler then means a clean stop."""
    sys.exit(0)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from todo_api.logs import configure_logging
    from todo_api.migrations import head_revision
    from todo_api.protocol import GuardedHttpToolsProtocol

    configure_logging(settings.log_level, settings.log_format)

    log.info("database: %s", settings.database_summary())
    if settings.database_direct_url:
        log.info("migrations through: %s", settings.for_migrations().database_summary())
    asyncio.run(_migrate_when_reachable(settings))
    log.info("database schema at migration %s", head_revision())
    settings.signing_secret()  # a development secret is made once here, not by each worker
    # httptools, with a bound on the size of a request's headers and the time they take.
    # uvicorn calls this with its usual arguments; a partial of a module-level class is also
    # what it can pass on to worker processes.
    protocol = functools.partial(
        GuardedHttpToolsProtocol, header_timeout=settings.request_header_timeout_seconds
    )
    signal.signal(signal.SIGTERM, _exit_once_stopped)
    uvicorn.run(
        "todo_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=cast("type[asyncio.Protocol]", protocol),
        access_log=False,  # the service logs each request itself, with its id
        log_config=None,  # configure_logging's format, LOG_FORMAT=json included
        log_level=settings.log_level.lower(),
        # X-Forwarded-* are the application's business: it believes them from
        # TRUSTED_PROXIES only (uvicorn would believe them from 127.0.0.1).
        proxy_headers=False,
        server_header=False,
        # After SIGTERM (and SHUTDOWN_DELAY_SECONDS): requests under way get this long.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from todo_api.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(_migrate_when_reachable(settings))
    print("database schema is up to date")


def _revision(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.migrations import generate_revision

    asyncio.run(generate_revision(settings, args.message))


def _token(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.auth.tokens import mint_token

    print(mint_token(settings, subject=args.sub, email=args.email, minutes=args.minutes))


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo-api", description="The todo-api service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    # A default from PORT goes through the same check (argparse applies `type` to a string
    # default), so a bad PORT is one line from `serve` and no concern of the other commands.
    serve.add_argument("--port", type=_port, default=os.environ.get("PORT", "8000"))
    serve.add_argument("--workers", type=_positive, default=1)
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="migrate the database to the latest schema")
    migrate.set_defaults(run=_migrate)

    revision = commands.add_parser(
        "revision", help="write a migration for what the models changed (review it, then commit)"
    )
    revision.add_argument("-m", "--message", required=True, help="what the migration does")
    revision.set_defaults(run=_revision)

    token = commands.add_parser("token", help="print a token signed with JWT_SECRET")
    token.add_argument("--sub", default=str(uuid.uuid4()), help="the subject (user id)")
    token.add_argument("--email", default=None)
    token.add_argument("--minutes", type=_positive, default=60)
    token.set_defaults(run=_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"todo-api: {exc}", file=sys.stderr)
        return 2
    try:
        args.run(settings, args)
    except StartupFailed as exc:
        print(f"todo-api: {exc}", file=sys.stderr)
        return 1
    return 0
