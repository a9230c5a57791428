"""The application factory: middleware, routers and error handlers; nothing at import time."""

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from todo_api import __version__, words
from todo_api.accounts.emails import Mailer
from todo_api.accounts.oidc import router as oidc_router
from todo_api.accounts.oidc_provider import IdentityProvider
from todo_api.accounts.pages import routes as account_pages
from todo_api.accounts.passkeys import PREFIX as PASSKEYS_PREFIX
from todo_api.accounts.passkeys import router as passkeys_router
from todo_api.accounts.passwords import PasswordHashing
from todo_api.accounts.registration import Invitations
from todo_api.accounts.router import SESSION_PATHS, UNVERIFIED_ALLOWED, me_router
from todo_api.accounts.router import router as accounts_router
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.better_auth import BetterAuthSessions
from todo_api.auth.dependencies import PathsApart
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.live_sign_ins import LiveSignIns
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.tokens import TokenVerifier
from todo_api.auth.users import KnownUsers
from todo_api.calendar_feeds.router import router as calendar_feeds_router
from todo_api.collaboration import scheduled as collaboration_scheduled
from todo_api.collaboration.router import router as comments_router
from todo_api.config import Settings, load_settings
from todo_api.dav import scheduled as dav_scheduled
from todo_api.dav.front import OnFirstRequest
from todo_api.dav.front import too_large as dav_too_large
from todo_api.db import Database
from todo_api.edge import hot, openapi
from todo_api.edge.docs import install_docs
from todo_api.edge.handlers import install_error_handlers
from todo_api.edge.head import HeadAsGet
from todo_api.edge.hot import HotLane
from todo_api.edge.limits import BodyLimitMiddleware
from todo_api.edge.metrics import Metrics
from todo_api.edge.middleware import CorsMiddleware, RequestContextMiddleware
from todo_api.edge.ops import router as ops_router
from todo_api.edge.routing import DirectRoutes
from todo_api.feed import scheduled as feed_scheduled
from todo_api.feed.router import router as feed_router
from todo_api.files import scheduled as files_scheduled
from todo_api.files.router import UPLOAD_PATH
from todo_api.files.router import router as files_router
from todo_api.files.storage import Files
from todo_api.files.thumbnails import Thumbnails
from todo_api.files.thumbnails import router as thumbnails_router
from todo_api.files.upload import MULTIPART_SLACK
from todo_api.filters.router import router as filters_router
from todo_api.inbound import scheduled as inbound_scheduled
from todo_api.inbound.router import MAILGUN_PATH, POSTMARK_PATH
from todo_api.inbound.router import router as inbound_router
from todo_api.kit import backfills
from todo_api.kit.changes import SyncTokens
from todo_api.kit.deps import Holdings, held, hold
from todo_api.kit.http import DOCUMENTED_MODELS
from todo_api.kit.jobs import Job, JobRunner
from todo_api.kit.ratelimit import Counter, MemoryCounter, RateLimiter, RedisCounter
from todo_api.kit.reads import read_routing
from todo_api.kit.routes import LabelledMount, LabelledRoute
from todo_api.lists import scheduled as lists_scheduled
from todo_api.lists.members import router as members_router
from todo_api.lists.router import router as lists_router
from todo_api.lists.section_routes import router as sections_router
from todo_api.lists.sharing import join_invited
from todo_api.live import scheduled as live_scheduled
from todo_api.live.hub import Hub
from todo_api.live.router import router as live_router
from todo_api.live.tickets import StreamCookies
from todo_api.live.wakeups import channel_for
from todo_api.mcp.endpoint import PATH as MCP_PATH
from todo_api.mcp.endpoint import McpEndpoint
from todo_api.notifications import scheduled as notifications_scheduled
from todo_api.notifications.router import router as notifications_router
from todo_api.oauth import metadata as oauth_metadata
from todo_api.oauth import scheduled as oauth_scheduled
from todo_api.oauth.connections import connections_router
from todo_api.oauth.metadata import OPEN_PATHS, mcp_challenge
from todo_api.process.logs import configure_logging
from todo_api.process.shutdown import Lifecycle
from todo_api.push.router import router as push_router
from todo_api.reminders import scheduled as reminders_scheduled
from todo_api.reminders.router import router as reminders_router
from todo_api.tasks import scheduled as tasks_scheduled
from todo_api.tasks.listing import CursorCodec
from todo_api.tasks.router import router as tasks_router
from todo_api.tasks.user_routes import router as user_tasks_router
from todo_api.tokens.router import PREFIX as TOKENS_PREFIX
from todo_api.tokens.router import router as tokens_router
from todo_api.web.pages import WebApp
from todo_api.web.settings.data import IMPORT_PATH as WEB_IMPORT_PATH
from todo_api.web.tasks.file_pages import UPLOAD_PATHS as WEB_UPLOAD_PATHS
from todo_api.web.tasks.file_pages import too_large as web_upload_too_large
from todo_api.webhooks import scheduled as webhooks_scheduled
from todo_api.webhooks.router import events_documented
from todo_api.webhooks.router import router as webhooks_router
from todo_api.yourdata.router import IMPORT_PATH
from todo_api.yourdata.router import router as yourdata_router

if TYPE_CHECKING:
    from todo_api.oauth.router import AuthorizationServer

# Headers a browser client may read from a cross-origin response.
# The garbage collector's first threshold (Python's default is 700): see `lifespan`.
YOUNG_OBJECTS_PER_COLLECTION = 10_000
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

# Every domain's background work (todo_api.kit.jobs).
SCHEDULED_JOBS = [
    *tasks_scheduled.schedule.jobs,
    *lists_scheduled.schedule.jobs,
    *live_scheduled.schedule.jobs,
    *webhooks_scheduled.schedule.jobs,
    *reminders_scheduled.schedule.jobs,
    *feed_scheduled.schedule.jobs,
    *backfills.schedule.jobs,
    *oauth_scheduled.schedule.jobs,
    *dav_scheduled.schedule.jobs,
    *collaboration_scheduled.schedule.jobs,
    *notifications_scheduled.schedule.jobs,
    *files_scheduled.schedule.jobs,
    *inbound_scheduled.schedule.jobs,
]


class Service(FastAPI):
    """FastAPI, with the edge's hot lane (todo_api.edge.hot) tried first for each request."""

    hot_lane: HotLane | None = None
    _layers_checked = False  # whether the lane accounts for the app's layers was asked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._layers_checked:
            # The first call (the lifespan's, under a server) builds the layers, as Starlette
            # does: none may be added after it.
            self._layers_checked = True
            if self.middleware_stack is None:
                self.middleware_stack = self.build_middleware_stack()
            if not hot.accounts_for(self.user_middleware):
                self.hot_lane = None
        if self.hot_lane is not None and scope["type"] == "http" and not self.root_path:
            found = self.hot_lane.route_for(scope)
            if found is not None:
                scope["app"] = self  # as Starlette sets it
                await self.hot_lane.serve(found, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    jobs: Sequence[Job] | None = None,
    direct_routes: bool = True,
) -> FastAPI:
    """The service with `settings` (default: from the environment), running `jobs` in the
    background (default: every domain's). `direct_routes=False` serves every route through
    FastAPI: the twin that tests compare the direct routes with."""
    settings = settings or load_settings()
    configure_logging(settings.log_level, settings.log_format)
    db = Database(settings)
    reads = read_routing(db, settings)
    counter: Counter = RedisCounter(settings.redis_url) if settings.redis_url else MemoryCounter()

    token_verifier = TokenVerifier(settings)
    sessions = BetterAuthSessions(settings)
    passwords = PasswordHashing(
        concurrency=settings.password_hash_concurrency,
        max_waiting=settings.password_hash_queue,
        max_wait_seconds=settings.password_hash_max_wait_seconds,
        memory_kib=settings.password_hash_memory_kib,
        iterations=settings.password_hash_iterations,
    )
    lifecycle = Lifecycle()
    mcp = McpEndpoint(max_body_bytes=settings.max_body_bytes, challenge=mcp_challenge(settings))
    job_runner = JobRunner(db, settings, SCHEDULED_JOBS if jobs is None else jobs)
    known_tokens = KnownTokens()
    mailer = Mailer(settings, counter, db)
    oauth_server = _oauth_server(settings, db, known_tokens)
    known_users = KnownUsers()
    files = Files(settings)
    hub = Hub(db, settings, lifecycle, channel_for(settings, db), known_tokens, known_users)
    # Event streams end when `lifecycle` says the server stops (with a `retry:` hint), not
    # when sse-starlette guesses it from uvicorn's signal handler (which `lifecycle` wraps).
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        running_jobs = asyncio.create_task(job_runner.run(), name="jobs")
        hub.start()  # every process hears which writes other processes' streams wait for
        if reads is not None:
            reads.start()  # the replicas' watch
        words.prepare()  # the date reader's languages, loaded before the first request
        # What start-up made lives as long as the process: the garbage collector need not
        # look at it again on every full collection (they are cheaper, and a request that
        # makes many objects, such as a validation error for a large body, costs less).
        gc.freeze()
        # The youngest objects are looked through every 700 new ones by default: on a busy
        # server, every few requests, through the objects of the requests under way (which
        # their reference counts free anyway), a few percent of its CPU. Requests make no
        # garbage cycles to speak of; one that does is still collected soon enough.
        gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, *gc.get_threshold()[1:])
        with lifecycle.watching_exit_signals(settings.shutdown_delay_seconds):
            async with mcp.run():
                yield
        # A job under way is cancelled: its transaction is rolled back, and its next run
        # (here or in another worker) does the work.
        # Each part bounded (Lifecycle.close): one that never answers leaves the rest to close.
        running_jobs.cancel()
        await lifecycle.close("the background jobs", asyncio.wait([running_jobs]))
        await lifecycle.close("live updates", hub.stop())
        await lifecycle.close("the mailer", mailer.close())
        if token_verifier.jwks is not None:
            await lifecycle.close("the JWKS client", token_verifier.jwks.close())
        await lifecycle.close("Better Auth's sessions", sessions.close())
        if oauth_server is not None:
            await lifecycle.close("the authorization server", oauth_server.close())
        await lifecycle.close("the file store", files.close())
        await lifecycle.close("the rate limits' store", counter.close())
        passwords.close()
        if reads is not None:
            await lifecycle.close("the read replicas", reads.close())
        await db.close()  # bounded itself where it can be (Database.close)

    app = Service(
        title="todo-api",
        version=__version__,
        description="A multi-user tasks API. Every route under /api needs a bearer token: a "
        "signed-in session's JWT or a personal access token.",
        lifespan=lifespan,
        # A path with an extra or missing trailing slash is redirected by the 404 handler,
        # relative to this service (Starlette's own redirect takes the host from Host).
        redirect_slashes=False,
        # FastAPI's OpenTelemetry bridge looks up the global providers on every request;
        # /metrics and the request log are this service's telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # /docs and /redoc are served with local assets by install_docs.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    metrics = Metrics(db)
    metrics.registry.register(job_runner.collector())
    if reads is not None:
        metrics.registry.register(reads.replicas.collector())
    secret = settings.signing_secret()
    holdings = Holdings(
        settings,
        db,
        lifecycle,
        metrics,
        token_verifier,
        known_tokens,
        sessions,
        passwords,
        CursorCodec(secret),
        SyncTokens(secret, settings.sync_retention_days * 86400),
        StreamCookies(secret),
        known_users,
        hub,
        SeenProfiles(),
        LiveSignIns(known_tokens),
        Challenges(secret, counter, mailer.wrong_codes_entered),
        mailer,
        RateLimiter(
            counter,
            attempts=settings.auth_rate_limit_attempts,
            address_attempts=settings.login_address_attempts,
            email_attempts=settings.login_email_attempts,
            window_seconds=settings.auth_rate_limit_window_seconds,
        ),
        Invitations(join_invited),
        files,
        Thumbnails(settings.thumbnail_max_pixels),
        PathsApart(session_only=(TOKENS_PREFIX, *SESSION_PATHS), unverified=UNVERIFIED_ALLOWED),
        *([IdentityProvider(settings)] if settings.oidc_enabled else []),
        *([reads] if reads is not None else []),
    )
    hold(app, holdings)

    install_error_handlers(app)
    # Routes are matched in order: the busiest first (the feed's path before the task ids).
    app.include_router(feed_router)
    app.include_router(tasks_router)
    app.include_router(comments_router)
    app.include_router(user_tasks_router)
    app.include_router(lists_router)
    app.include_router(sections_router)
    app.include_router(files_router)
    app.include_router(thumbnails_router)
    app.include_router(filters_router)
    app.include_router(notifications_router)
    app.include_router(members_router)
    app.include_router(live_router)
    app.include_router(webhooks_router)
    app.include_router(reminders_router)
    app.include_router(push_router)
    app.include_router(yourdata_router)
    app.include_router(calendar_feeds_router)
    app.include_router(inbound_router)
    app.webhooks.include_router(events_documented)  # what receivers get, in /openapi.json
    if settings.builtin_accounts_enabled:
        app.include_router(accounts_router)
        app.router.routes.extend(account_pages())
        app.include_router(passkeys_router)
    if settings.oidc_enabled:
        app.include_router(oidc_router)
    app.include_router(me_router)
    app.include_router(tokens_router)
    app.include_router(connections_router)
    app.include_router(ops_router)
    if settings.web_app:
        pages, root = WebApp(settings).routes()
        app.router.routes.insert(0, pages)  # first of all: see `Section`
        app.router.routes.append(root)  # before the docs: a browser's `GET /` goes to the app
    install_docs(app)
    app.router.routes.append(LabelledRoute(MCP_PATH, mcp, include_in_schema=False))
    app.router.routes.extend(oauth_metadata.routes(settings))
    if oauth_server is not None:
        app.router.routes.extend(oauth_server.routes)
    # CalDAV answers every method itself, errors in WebDAV's shape (todo_api.dav).
    # First too: FastAPI's router would ask every API router before it (see `Section`).
    app.router.routes.insert(0, LabelledMount("/dav", app=OnFirstRequest("DavApp")))
    app.router.routes.append(
        LabelledRoute("/.well-known/caldav", OnFirstRequest("WellKnown"), include_in_schema=False)
    )

    # Each layer's options, for the layer and for the hot lane alike.
    direct: dict[str, Any] = {
        "routers": [feed_router, tasks_router, comments_router, calendar_feeds_router],
        "exception_handlers": app.exception_handlers,
    }
    body_limit: dict[str, Any] = {
        "max_bytes": settings.max_body_bytes,
        "by_path": {
            IMPORT_PATH: settings.import_max_bytes,
            WEB_IMPORT_PATH: settings.import_max_bytes,
            # A provider's post of one message: its files in base64 (4/3) or a form.
            POSTMARK_PATH: settings.inbound_max_message_bytes * 4 // 3 + MULTIPART_SLACK,
            MAILGUN_PATH: settings.inbound_max_message_bytes + MULTIPART_SLACK,
        },
        # An upload's own route counts its file against ATTACHMENT_MAX_BYTES.
        "by_pattern": [
            (path, settings.attachment_max_bytes + MULTIPART_SLACK)
            for path in (UPLOAD_PATH, *WEB_UPLOAD_PATHS)
        ],
        "dav_refusal": dav_too_large,
        "page_refusal": web_upload_too_large,
    }
    context: dict[str, Any] = {"metrics": metrics, "after_write": hub.wrote, "reads": reads}
    if direct_routes:
        # Innermost: the busiest routes, served without FastAPI's per-request machinery.
        app.add_middleware(DirectRoutes, **direct)
    # HEAD is answered as GET by every route, the direct ones included.
    app.add_middleware(HeadAsGet)
    # Inside the request context, so that the 413 is logged and carries the request id.
    app.add_middleware(BodyLimitMiddleware, **body_limit)
    # Added last, so outermost: CORS headers go on every response, the 500 included.
    app.add_middleware(RequestContextMiddleware, **context)
    app.add_middleware(
        CorsMiddleware,
        open_paths=OPEN_PATHS,
        prefixes=("/api",),  # the frontend's calls; never the pages (a cookie signs them in)
        allow_origins=settings.frontend_url,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    if settings.trusted_proxies:
        # Outermost: the client address every layer sees (the login limits key on it) is the
        # one a trusted proxy forwarded; from anyone else these headers change nothing.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    elif direct_routes:
        # The layers' work for the busiest requests, in one pass (its `app`s are unused).
        app.hot_lane = HotLane(
            RequestContextMiddleware(app, **context),
            BodyLimitMiddleware(app, **body_limit),
            DirectRoutes(app, **direct),
            cors_open_paths=OPEN_PATHS,
        )
    app.openapi = lambda: _openapi_without_422(app)  # type: ignore[method-assign]
    return app


BEARER = "HTTPBearer"
PERSONAL_TOKEN = "PersonalToken"
DAV_BASIC = "DavBasic"
# With built-in accounts, /docs' Authorize button signs in with an email and a password.
OAUTH2_PASSWORD = "OAuth2Password"


def _oauth_server(
    settings: Settings, db: Database, known_tokens: KnownTokens
) -> "AuthorizationServer | None":
    """The authorization server, where this service is one. Loaded here only: it stands on the
    MCP SDK, which a process that is none need not hold in memory."""
    if not settings.oauth_server_enabled:
        return None
    from todo_api.oauth.router import AuthorizationServer

    return AuthorizationServer(settings, db, known_tokens)


def _openapi_without_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 on every route with parameters; this service answers 400."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            webhooks=app.webhooks.routes,
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in DOCUMENTED_MODELS:  # bodies the routes read themselves
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(model_schema.pop("$defs", {}))
            schemas[model.__name__] = model_schema
        settings = held(app, Settings)
        bearer = "A signed-in session's JWT" + (
            ", or a Better Auth session token (its `bearer` plugin)"
            if settings.better_auth_url
            else ""
        )
        schemes: dict[str, Any] = {
            BEARER: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": bearer,
            },
            PERSONAL_TOKEN: {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "todo_pat_",
                "description": "A personal access token (POST /api/tokens): `read` allows GET "
                "and HEAD (and live updates), `write` everything but managing tokens",
            },
            DAV_BASIC: {
                "type": "http",
                "scheme": "basic",
                "description": "For /dav (CalDAV clients): any user name, a personal access "
                "token as the password",
            },
        }
        # Either session scheme gives the same bearer token: one pasted, or one
        # /api/auth/token made; a personal token is the other way in.
        session: list[dict[str, list[str]]] = [{BEARER: []}]
        if settings.builtin_accounts_enabled:
            schemes[OAUTH2_PASSWORD] = {
                "type": "oauth2",
                "flows": {"password": {"tokenUrl": "/api/auth/token", "scopes": {}}},
            }
            session.append({OAUTH2_PASSWORD: []})
        schema["components"]["securitySchemes"] = schemes
        for path, path_item in schema["paths"].items():
            for operation in path_item.values():
                # Every /api operation needs a token but those marked PUBLIC; tokens are
                # managed with a session only, and so are passkeys.
                if path.startswith("/api/") and "security" not in operation:
                    managing = path.startswith((TOKENS_PREFIX, PASSKEYS_PREFIX, *SESSION_PATHS))
                    operation["security"] = session + ([] if managing else [{PERSONAL_TOKEN: []}])
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "422" in responses and "IDEMPOTENCY" not in str(responses["422"]):
                    responses.pop("422")
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        openapi.complete(schema)
        app.openapi_schema = schema
    return app.openapi_schema
