"""For whoever runs the service: liveness and readiness probes, and metrics."""

import contextlib
import hmac

from fastapi import APIRouter, Request, Response
from sqlalchemy import String, column, literal, select, table

from todo_api.auth import InvalidToken, Unauthorized
from todo_api.config import Settings
from todo_api.db import Database, DatabaseFailure
from todo_api.edge.metrics import CONTENT_TYPE, Metrics
from todo_api.kit import changes
from todo_api.kit.deps import database, held
from todo_api.kit.errors import DatabaseUnavailable, error_responses
from todo_api.kit.http import json_response
from todo_api.migrations import head_revision, known_revisions
from todo_api.process.shutdown import Lifecycle

router = APIRouter(tags=["service"])
_ALEMBIC_VERSION = select(column("version_num", String())).select_from(table("alembic_version"))
_ANSWERS = select(literal(1))


@router.get("/health", summary="Liveness: the process answers (no database call)")
async def health() -> Response:
    return json_response({"status": "ok"})


class NotReady(DatabaseUnavailable):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.message = reason


@router.get(
    "/ready",
    summary="Readiness: the database answers and its schema is the latest",
    responses=error_responses(503),
)
async def ready(request: Request) -> Response:
    if held(request.app, Lifecycle).shutting_down:
        raise NotReady("The service is shutting down")
    try:
        async with database(request).connection() as conn:
            try:
                revision = (await conn.execute(_ALEMBIC_VERSION)).scalar()
            except DatabaseFailure:
                # No version to read: a database that still answers has no schema yet.
                await conn.execute(_ANSWERS)
                revision = None
    except Exception as exc:  # any other failure means the database is out of reach
        raise NotReady("The database is unavailable; try again shortly") from exc
    if revision is None:
        raise NotReady("The database has no schema yet; run `todo-api migrate`")
    # A revision this release does not know is a later release's (a rolling upgrade under way):
    # its schema still serves this one (expand, then contract a release later).
    if revision != head_revision() and revision in known_revisions():
        raise NotReady(
            f"The database schema is at {revision}, not at the latest ({head_revision()})"
        )
    return json_response({"status": "ready"})


@router.get(
    "/metrics",
    summary="Metrics in Prometheus' text format (with METRICS_TOKEN set, it needs that token)",
    responses={
        **error_responses(401),
        200: {"description": "The metrics", "content": {CONTENT_TYPE: {}}},
    },
)
async def metrics(request: Request) -> Response:
    settings = held(request.app, Settings)
    if settings.metrics_token is not None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized
        expected = settings.metrics_token.get_secret_value().encode()
        if not hmac.compare_digest(token.strip().encode(), expected):
            raise InvalidToken("The metrics token is not valid")
    collected = held(request.app, Metrics)
    with contextlib.suppress(DatabaseFailure):  # the rest is worth having in an outage
        async with held(request.app, Database).connection() as conn:
            holders = await changes.holders(conn)
        collected.feed_lag.set(holders[0].held if holders else 0.0)
    return Response(collected.render(), media_type=CONTENT_TYPE)
