"""`todo-api serve | migrate | token`, also reachable as `python -m todo_api`."""

import argparse
import asyncio
import functools
import os
import sys
import uuid
from typing import cast

from todo_api.config import ConfigError, Settings, load_settings


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from todo_api.migrations import upgrade_to_head
    from todo_api.protocol import GuardedHttpToolsProtocol

    asyncio.run(upgrade_to_head(settings))
    settings.signing_secret()  # a development secret is made once here, not by each worker
    # httptools, with a bound on the size of a request's headers and the time they take.
    # uvicorn calls this with its usual arguments; a partial of a module-level class is also
    # what it can pass on to worker processes.
    protocol = functools.partial(
        GuardedHttpToolsProtocol, header_timeout=settings.request_header_timeout_seconds
    )
    uvicorn.run(
        "todo_api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http=cast("type[asyncio.Protocol]", protocol),
        access_log=False,  # the service logs each request itself, with its id
        log_level=settings.log_level.lower(),
        # X-Forwarded-* are the application's business: it believes them from
        # TRUSTED_PROXIES only (uvicorn would believe them from 127.0.0.1).
        proxy_headers=False,
        server_header=False,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from todo_api.migrations import upgrade_to_head

    asyncio.run(upgrade_to_head(settings))
    print("database schema is up to date")


def _revision(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.migrations import generate_revision

    asyncio.run(generate_revision(settings, args.message))


def _token(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.auth.tokens import mint_token

    print(mint_token(settings, subject=args.sub, email=args.email, minutes=args.minutes))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo-api", description="The todo-api service.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=_positive, default=int(os.environ.get("PORT", "8000")))
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
    args.run(settings, args)
    return 0
