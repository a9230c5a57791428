"""Calendar feeds' routes: `/api/feeds` to make (the URL shown in that answer only), list and
delete them, and the URL itself, `GET /feeds/{secret}.ics`, which needs no other credential:
a calendar app subscribes to it and fetches it again every few minutes."""

import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, Field, model_validator

from todo_api.auth import caller
from todo_api.calendar_feeds import service
from todo_api.calendar_feeds.calendar import feed_text
from todo_api.calendar_feeds.errors import FeedNotFound
from todo_api.config import Settings
from todo_api.db import Database
from todo_api.kit.deps import held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    header,
    json_response,
    no_content,
    public_base,
    read_json,
)
from todo_api.kit.inputs import UUID_EXAMPLE, Input, id_in_path, parse_id
from todo_api.tasks.listing import CursorCodec

PREFIX = "/api/feeds"
FEED_PATH = "/feeds/{secret}.ics"
# How long a calendar app (or a cache on its way) may keep an answer before asking again.
CACHE_CONTROL = "private, max-age=300"
CALENDAR_TYPE = "text/calendar; charset=utf-8"
URL_EXAMPLE = "https://todo.example.com/feeds/3q2-7wEfBCh0Yk1Vb6y2cF9rT8xZ4LmNs0AaPqRuWvY.ics"

router = APIRouter(tags=["calendar feeds"], responses=error_responses(500, 503))


class FeedCreate(Input):
    list_id: uuid.UUID | None = Field(
        default=None, description="The tasks of this list (one you own or that is shared with you)"
    )
    filter_id: uuid.UUID | None = Field(
        default=None, description="The tasks of this saved filter of yours"
    )
    include: service.Include = Field(
        default=service.Include.dated,
        description="`dated`: tasks with a due or a start, as events; `all`: the undated ones "
        "too, as tasks (VTODO), which calendar apps that show tasks list and others skip",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.list_id is not None and self.filter_id is not None:
            raise ValueError("give list_id or filter_id, or neither for all your tasks")
        return self


class FeedRead(BaseModel):
    id: uuid.UUID = Field(examples=[UUID_EXAMPLE])
    list_id: uuid.UUID | None = Field(description="null: not one list")
    filter_id: uuid.UUID | None = Field(description="null: not a saved filter")
    include: service.Include
    created_at: datetime


class FeedWithUrl(FeedRead):
    url: str = Field(
        description="The feed's address, shown in this answer only: anyone who has it reads "
        "the feed's tasks, so delete the feed to end it",
        examples=[URL_EXAMPLE],
    )
    webcal_url: str = Field(
        description="The same address as `webcal://`, which opens a calendar app to subscribe",
        examples=[URL_EXAMPLE.replace("https://", "webcal://", 1)],
    )


FEED_FIELDS = tuple(FeedRead.model_fields)
FeedIdPath = Annotated[str, id_in_path("The feed's id")]


def feed_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in FEED_FIELDS}


def feed_urls(base: str, secret: str) -> dict[str, str]:
    url = f"{base}/feeds/{secret}.ics"
    return {"url": url, "webcal_url": "webcal://" + url.split("://", 1)[1]}


def service_base(request: Request) -> str:
    return public_base(request, held(request.app, Settings).public_url)


@router.post(
    PREFIX,
    response_model=FeedWithUrl,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(400, 401, 403, 404, 409, 413),
        201: {
            "description": "The feed, with its URL (shown in this answer only)",
            "headers": {"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}},
        },
    },
    summary="Make a calendar feed of your tasks (at most 20: the 21st is 409 CONFLICT)",
    openapi_extra=documented(body=FeedCreate),
)
async def create_feed(request: Request) -> Response:
    call = await caller(request)
    data = await read_json(request, FeedCreate)
    row, secret = await call.create(
        service.create_feed, list_id=data.list_id, filter_id=data.filter_id, include=data.include
    )
    body = {**feed_body(row), **feed_urls(service_base(request), secret)}
    return json_response(body, status.HTTP_201_CREATED, {"Cache-Control": "no-store"})


@router.get(
    PREFIX,
    response_model=list[FeedRead],
    responses=error_responses(401),
    summary="Your calendar feeds, newest first (without their URLs)",
)
async def list_feeds(request: Request) -> Response:
    call = await caller(request)
    return json_response([feed_body(row) for row in await call.run(service.list_feeds)])


@router.delete(
    PREFIX + "/{feed_id}",
    **NO_CONTENT,
    responses=error_responses(401, 403, 404),
    summary="Delete a calendar feed: its URL answers 404 from the next request on",
)
async def delete_feed(feed_id: FeedIdPath, request: Request) -> Response:
    call = await caller(request)
    await call.run(service.delete_feed, parse_id(feed_id, FeedNotFound))
    return no_content()


@router.get(
    FEED_PATH,
    response_class=Response,
    responses={
        **error_responses(404),
        200: {
            "description": "The feed's tasks as iCalendar (RFC 5545): a VEVENT per dated task",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        },
        304: {"description": "Not modified since the ETag given in If-None-Match"},
    },
    summary="A calendar feed (its URL is its only credential)",
    openapi_extra={"security": []},  # no token: the secret in the path is the credential
)
async def get_feed(
    secret: Annotated[str, Path(description="The secret of the feed's URL")], request: Request
) -> Response:
    db = held(request.app, Database)
    async with db.connection() as conn:
        feed = await service.find_feed(conn, secret)
        if feed is None:
            raise FeedNotFound
        text = await feed_text(
            conn, feed, base=service_base(request), cursors=held(request.app, CursorCodec)
        )
    etag = f'"{hashlib.sha256(text).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(header(request, b"if-none-match"), etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(text, media_type=CALENDAR_TYPE, headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names the answer's ETag (weakly, as RFC 9110 §13.1.2 compares)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
