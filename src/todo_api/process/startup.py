"""Start-up, for `serve` and `migrate`: wait for the database (DATABASE_CONNECT_TIMEOUT, a log
line per attempt), then migrate it; any failure is one line (StartupFailed), not a traceback.

The drivers, SQLAlchemy and Alembic are imported when used: `todo-api token` imports this
module too and needs none of them.
"""

import asyncio
import errno
import logging
import socket
import time

from todo_api.config import Settings

log = logging.getLogger("todo_api")

# Between two attempts to reach the database at start-up: doubling from the first, capped.
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 5.0
CONNECT_ATTEMPT_SECONDS = 10.0


class StartupFailed(Exception):
    """The service cannot start; the message is the one line that says why."""


def check_can_listen(host: str, port: int) -> None:
    """Bind (host, port) as the server will, then let it go: an address in use is one line
    naming PORT before anything else happens, not a traceback after migrating and starting."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupFailed(
                    f"port {port} on {host} is in use: stop what listens there, or serve on "
                    f"another port with PORT (PORT=8001 make serve) or --port"
                ) from exc
            raise StartupFailed(
                f"cannot listen on {host} port {port} (HOST, PORT): {exc.strerror or exc}"
            ) from exc


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


def _refusal(exc: BaseException, variable: str) -> str | None:
    """For a database that answered and said no (no SSL, an unknown role or database, a wrong
    password): what is wrong and how to fix it. Asking again would get the same answer."""
    import asyncpg  # type: ignore[import-untyped]

    root = _root_cause(exc)
    # asyncpg says this with a bare ConnectionError (an OSError, like a refused connection):
    # only its text tells it apart.
    if isinstance(root, ConnectionError) and "rejected SSL upgrade" in str(root):
        return (
            "the server does not accept SSL: remove sslmode=require from "
            f"{variable} for a local PostgreSQL (hosted ones such as Neon need it)"
        )
    if isinstance(root, asyncpg.InvalidPasswordError):
        return f"the password was refused: check the user and password in {variable}"
    if isinstance(root, asyncpg.InvalidCatalogNameError):
        return f"{root}: create it (createdb NAME) or fix the database name in {variable}"
    if isinstance(root, asyncpg.InvalidAuthorizationSpecificationError):
        return f"{root}: create the role or fix the user in {variable}"
    return None


def _unreachable(exc: BaseException) -> bool:
    """Whether trying again may help: no answer, or a server still starting or full."""
    import asyncpg

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


async def migrate_when_reachable(settings: Settings) -> None:
    """Wait for the database for up to DATABASE_CONNECT_TIMEOUT (a line per failed attempt),
    then bring its schema to the latest migration. Raises StartupFailed with one line."""
    from sqlalchemy.exc import SQLAlchemyError

    from todo_api.migrations import MigrationBlocked, upgrade_to_head

    where = settings.for_migrations().database_summary()
    variable = "DATABASE_DIRECT_URL" if settings.database_direct_url else "DATABASE_URL"
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
            if refusal := _refusal(exc, variable):
                raise StartupFailed(f"cannot use the database ({where}): {refusal}") from exc
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
    except MigrationBlocked as exc:
        raise StartupFailed(f"migrating the database ({where}) failed: {exc}") from exc
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        log.debug("migration failed", exc_info=exc)
        raise StartupFailed(f"migrating the database ({where}) failed: {_describe(exc)}") from exc
