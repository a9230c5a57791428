"""`GET /api/events`: a user's change feed, pushed as Server-Sent Events; and
`POST /api/events/ticket`, for browsers' EventSource, which cannot send headers.

Each message is `event: changes`, `id: <sync token>`, `data: <a page of GET /api/tasks/changes>`
(read by the same code, todo_api.feed.pages): a stream opened without a token starts with an
empty page whose id is where a caught-up client stands now; with one (`Last-Event-ID`, which
browsers send when they reconnect, or `?since=`), it first sends every page since. Then a page
whenever the feed has something new (see todo_api.live.hub for what wakes a stream), and
sse-starlette's `: keep-alive` comment when idle. A token too old for the feed gets one
`event: reset` and the stream ends; on shutdown streams end with a `retry:` hint.
"""

import logging
import math
import secrets
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response, status
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from todo_api.auth import (
    Credential,
    CredentialKind,
    InvalidToken,
    authenticate,
    caller,
    credential_of,
    ended_credentials,
)
from todo_api.config import Settings
from todo_api.db import Database, DatabaseFailure
from todo_api.feed.pages import read_page
from todo_api.kit import changes
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ErrorCode, RateLimited, error_responses
from todo_api.kit.http import documented, header_parameter, json_bytes, json_response
from todo_api.kit.reads import reading, told
from todo_api.live import tickets
from todo_api.live.hub import Hub, Stream, TooManyStreams
from todo_api.live.schemas import EventTicket

log = logging.getLogger("todo_api")

router = APIRouter(prefix="/api/events", tags=["events"], responses=error_responses(401, 500, 503))

PAGE_LIMIT = 100
SEP = "\n"
# After a stream ends for a restart, clients come back within this many milliseconds, spread
# out so that they do not all arrive at once.
RECONNECT_MS = (1000, 5000)
EXPIRED = "This sync token is older than the retention; sync again from the start"
NOT_YOURS = "This sync token was not issued to you by this service; sync again from the start"

LAST_EVENT_ID = header_parameter(
    "Last-Event-ID",
    "The id of the last message received (browsers send it when they reconnect): resume "
    "after it. Wins over `since`",
    None,  # a token the server signed: no example is one
)
STREAM_EXAMPLE = (
    'id: WzEyLDM0LDE3NjQ1NzYwMDBd.c2lnbmF0dXJl\nevent: changes\ndata: {"changes":[],'
    '"deleted":[],"lists":[],"deleted_lists":[],"next":"WzEyLDM0LDE3NjQ1NzYwMDBd.c2lnbmF0dXJl",'
    '"has_more":false}\n\n: keep-alive\n\n'
)
# One event of the stream, as OpenAPI models an event of `text/event-stream` (the fields of the
# SSE format; comments are not events).
STREAM_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string", "enum": ["changes", "reset", "reminder", "notification"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string", "description": "With `changes`: the token to resume from"},
        "retry": {"type": "integer", "description": "Milliseconds before reconnecting"},
    },
}
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `changes` (a page of `GET /api/tasks/changes`, "
        "its `next` token as the id), `reset` (the token is too old: sync from the start; the "
        "stream ends), `reminder` (a reminder that fired, as its `reminder.fired` event's data), "
        "`notification` (one of yours, as `GET /api/notifications` lists it), "
        "`: keep-alive` comments, and `retry:` before the server restarts",
        "content": {"text/event-stream": {"schema": STREAM_EVENT, "example": STREAM_EXAMPLE}},
        "headers": {"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}},
    },
}


@router.post(
    "/ticket",
    status_code=status.HTTP_201_CREATED,
    response_model=EventTicket,
    responses={
        201: {
            "description": "A ticket that opens one stream, once, within 60 s",
            "headers": {"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}},
        }
    },
    summary="A single-use ticket to open a stream from a browser (EventSource)",
)
async def create_ticket(request: Request) -> Response:
    call = await caller(request)
    cookies = held(request.app, tickets.StreamCookies)
    lifetime = time.time() + tickets.STREAM_COOKIE_HOURS * 3600
    credential = credential_of(call.user, expires_at=lifetime)
    sealed = cookies.seal(credential, tickets.TICKET_PURPOSE)
    ticket, expires_at = await call.run(tickets.issue, sealed)
    response = json_response(
        {"ticket": ticket, "expires_at": expires_at},
        status.HTTP_201_CREATED,
        {"Cache-Control": "no-store"},
    )
    public_url = held(request.app, Settings).public_url
    response.set_cookie(
        tickets.STREAM_COOKIE,
        cookies.seal(credential, tickets.COOKIE_PURPOSE),
        max_age=tickets.STREAM_COOKIE_HOURS * 3600,
        path=(urlsplit(public_url).path if public_url else "") + router.prefix,
        secure=True,
        httponly=True,
        samesite="none",
    )
    return response


@router.get(
    "",
    response_class=Response,
    responses={**STREAM_RESPONSE, **error_responses(400, 429)},
    openapi_extra=documented(headers=[LAST_EVENT_ID]),
    summary="Live updates: the change feed, pushed (Server-Sent Events)",
)
async def events(
    request: Request,
    since: Annotated[
        str | None,
        Query(
            max_length=512,
            description="A sync token (a message's id, or the feed's `next`): resume after it",
        ),
    ] = None,
    ticket: Annotated[
        str | None,
        Query(
            description="A ticket from `POST /api/events/ticket`, instead of the "
            "Authorization header",
        ),
    ] = None,
) -> Response:
    credential = await _who(request, ticket)
    return await stream_for(request, credential, request.headers.get("last-event-id") or since)


async def stream_for(request: Request, credential: Credential, token: str | None) -> Response:
    """The stream of `credential`'s user, from `token` (a sync token) when there is one: what
    `GET /api/events` answers, and what the web app's pages listen to (todo_api.web)."""
    user_id = credential.user_id
    tokens = held(request.app, changes.SyncTokens)
    start = None
    if token:
        # A token the service cannot use is a reset on the stream, not a status: a browser's
        # EventSource shows a page no status, only that it failed.
        try:
            start = tokens.read(user_id, token)
        except changes.InvalidSyncToken:
            return EventSourceResponse(_reset(NOT_YOURS), sep=SEP, ping=0)
        except changes.ExpiredSyncToken:
            return EventSourceResponse(_reset(EXPIRED), sep=SEP, ping=0)
    hub = held(request.app, Hub)
    settings = held(request.app, Settings)
    try:
        stream = hub.open(credential)
    except TooManyStreams:
        # A closed stream's place is free by the next keep-alive at the latest.
        raise RateLimited(
            math.ceil(settings.event_keepalive_seconds),
            f"Too many open event streams (at most {settings.event_streams_per_user} per user); "
            "close one and try again",
        ) from None
    try:
        await hub.join(stream)
    except BaseException:
        hub.close(stream)
        raise
    primary = held(request.app, Database)
    reader = database(request)  # a read replica's, with replicas: the catch-up reads there
    catch_up = None if reader is primary else reader
    messages = _messages(primary, tokens, hub, stream, start, catch_up)
    return _LiveResponse(
        hub,
        stream,
        messages,
        sep=SEP,
        ping=settings.event_keepalive_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep=SEP),
    )


async def _who(request: Request, ticket: str | None) -> Credential:
    """The credential the stream is opened with: the ticket's when there is one, else the
    bearer token's; and the stream cookie's when the ticket is spent (a browser reconnecting
    to the same URL) or, with no bearer token, when there is none. A ticket's or a cookie's
    opens a stream only while it works (401 once revoked, its sign-in ended, its user gone)."""
    cookies = held(request.app, tickets.StreamCookies)
    db = held(request.app, Database)
    credential = None
    if ticket is None and (
        "authorization" in request.headers or tickets.STREAM_COOKIE not in request.cookies
    ):
        credential = credential_of(await authenticate(request))
        if credential.kind != CredentialKind.sign_in:
            return credential  # just checked; a sign-in's access token outlives its logout
    elif ticket is not None:
        async with db.connection() as conn:
            if await tickets.use(conn, ticket):
                credential = cookies.read(ticket, tickets.TICKET_PURPOSE)
    if credential is None:
        cookie = request.cookies.get(tickets.STREAM_COOKIE)
        credential = cookies.read(cookie) if cookie else None
    if credential is not None:
        async with db.connection() as conn:
            if await ended_credentials(conn, [credential]):
                credential = None
    if credential is None:
        raise InvalidToken(
            "The ticket is not valid (used, expired or unknown), or what asked for it no "
            "longer works (revoked, signed out, deleted)"
        )
    request.state.user_id = credential.user_id
    return credential


class _LiveResponse(EventSourceResponse):
    """The stream, whose place among its user's streams is given back however it ends."""

    def __init__(self, hub: Hub, stream: Stream, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hub = hub
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._hub.close(self._stream)


def _changes(body: dict[str, Any], token: str) -> dict[str, Any]:
    return {"event": "changes", "id": token, "data": json_bytes(body).decode()}


def _retry() -> dict[str, Any]:
    low, high = RECONNECT_MS
    return {"retry": low + secrets.randbelow(high - low)}


async def _reset(reason: str) -> AsyncIterator[dict[str, Any]]:
    code = ErrorCode.SYNC_TOKEN_EXPIRED if reason == EXPIRED else ErrorCode.VALIDATION_ERROR
    body = {"error": reason, "code": code, "details": None}
    yield {"event": "reset", "data": json_bytes(body).decode()}


async def _messages(
    db: Database,
    tokens: changes.SyncTokens,
    hub: Hub,
    stream: Stream,
    start: tuple[changes.Position, float] | None,
    catch_up: Database | None,
) -> AsyncIterator[dict[str, Any]]:
    user_id = stream.user_id
    try:
        if start is None:
            async with db.connection() as conn:
                start = (await changes.current_position(conn), time.time())
            token = tokens.issue(user_id, *start)
            empty: dict[str, Any] = {kind: [] for kind in changes.FEED_KINDS}
            yield _changes({**empty, "next": token, "has_more": False}, token)
        elif catch_up is not None:
            # What came since the client's token, read from a read replica that has replayed
            # as far as the token and the person's position (else the primary: `reading`).
            # The loop's first read, on the primary, then brings what the replica had not.
            more = True
            while more:
                page = await reading(catch_up, read_page, tokens, user_id, start, PAGE_LIMIT)
                start, more = page.next, page.feed.has_more
                if not page.empty:
                    yield _changes(page.body, page.token)
        since = start
        while not hub.stopping and not stream.ended:
            while stream.messages:
                event, data = stream.messages.popleft()
                yield {"event": event, "data": data}
            if stream.feed_moved:
                stream.feed_moved = False
                more = True
                while more:
                    floor = stream.floor  # as it was when the read below began
                    page = await hub.read(tokens, stream, since, PAGE_LIMIT)
                    since, more = page.next, page.feed.has_more
                    if not page.empty:
                        await told([user_id])  # (read replicas: kit/reads.py)
                        yield _changes(page.body, page.token)
                    elif not more:
                        since = stream.caught_up(since, floor)
                    if page.feed.lists or page.feed.deleted_lists:
                        await hub.join(stream)  # people may have come or gone with a list
            await stream.signal.wait()
            stream.signal.clear()
    except DatabaseFailure as exc:
        # The client comes back with its last id, and reads on from there.
        log.warning("live updates: a stream ends, the database failed (%s)", exc)
    if not stream.ended:  # a stream whose credential stopped working ends with no hint
        yield _retry()
