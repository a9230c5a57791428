"""Probes for whoever runs the service: liveness and readiness."""

from fastapi import APIRouter, Request, Response
from sqlalchemy import String, column, select, table

from todo_api.deps import database
from todo_api.errors import DatabaseUnavailable, error_responses
from todo_api.http import json_response
from todo_api.migrations import head_revision

router = APIRouter(tags=["service"])
_ALEMBIC_VERSION = select(column("version_num", String())).select_from(table("alembic_version"))


@router.head("/health", include_in_schema=False)
@router.get("/health", summary="Liveness: the process answers (no database call)")
async def health() -> Response:
    return json_response({"status": "ok"})


class NotReady(DatabaseUnavailable):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.message = reason


@router.head("/ready", include_in_schema=False)
@router.get(
    "/ready",
    summary="Readiness: the database answers and its schema is the latest",
    responses=error_responses(503),
)
async def ready(request: Request) -> Response:
    try:
        async with database(request).connection() as conn:
            revision = (await conn.execute(_ALEMBIC_VERSION)).scalar()
    except Exception as exc:  # any failure to read the version means "not ready"
        raise NotReady("The database is unavailable; try again shortly") from exc
    if revision != head_revision():
        raise NotReady(
            f"The database schema is at {revision}, not at the latest ({head_revision()})"
        )
    return json_response({"status": "ready"})
