"""`todo-api serve | migrate | token | inbound-smtp`, also reachable as `python -m todo_api`."""

import argparse
import asyncio
import functools
import logging
import os
import sys
import uuid
from typing import cast

from todo_api.config import ConfigError, Settings, load_settings, misnamed_variables
from todo_api.process.startup import StartupFailed, check_can_listen, migrate_when_reachable

log = logging.getLogger("todo_api")

DOCS = "docs/command-line.md (every setting: docs/configuration.md)"
# How long an idle connection is kept between requests: longer than clients and balancers
# keep theirs in a pool (httpx 5 s, Node's 4 to 5 s, aiohttp 15 s, an AWS load balancer 60 s),
# so that they close it first. A server that closes first (uvicorn's 5 s) races the request a
# client sends on the connection at that moment: it fails without an answer.
KEEP_ALIVE_SECONDS = 75
# The settings each command reads, for its --help; any of them may be in the environment or in
# a .env file in the working directory.
DATABASE_SETTINGS = "DATABASE_URL, DATABASE_DIRECT_URL, DATABASE_CONNECT_TIMEOUT"
LOG_SETTINGS = "LOG_LEVEL, LOG_FORMAT"
SETTINGS_READ: dict[str, str | None] = {
    "serve": f"HOST, PORT, {DATABASE_SETTINGS}, MIGRATION_LOCK_ATTEMPTS, {LOG_SETTINGS}, "
    "JWT_SECRET (or BETTER_AUTH_SECRET), DATA_DIR, and every other setting of the service",
    "migrate": f"{DATABASE_SETTINGS}, MIGRATION_LOCK_ATTEMPTS, DATA_DIR, {LOG_SETTINGS}",
    "revision": "DATABASE_URL, DATABASE_DIRECT_URL, MIGRATION_LOCK_ATTEMPTS, DATA_DIR",
    "token": "JWT_SECRET (or BETTER_AUTH_SECRET; unset: the development secret in DATA_DIR), "
    "JWT_ISSUER, JWT_AUDIENCE",
    "inbound-smtp": f"INBOUND_DOMAIN, INBOUND_SMTP_PORT, INBOUND_MAX_MESSAGE_BYTES, HOST, "
    f"{DATABASE_SETTINGS}, the ATTACHMENT_* and S3_* settings, {LOG_SETTINGS}",
    "vapid-keys": None,
}


def _warn_about_misnamed_variables() -> None:
    """A setting whose name is mistyped is not read: say so, once, as the command starts."""
    for line in misnamed_variables():
        log.warning("%s", line)


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from todo_api.edge.protocol import GuardedHttpToolsProtocol
    from todo_api.migrations import head_revision
    from todo_api.process.logs import configure_logging
    from todo_api.process.shutdown import exit_0_after_graceful_shutdown

    configure_logging(settings.log_level, settings.log_format)
    _warn_about_misnamed_variables()
    port = _listen_port(args)

    check_can_listen(args.host, port)
    log.info("database: %s", settings.database_summary())
    if settings.database_direct_url:
        log.info("migrations through: %s", settings.for_migrations().database_summary())
    asyncio.run(migrate_when_reachable(settings))
    log.info("database schema at migration %s", head_revision())
    settings.signing_secret()  # a development secret is made once here, not by each worker
    # httptools, with a bound on the size of a request's headers, the time its headers and
    # body take, the requests queued unanswered and the time an answer waits to be sent.
    # uvicorn calls this with its usual arguments; a partial of a module-level class is also
    # what it can pass on to worker processes.
    protocol = functools.partial(
        GuardedHttpToolsProtocol,
        header_timeout=settings.request_header_timeout_seconds,
        body_timeout=settings.request_body_timeout_seconds,
        send_timeout=settings.response_send_timeout_seconds,
    )
    exit_0_after_graceful_shutdown()
    uvicorn.run(
        "todo_api.app:create_app",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http=cast("type[asyncio.Protocol]", protocol),
        # No WebSocket here: an upgrade request is answered as the HTTP request it also is
        # (/mcp's 401 or 405), not with uvicorn's empty 403.
        ws="none",
        access_log=False,  # the service logs each request itself, with its id
        log_config=None,  # configure_logging's format, LOG_FORMAT=json included
        log_level=settings.log_level.lower(),
        # X-Forwarded-* are the application's business: it believes them from
        # TRUSTED_PROXIES only (uvicorn would believe them from 127.0.0.1).
        proxy_headers=False,
        server_header=False,
        # After SIGTERM (and SHUTDOWN_DELAY_SECONDS): requests under way get this long.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )


def _migrate(settings: Settings, _args: argparse.Namespace) -> None:
    from todo_api.process.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    _warn_about_misnamed_variables()
    asyncio.run(migrate_when_reachable(settings))
    print("database schema is up to date")


def _revision(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.migrations import generate_revision

    _warn_about_misnamed_variables()
    asyncio.run(generate_revision(settings, args.message))


def _token(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.auth.tokens import mint_token

    _warn_about_misnamed_variables()
    secret_file = settings.development_secret_file()
    existed = secret_file is not None and secret_file.exists()
    print(mint_token(settings, subject=args.sub, email=args.email, minutes=args.minutes))
    # Which secret signed it, on stderr (stdout is the token alone); a new one has said so.
    if secret_file is None:
        print("todo-api: signed with JWT_SECRET", file=sys.stderr)
    elif existed:
        print(f"todo-api: signed with the development secret in {secret_file}", file=sys.stderr)


def _inbound_smtp(settings: Settings, args: argparse.Namespace) -> None:
    from todo_api.inbound.smtp import serve
    from todo_api.process.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    _warn_about_misnamed_variables()
    if settings.inbound_domain is None:
        raise ConfigError("invalid configuration: INBOUND_DOMAIN: set it to take mail")
    port = args.port if args.port is not None else settings.inbound_smtp_port
    check_can_listen(args.host, port)
    asyncio.run(serve(settings, args.host, port))


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return int(text)


def _listen_port(args: argparse.Namespace) -> int:
    """--port, else PORT, else 8000; a bad PORT is an error naming PORT (not --port)."""
    if args.port is not None:
        return int(args.port)
    try:
        return _port(os.environ.get("PORT", "8000"))
    except argparse.ArgumentTypeError as exc:
        raise ConfigError(f"invalid configuration: PORT: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="todo-api",
        description="The todo-api service.",
        epilog="Settings come from the environment or a .env file in the working directory "
        f"(each command's --help names those it reads). See {DOCS}.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"Reads {read} (from the environment or .env). See {DOCS}."
            if (read := SETTINGS_READ[name])
            else f"Reads no setting. See {DOCS}.",
        )

    serve = command("serve", "migrate the database, then serve the API")
    serve.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 for every interface (default: HOST, else 127.0.0.1)",
    )
    # PORT is read when `serve` runs (_listen_port), so that a bad one is an error naming
    # PORT, and no concern of the other commands.
    serve.add_argument(
        "--port", type=_port, default=None, help="port to listen on (default: PORT, else 8000)"
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes, each with its own database pool (default: %(default)s)",
    )
    serve.set_defaults(run=_serve)

    migrate = command("migrate", "migrate the database to the latest schema")
    migrate.set_defaults(run=_migrate)

    revision = command(
        "revision", "write a migration for what the models changed (review it, then commit)"
    )
    revision.add_argument(
        "-m", "--message", required=True, help="what the migration does (names the file)"
    )
    revision.set_defaults(run=_revision)

    token = command("token", "print a token signed with JWT_SECRET (or the development secret)")
    token.add_argument(
        "--sub", default=str(uuid.uuid4()), help="the user id the token is for (default: a new one)"
    )
    token.add_argument("--email", default=None, help="the email claim (default: none)")
    token.add_argument(
        "--minutes",
        type=_positive,
        default=60,
        help="how long the token is valid, in minutes (default: %(default)s)",
    )
    token.set_defaults(run=_token)

    inbound = command("inbound-smtp", "take mail for the lists' addresses by SMTP (tasks by email)")
    inbound.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on; 0.0.0.0 for every interface (default: HOST, else 127.0.0.1)",
    )
    inbound.add_argument(
        "--port", type=_port, default=None, help="port to listen on (default: INBOUND_SMTP_PORT)"
    )
    inbound.set_defaults(run=_inbound_smtp)

    vapid = command(
        "vapid-keys", "print a new key pair for Web Push (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY)"
    )
    vapid.set_defaults(run=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "vapid-keys":  # reads no setting: works whatever the keys set now
        from todo_api.push.vapid import new_keys

        public, private = new_keys()
        print(f"VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}")
        return 0
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"todo-api: {exc}", file=sys.stderr)
        return 2
    try:
        args.run(settings, args)
    except ConfigError as exc:
        print(f"todo-api: {exc}", file=sys.stderr)
        return 2
    except StartupFailed as exc:
        print(f"todo-api: {exc}", file=sys.stderr)
        return 1
    return 0
