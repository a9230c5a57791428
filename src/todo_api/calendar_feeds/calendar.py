"""What a feed's URL answers: its maker's open tasks, as the API lists them for them now (their
own and those of the lists shared with them: a list unshared from them leaves the feed at the
next fetch), as one iCalendar text (todo_api.ical.events).

The tasks are read with the API's own listing (todo_api.tasks.pages), so the feed shows exactly
what its maker may read, in a few pages of FEED_PAGE; a repeating task's completed occurrences
come in one more statement for all of them.
"""

import dataclasses
import functools
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, bindparam, select

from todo_api.db import Connection, Query, Row
from todo_api.filters import service as filters
from todo_api.filters.errors import FilterNotFound
from todo_api.kit.errors import ListNotFound
from todo_api.lists import service as lists
from todo_api.tables.completions import task_completions
from todo_api.tasks import filter_query, pages
from todo_api.tasks.listing import CursorCodec, ListQuery, TaskFilters

# Tasks read a statement.
FEED_PAGE = 500
# The tasks a feed shows at most (the oldest first): a calendar app polls it every few minutes.
FEED_MAX_TASKS = 5000
# A repeating task's completed occurrences a feed names at most (the latest).
MAX_EXCLUDED = 100
DEFAULT_NAME = "Tasks"

# Repeating tasks' completions read a statement (on SQLite, an IN list of this many at most).
COMPLETED_CHUNK = 512

_C = task_completions.c


@functools.cache
def _completed_query(dialect: str, count: int) -> Query:
    """The completions of some tasks, newest first: on PostgreSQL one array parameter
    (`= ANY`), on SQLite an IN list padded to a power of two (a statement per few lengths), as
    todo_api.dav.store reads objects by id."""
    if dialect == "postgresql":
        named = _C.task_id == any_(bindparam("ids", type_=ARRAY(Uuid)))
    else:
        named = _C.task_id.in_([bindparam(f"v{n}", type_=Uuid) for n in range(count)])
    return Query(
        select(_C.task_id, _C.due_at, _C.due_date, _C.start_at, _C.start_date, _C.recurrence)
        .where(named)
        .order_by(_C.task_id, _C.created_at.desc(), _C.id.desc())
    )


async def feed_text(conn: Connection, feed: Row, *, base: str, cursors: CursorCodec) -> bytes:
    """The calendar of `feed` (a row of `calendar_feeds`), its tasks' pages under `base`."""
    from todo_api.ical import events  # icalendar, with the first feed fetched

    user_id: uuid.UUID = feed["user_id"]
    name, queries = await _what(conn, user_id, feed)
    found: dict[uuid.UUID, dict[str, Any]] = {}
    for query in queries:
        await _read(conn, user_id, query, cursors, found)
    shown = [task for task in found.values() if events.dated(task) or feed["include"] == "all"]
    repeating = [task["id"] for task in shown if task["recurrence"] and events.dated(task)]
    completed = await _completed(conn, repeating) if repeating else {}
    components = []
    for task in shown:
        url = f"{base}/app/tasks/{task['id']}"
        if events.dated(task):
            components.append(events.event(task, url=url, completed=completed.get(task["id"], ())))
        else:
            components.append((events.todo(task, url=url), None))
    return events.calendar(name, components)


async def _what(conn: Connection, user_id: uuid.UUID, feed: Row) -> tuple[str, list[ListQuery]]:
    """The calendar's name and the listings that find its tasks: the open tasks of its list,
    of each group of its filter, or all of them."""
    open_tasks = TaskFilters(completed=False)
    query = ListQuery(filters=open_tasks, sort="created_at", limit=FEED_PAGE)
    if feed["list_id"] is not None:
        try:
            name = (await lists.get_list(conn, user_id, feed["list_id"]))["name"]
        except ListNotFound:  # unshared from its maker: nothing of it any more
            return DEFAULT_NAME, []
        only = dataclasses.replace(open_tasks, list_id=feed["list_id"])
        return name, [dataclasses.replace(query, filters=only)]
    if feed["filter_id"] is not None:
        try:
            saved = await filters.get_filter(conn, user_id, feed["filter_id"])
        except FilterNotFound:  # deleted meanwhile (its feeds go with it)
            return DEFAULT_NAME, []
        groups = filter_query.parse(saved["query"])
        return saved["name"], [
            dataclasses.replace(query, filters=dataclasses.replace(open_tasks, filter=group.node))
            for group in groups
        ]
    return DEFAULT_NAME, [query]


async def _read(
    conn: Connection,
    user_id: uuid.UUID,
    query: ListQuery,
    cursors: CursorCodec,
    found: dict[uuid.UUID, dict[str, Any]],
) -> None:
    """The listing's tasks into `found` (by id: a task in two groups of a filter is one event),
    page by page, up to FEED_MAX_TASKS."""
    while len(found) < FEED_MAX_TASKS:
        page = await pages.list_tasks(conn, user_id, query=query, cursors=cursors)
        for task in page.tasks:
            if len(found) == FEED_MAX_TASKS:
                return
            found.setdefault(task["id"], task)
        if page.next_cursor is None:
            return
        query = dataclasses.replace(query, cursor=page.next_cursor)


async def _completed(conn: Connection, task_ids: list[uuid.UUID]) -> Mapping[uuid.UUID, list[Row]]:
    """Each repeating task's latest completed occurrences (MAX_EXCLUDED at most), oldest
    first."""
    by_task: dict[uuid.UUID, list[Row]] = defaultdict(list)
    for start in range(0, len(task_ids), COMPLETED_CHUNK):
        ids = task_ids[start : start + COMPLETED_CHUNK]
        params: dict[str, Any]
        if conn.name == "postgresql":
            query, params = _completed_query(conn.name, 0), {"ids": ids}
        else:
            padded = ids + [ids[-1]] * ((1 << (len(ids) - 1).bit_length()) - len(ids))
            query = _completed_query(conn.name, len(padded))
            params = {f"v{n}": value for n, value in enumerate(padded)}
        for row in (await conn.execute(query, params)).rows:
            kept = by_task[row["task_id"]]
            if len(kept) < MAX_EXCLUDED:
                kept.append(row)
    return {task_id: rows[::-1] for task_id, rows in by_task.items()}
