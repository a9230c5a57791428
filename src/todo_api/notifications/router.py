"""The notification routes: the inbox, read state, settings."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from todo_api.auth import caller
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.notifications import service
from todo_api.notifications.schemas import (
    MarkRead,
    NotificationPage,
    SettingsRead,
    SettingsUpdate,
    notification_body,
)

PREFIX = "/api/notifications"
router = APIRouter(prefix=PREFIX, tags=["notifications"], responses=error_responses(401, 500, 503))


@router.get(
    "",
    response_model=NotificationPage,
    responses=error_responses(400),
    summary="Your notifications, newest first (only about what you still see)",
)
async def list_notifications(
    request: Request,
    unread: Annotated[bool, Query(description="Only those not read yet")] = False,
    limit: Annotated[
        int, Query(ge=1, le=service.MAX_PAGE, description="Notifications per page", examples=[20])
    ] = service.DEFAULT_PAGE,
    cursor: Annotated[
        str | None, Query(max_length=32, description="`next` of the previous page")
    ] = None,
) -> Response:
    call = await caller(request)
    page = await call.run(service.inbox, unread=unread, limit=limit, cursor=cursor)
    page["items"] = [notification_body(row) for row in page["items"]]
    return json_response(page)


@router.post(
    "/read",
    **NO_CONTENT,
    responses=error_responses(400, 413),
    summary='Mark notifications read: `{"ids": [...]}` or `{"all": true}`',
    openapi_extra=documented(body=MarkRead),
)
async def mark_read(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, MarkRead)
    await call.run(service.mark_read, data)
    return no_content()


@router.get("/settings", response_model=SettingsRead, summary="How you are told by email")
async def get_settings(request: Request) -> Response:
    call = await caller(request)
    return json_response(await call.run(service.get_settings))


@router.patch(
    "/settings",
    response_model=SettingsRead,
    responses=error_responses(400, 413),
    summary="Change how you are told by email (fields left out stay)",
    openapi_extra=documented(body=SettingsUpdate),
)
async def update_settings(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, SettingsUpdate)
    return json_response(await call.create(service.update_settings, data))
