"""Keyset-paged listings: their cursors, and their answer as `GET /api/tasks` gives it, the next
page's cursor in `X-Next-Cursor` and its URL in `Link` (both only when a next page exists), with
the OpenAPI description of those headers.

Two kinds of cursor: a row's `created_at` and `id` (comments, webhook deliveries), and a
sequence number (activity, notifications: the page goes on below it)."""

import base64
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote_plus, urlencode

import fastapi
import orjson
from fastapi import Request

from todo_api.config import Settings
from todo_api.db import Connection, Query, Row
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField

# Above every sequence number: where a newest-first listing by sequence starts.
FIRST_SEQ = 2**62

LINK_HEADER: dict[str, Any] = {
    "Link": {
        "description": 'The next page, as `<url>; rel="next"` (only when there is one)',
        "schema": {"type": "string"},
    }
}
PAGE_HEADERS: dict[str, Any] = {
    "X-Next-Cursor": {
        "description": "Pass as `cursor` for the next page (only when there is one)",
        "schema": {"type": "string"},
    },
    **LINK_HEADER,
}


@dataclass(frozen=True, slots=True)
class Page:
    """Which page of a listing a request asks for: how many rows, and from which cursor on."""

    limit: int
    cursor: str | None


def page_query(rows: str, *, most: int, default: int) -> Callable[..., Awaitable[Page]]:
    """A listing's `limit` and `cursor` query parameters, documented with `rows` ("Comments"),
    as a dependency of their own: a route that takes nothing else but the request and its
    path is then served directly when it has no query string (todo_api.edge.routing)."""

    async def page(
        limit: Annotated[
            int,
            fastapi.Query(ge=1, le=most, description=f"{rows} per page", examples=[20]),
        ] = default,
        cursor: Annotated[
            str | None,
            fastapi.Query(
                max_length=256,
                description="Where the previous page ended (its `X-Next-Cursor`, or its `Link`)",
            ),
        ] = None,
    ) -> Page:
        return Page(limit, cursor)

    return page


def link_value(
    public_url: str | None, path: str, params: Iterable[tuple[str, str]], cursor: str
) -> str:
    """`<url>; rel="next"`: the same listing (its other parameters as sent) from `cursor` on,
    relative or under PUBLIC_URL (never the Host header, which the client chose)."""
    kept = [(k, v) for k, v in params if k != "cursor"]
    # urlencode's text, the cursor last (quote_plus is what urlencode does to each part)
    query = f"{urlencode(kept)}&" if kept else ""
    return f'<{public_url or ""}{path}?{query}cursor={quote_plus(cursor)}>; rel="next"'


def next_link(request: Request, cursor: str) -> str:
    """The `Link` value of the page after this request's, which ended at `cursor`."""
    public_url = held(request.app, Settings).public_url
    scope = request.scope
    # A request without a query has no parameter to carry over (the hot routes' pages).
    params = request.query_params.multi_items() if scope["query_string"] else ()
    return link_value(public_url, url_path(request), params, cursor)


# What Starlette's URL writes of a path, and how it is read back.
_ESCAPED_IN_URL = frozenset("?#\\")


def url_path(request: Request) -> str:
    """`request.url.path`, without making the URL for a plain path (printable ASCII, one
    leading slash, nothing the URL escapes): Starlette's URL keeps such a path as it is."""
    path: str = request.scope["path"]
    if (
        path.startswith("/")
        and not path.startswith("//")
        and path.isascii()
        and path.isprintable()
        and _ESCAPED_IN_URL.isdisjoint(path)
    ):
        return path
    return request.url.path


def page_headers(request: Request, next_cursor: str | None) -> dict[str, str]:
    """`X-Next-Cursor` and `Link` when another page follows; none on the last page."""
    if next_cursor is None:
        return {}
    return {"X-Next-Cursor": next_cursor, "Link": next_link(request, next_cursor)}


def _not_a_cursor() -> InvalidField:
    return InvalidField("cursor", "is not a cursor this listing gave")


async def page_by_created(
    conn: Connection,
    first: Query,
    after: Query,
    params: dict[str, Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Row], str | None]:
    """Up to `limit` rows by (created_at, id), either way, from `cursor` on, and the next page's
    cursor (None on the last page). `first` reads the first page, `after` the others (bound to
    `after_at` and `after_id` too); both read `:limit` rows, one more than the page's to know
    whether another follows."""
    bound = {**params, "limit": limit + 1}
    query = first
    if cursor is not None:
        bound["after_at"], bound["after_id"] = _read_created_cursor(cursor)
        query = after
    rows = (await conn.execute(query, bound)).rows
    page = rows[:limit]
    return page, _created_cursor(page[-1]) if len(rows) > limit else None


def _created_cursor(row: Mapping[str, Any]) -> str:
    """The cursor of a page that ends at `row`, by its `created_at` and `id`."""
    raw = orjson.dumps([row["created_at"].isoformat(), row["id"].hex])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_created_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The `created_at` and `id` a `_created_cursor` holds (400 naming `cursor` for anything
    else)."""
    try:
        at, key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when, row_id = datetime.fromisoformat(at), uuid.UUID(hex=key)
    except (ValueError, TypeError, AttributeError) as exc:  # AttributeError: an id not a string
        raise _not_a_cursor() from exc
    if when.tzinfo is None:
        raise _not_a_cursor()
    return when, row_id


def read_seq_cursor(cursor: str | None) -> int:
    """The sequence number a page starts below: the cursor's, or FIRST_SEQ for the first page
    (400 naming `cursor` for anything but a number up to FIRST_SEQ, which the databases'
    integers hold)."""
    if cursor is None:
        return FIRST_SEQ
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 19 or int(cursor) > FIRST_SEQ:
        raise _not_a_cursor()
    return int(cursor)
