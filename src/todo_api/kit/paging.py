"""The answer of a keyset-paged listing, as `GET /api/tasks` gives it: the next page's cursor in
`X-Next-Cursor` and its URL in `Link` (both only when a next page exists), and the OpenAPI
description of those headers."""

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from todo_api.config import Settings
from todo_api.kit.deps import held

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


def link_value(
    public_url: str | None, path: str, params: Iterable[tuple[str, str]], cursor: str
) -> str:
    """`<url>; rel="next"`: the same listing (its other parameters as sent) from `cursor` on,
    relative or under PUBLIC_URL (never the Host header, which the client chose)."""
    query = urlencode([*((k, v) for k, v in params if k != "cursor"), ("cursor", cursor)])
    return f'<{public_url or ""}{path}?{query}>; rel="next"'


def next_link(request: Request, cursor: str) -> str:
    """The `Link` value of the page after this request's, which ended at `cursor`."""
    public_url = held(request.app, Settings).public_url
    return link_value(public_url, request.url.path, request.query_params.multi_items(), cursor)


def page_headers(request: Request, next_cursor: str | None) -> dict[str, str]:
    """`X-Next-Cursor` and `Link` when another page follows; none on the last page."""
    if next_cursor is None:
        return {}
    return {"X-Next-Cursor": next_cursor, "Link": next_link(request, next_cursor)}
