"""`GET /api/tasks/changes`: what changed since a sync token, for offline clients.

Included before the task routes, so that `changes` is never read as a task id.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from todo_api.auth import caller
from todo_api.feed.pages import read_page
from todo_api.feed.schemas import ChangeFeed
from todo_api.kit import changes
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, SyncTokenExpired, error_responses
from todo_api.kit.http import json_response, only

router = APIRouter(prefix="/api/tasks", tags=["tasks"], responses=error_responses(401, 500, 503))


@router.get(
    "/changes",
    response_model=ChangeFeed,
    responses=error_responses(400, 410),
    summary="What changed since a sync token (for offline clients)",
)
async def list_changes(
    request: Request,
    since: Annotated[
        str | None,
        Query(
            max_length=512,
            description="The `next` of the previous call; leave out to get everything",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Changes per call", examples=[100])
    ] = 100,
) -> Response:
    call = await caller(request)
    tokens = held(request.app, changes.SyncTokens)
    try:
        start = tokens.read(call.user_id, since) if since is not None else None
    except changes.InvalidSyncToken as exc:
        raise InvalidField("since", str(exc)) from None
    except changes.ExpiredSyncToken:
        raise SyncTokenExpired(
            "This sync token is older than the retention; sync again from the start"
        ) from None
    async with call.connection() as conn:
        page = await read_page(conn, tokens, call.user_id, start, limit)
    return json_response(page.body)


only(router, "/changes", "GET")
