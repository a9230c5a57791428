"""Small helpers shared by the task-route tests: creating tasks and checking error bodies."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx

# The contract's seven fields, and what the task features add to them.
TASK_FIELDS = {
    "id",
    "user_id",
    "title",
    "description",
    "is_completed",
    "priority",
    "due_at",
    "tags",
    "recurrence",
    "completed_at",
    "created_at",
    "updated_at",
}
ERROR_FIELDS = {"error", "code", "details"}


async def create_task(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """POST a task (title defaults to "A task") and return its body, failing on anything but 201."""
    response = await client.post("/api/tasks", json={"title": "A task", **fields})
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


def random_task_url() -> str:
    return f"/api/tasks/{uuid.uuid4()}"


def timestamp(value: str) -> datetime:
    """Parse a response timestamp, insisting on the contract's UTC `Z` form."""
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an error in the contract's shape with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["code"] == code
    assert isinstance(body["error"], str)
    assert body["error"]
    return body


def assert_not_found(response: httpx.Response) -> dict[str, Any]:
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["details"] is None
    return body


def assert_validation_error(response: httpx.Response, *fields: str) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR whose details name exactly the given fields (in any order)."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    details = body["details"]
    assert isinstance(details, list)
    assert details
    for detail in details:
        assert set(detail) == {"field", "message"}
        assert isinstance(detail["field"], str)
        assert isinstance(detail["message"], str)
        assert detail["message"]
    assert sorted(detail["field"] for detail in details) == sorted(fields)
    return details


# --- Listing and pagination helpers -------------------------------------------------------------

Params = list[tuple[str, str | int]]
"""Query parameters as pairs, so that a parameter can repeat (`priority=low&priority=high`)."""

_NEXT_LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def ids(tasks: list[dict[str, Any]]) -> list[str]:
    return [task["id"] for task in tasks]


def next_link(response: httpx.Response) -> str | None:
    """The URL in a `Link: <url>; rel="next"` header, or None when there is no header."""
    link = response.headers.get("link")
    if link is None:
        return None
    match = _NEXT_LINK.match(link)
    assert match, link
    return match["url"]


async def list_page(
    client: httpx.AsyncClient, params: Params | None = None, path: str = "/api/tasks"
) -> httpx.Response:
    response = await client.get(path, params=params or [])
    assert response.status_code == 200, response.text
    return response


async def walk_pages(
    client: httpx.AsyncClient, params: Params | None = None, path: str = "/api/tasks"
) -> list[dict[str, Any]]:
    """Every task of a listing, following X-Next-Cursor page after page.

    Checks on the way that every page carries the same X-Total-Count, that X-Next-Cursor and
    Link come together, and that the total is the number of tasks walked.
    """
    params = list(params or [])
    walked: list[dict[str, Any]] = []
    totals: set[str] = set()
    cursor: str | None = None
    for _ in range(10_000):
        page_params = [*params, ("cursor", cursor)] if cursor is not None else params
        response = await list_page(client, page_params, path)
        walked.extend(response.json())
        totals.add(response.headers["x-total-count"])
        cursor = response.headers.get("x-next-cursor")
        assert (cursor is None) == (next_link(response) is None), response.headers
        if cursor is None:
            break
        assert response.json(), "a page that promises more is not empty"
    assert totals == {str(len(walked))}, (totals, len(walked))
    return walked


def assert_validation_error_on(response: httpx.Response, parameter: str) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR whose details all name this parameter (or an item of it:
    `priority.0` for the first `priority` of a repeated parameter)."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    details = body["details"]
    assert isinstance(details, list)
    assert details
    for detail in details:
        assert set(detail) == {"field", "message"}
        assert detail["message"]
        assert detail["field"].split(".")[0] == parameter, detail
    return details


# --- A plain Python model of listing: what GET /api/tasks should return for given tasks ---------

PRIORITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}
SORTS = [
    f"{direction}{field}"
    for field in ("created_at", "updated_at", "due_at", "priority", "title")
    for direction in ("", "-")
]


def _sort_value(task: dict[str, Any], field: str) -> Any:
    if field == "priority":
        return PRIORITY_RANK[task["priority"]]
    if field == "title":
        return task["title"].lower()
    value = task[field]
    return None if value is None else timestamp(value)


def expected_order(tasks: list[dict[str, Any]], sort: str = "-created_at") -> list[str]:
    """The ids in the order a sort gives: by the field, then by id, both in the sort's
    direction; tasks without a due date last either way when sorting by due date.

    Ids compare as their canonical lower-case strings, which is the order of the UUIDs' 128-bit
    values (what PostgreSQL's uuid type and SQLite's stored hex both order by).
    """
    field, descending = sort.removeprefix("-"), sort.startswith("-")
    for task in tasks:
        # Canonical form, so that the strings' order is the UUIDs' order.
        assert task["id"] == str(uuid.UUID(task["id"]))
    keyed = [t for t in tasks if _sort_value(t, field) is not None]
    undated = [t for t in tasks if _sort_value(t, field) is None]
    ordered = sorted(keyed, key=lambda t: (_sort_value(t, field), t["id"]), reverse=descending)
    ordered += sorted(undated, key=lambda t: t["id"], reverse=descending)
    return ids(ordered)


def expected_filter(
    tasks: list[dict[str, Any]],
    *,
    now: datetime,
    completed: bool | None = None,
    priorities: list[str] | None = None,
    tags: list[str] | None = None,
    q: str | None = None,
    due_before: datetime | None = None,
    due_after: datetime | None = None,
    overdue: bool | None = None,
) -> list[dict[str, Any]]:
    """The tasks a listing's filters keep (each filter as the issue states it)."""

    def due(task: dict[str, Any]) -> datetime | None:
        return None if task["due_at"] is None else timestamp(task["due_at"])

    def keep(task: dict[str, Any]) -> bool:
        if completed is not None and task["is_completed"] != completed:
            return False
        if priorities and task["priority"] not in priorities:
            return False
        if tags and not {t.strip().lower() for t in tags} <= set(task["tags"]):
            return False
        if q is not None:
            texts = [task["title"], task["description"] or ""]
            if not any(q.lower() in text.lower() for text in texts):
                return False
        due_at = due(task)
        if due_before is not None and not (due_at is not None and due_at < due_before):
            return False
        if due_after is not None and not (due_at is not None and due_at >= due_after):
            return False
        is_overdue = due_at is not None and due_at < now and not task["is_completed"]
        return overdue is None or overdue == is_overdue

    return [task for task in tasks if keep(task)]


# --- Sync features: ETags, idempotency keys, the change feed, direct database access ------------

# Imports for the helpers below, kept with them (this section was appended to the file).
import asyncio  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Iterable  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

from todo_api.config import Settings  # noqa: E402
from todo_api.db import Database  # noqa: E402
from todo_api.signing import SIGNATURE_BYTES  # noqa: E402

_STRONG_ETAG = re.compile(r'^"[^"]*"$')
FEED_WAIT_SECONDS = 5.0


def etag_of(response: httpx.Response) -> str:
    """The response's ETag, which must be a strong entity tag (`"..."`)."""
    etag = response.headers.get("etag")
    assert etag is not None, f"no ETag on {response.request.method} {response.request.url}"
    assert _STRONG_ETAG.match(etag), etag
    return etag


async def user_id_of(client: httpx.AsyncClient) -> uuid.UUID:
    """The caller's user id (their row exists once this returns)."""
    me = await client.get("/api/auth/me")
    assert me.status_code == 200, me.text
    return uuid.UUID(me.json()["id"])


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """A pool of its own on the test database, for setting up what HTTP cannot."""
    db = Database(settings)
    try:
        yield db
    finally:
        await db.close()


async def read_feed(
    client: httpx.AsyncClient,
    since: str | None = None,
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> dict[str, Any]:
    """One call of the change feed (200 expected).

    With `wait_for` (task ids), the same call is repeated for a few seconds until every one of
    them is in `changes` or `deleted`: on PostgreSQL the feed holds back changes while any
    older transaction (anywhere on the server) is still running, which is correct but may
    delay them.
    """
    params: dict[str, str | int] = {}
    if since is not None:
        params["since"] = since
    if limit is not None:
        params["limit"] = limit
    wanted = set(wait_for)
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        response = await client.get("/api/tasks/changes", params=params)
        assert response.status_code == 200, response.text
        feed: dict[str, Any] = response.json()
        assert set(feed) == {"changes", "deleted", "next", "has_more"}
        seen = {task["id"] for task in feed["changes"]} | set(feed["deleted"])
        if wanted <= seen or time.monotonic() > deadline:
            return feed
        await asyncio.sleep(0.05)


async def sync_all(
    client: httpx.AsyncClient,
    since: str | None = None,
    limit: int | None = None,
    wait_for: Iterable[str] = (),
) -> tuple[list[dict[str, Any]], list[str], str, int]:
    """Follow the feed page after page, as a client does, until it has nothing more.

    Returns every change and deletion in the order received, the last token, and the number of
    calls. With `wait_for`, keeps syncing (from the latest token) for a few seconds until those
    ids have come (see read_feed).
    """
    changes: list[dict[str, Any]] = []
    deleted: list[str] = []
    wanted = set(wait_for)
    token, calls = since, 0
    deadline = time.monotonic() + FEED_WAIT_SECONDS
    while True:
        feed = await read_feed(client, token, limit)
        calls += 1
        changes.extend(feed["changes"])
        deleted.extend(feed["deleted"])
        token = feed["next"]
        if feed["has_more"]:
            assert feed["changes"] or feed["deleted"], "a page that promises more is not empty"
            continue
        seen = {task["id"] for task in changes} | set(deleted)
        if wanted <= seen or time.monotonic() > deadline:
            assert token is not None
            return changes, deleted, token, calls
        await asyncio.sleep(0.05)


def sync_token_body(token: str) -> list[Any]:
    """The JSON a sync token carries after its signature: [txid, seq, issued_at].

    Reading it is for tests only (a client treats the token as opaque)."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    body: list[Any] = json.loads(raw[SIGNATURE_BYTES:])
    return body


def with_sync_token_body(token: str, body: list[Any]) -> str:
    """The token with its JSON replaced and its signature kept: a tampered token."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged = raw[:SIGNATURE_BYTES] + json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(forged).decode().rstrip("=")
