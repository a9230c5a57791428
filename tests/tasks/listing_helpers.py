"""Listing helpers for the task tests: walking pages, and a plain Python model of what
GET /api/tasks returns for given tasks (its orders and its filters)."""

import re
import uuid
from datetime import datetime
from typing import Any

import httpx

from tests.support import validation_details
from tests.tasks.helpers import timestamp

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


async def all_tasks(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The caller's tasks in one page of the largest size (for tests with fewer than that)."""
    tasks: list[dict[str, Any]] = (await list_page(client, [("limit", 200)])).json()
    return tasks


async def walk_pages(
    client: httpx.AsyncClient, params: Params | None = None, path: str = "/api/tasks"
) -> list[dict[str, Any]]:
    """Every task of a listing, following X-Next-Cursor page after page.

    Checks on the way that X-Next-Cursor and Link come together, and that X-Total-Count is the
    number of tasks walked: on every page, or for a search (`q`, a filter's `search:`), which
    counts only what its pages have shown, the tasks so far with a "+" while another page follows.
    """
    params = list(params or [])
    search = any(
        name == "q" or (name == "filter" and "search:" in str(value)) for name, value in params
    )
    walked: list[dict[str, Any]] = []
    totals: set[str] = set()
    cursor: str | None = None
    for _ in range(10_000):
        page_params = [*params, ("cursor", cursor)] if cursor is not None else params
        response = await list_page(client, page_params, path)
        walked.extend(response.json())
        cursor = response.headers.get("x-next-cursor")
        assert (cursor is None) == (next_link(response) is None), response.headers
        if search:
            more = "+" if cursor is not None else ""
            assert response.headers["x-total-count"] == f"{len(walked)}{more}", response.headers
        else:
            totals.add(response.headers["x-total-count"])
        if cursor is None:
            break
        assert response.json(), "a page that promises more is not empty"
    assert search or totals == {str(len(walked))}, (totals, len(walked))
    return walked


def assert_validation_error_on(response: httpx.Response, parameter: str) -> list[dict[str, str]]:
    """A 400 VALIDATION_ERROR whose details all name this parameter (or an item of it:
    `priority.0` for the first `priority` of a repeated parameter)."""
    details = validation_details(response)
    for detail in details:
        assert detail["field"].split(".")[0] == parameter, detail
    return details


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
