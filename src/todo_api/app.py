"""The application factory: middleware, routers and error handlers; nothing at import time."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import text

from todo_api import __version__
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.ratelimit import Counter, MemoryCounter, RateLimiter, RedisCounter
from todo_api.auth.router import accounts_router
from todo_api.auth.router import router as auth_router
from todo_api.auth.tokens import TokenVerifier
from todo_api.auth.users import KnownUsers
from todo_api.config import Settings, load_settings
from todo_api.db import Connection, create_engine
from todo_api.errors import error_responses, install_error_handlers
from todo_api.maintenance import run_periodically
from todo_api.middleware import CorsMiddleware, RequestContextMiddleware, configure_logging
from todo_api.tasks.changes import SyncTokens
from todo_api.tasks.listing import CursorCodec
from todo_api.tasks.router import router as tasks_router
from todo_api.tasks.router import user_scoped_router

# Headers a browser client may read from a cross-origin response.
EXPOSED_HEADERS = [
    "Location",
    "X-Request-ID",
    "Retry-After",
    "WWW-Authenticate",
    "Link",
    "X-Next-Cursor",
    "X-Total-Count",
    "ETag",
    "Idempotent-Replayed",
]


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    engine = create_engine(settings, autocommit=True)
    counter: Counter = RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()

    token_verifier = TokenVerifier(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        housekeeping = asyncio.create_task(run_periodically(engine, settings))
        yield
        housekeeping.cancel()
        if token_verifier.jwks is not None:
            await token_verifier.jwks.close()
        await counter.close()
        await engine.dispose()

    app = FastAPI(
        title="todo-api",
        version=__version__,
        description="A multi-user tasks API. Every route under /api needs a bearer JWT.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.token_verifier = token_verifier
    secret = settings.signing_secret()
    app.state.cursor_codec = CursorCodec(secret)
    app.state.sync_tokens = SyncTokens(secret, settings.sync_retention_days * 86400)
    app.state.known_users = KnownUsers()
    app.state.seen_profiles = SeenProfiles()
    app.state.rate_limiter = RateLimiter(
        counter,
        attempts=settings.auth_rate_limit_attempts,
        address_attempts=settings.login_address_attempts,
        email_attempts=settings.login_email_attempts,
        window_seconds=settings.auth_rate_limit_window_seconds,
    )

    install_error_handlers(app)
    if settings.builtin_accounts_enabled:
        app.include_router(accounts_router)
    app.include_router(auth_router)
    app.include_router(tasks_router)
    app.include_router(user_scoped_router)  # after /api/tasks, whose paths it would shadow

    @app.get("/health", tags=["service"], responses=error_responses(503), summary="Liveness")
    async def health(conn: Connection) -> dict[str, str]:
        await conn.execute(text("SELECT 1"))
        return {"status": "ok"}

    # Added last, so outermost: CORS headers go on every response, the 500 included.
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(
        CorsMiddleware,
        allow_origins=settings.frontend_url,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    return app


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 on every route with parameters; this service answers 400."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        schemas = schema.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
