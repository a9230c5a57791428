"""A repeating task is one task: completing it (any way: `complete`, PATCH, bulk, the toggle,
MCP, CalDAV, the web app) keeps the task, with its id, comments, files, assignee and place,
and moves its due and start to the next occurrence; each occurrence completed is a row of
`task_completions` holding the task's schedule as it was, which `undo_latest` puts back.
Completing the last occurrence (its COUNT or UNTIL reached) completes the task for good, and
is recorded the same way.

The write itself is the service's (`todo_api.tasks.service._complete`, under the task's row
lock, so each completion moves the task once); this module says where the task goes next,
records the occurrence with its activity item, and reads and undoes the records."""

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Uuid, bindparam, delete, func, select, tuple_, update

from todo_api.db import Connection, Query, Row, UTCDateTime, insert_bound
from todo_api.kit import activity, events, reminders
from todo_api.kit.errors import Conflict, TaskNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.paging import page_by_created
from todo_api.kit.versions import Versions
from todo_api.tables.activity import activity as activity_items
from todo_api.tables.completions import task_completions
from todo_api.tables.tasks import TaskRow, tasks
from todo_api.tasks import announcements, recurrence, rules
from todo_api.tasks.rows import ROWS, found

DEFAULT_PAGE = 50
MAX_PAGE = 100

# What a completion moves, and its undoing puts back: the task's schedule.
SCHEDULE = (
    "due_at",
    "due_date",
    "start_at",
    "start_date",
    "recurrence",
    "series_start",
    "reminders",
)
_INSTANTS = ("due_at", "start_at")
REOPENING: dict[str, Any] = {"is_completed": False, "completed_at": None, "completed_by": None}

_T = task_completions.c
_INSERT = Query(
    insert_bound(
        task_completions,
        *("id", "task_id", *SCHEDULE, "completed_at", "completed_by", "created_at"),
    )
)
_NEWEST_FIRST = (_T.task_id.desc(), _T.created_at.desc(), _T.id.desc())
_PAGE = Query(
    select(task_completions)
    .where(_T.task_id == bindparam("task_id"))
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)
_PAGE_AFTER = Query(
    select(task_completions)
    .where(
        _T.task_id == bindparam("task_id"),
        tuple_(_T.created_at, _T.id)
        < tuple_(bindparam("after_at", type_=UTCDateTime), bindparam("after_id", type_=Uuid)),
    )
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit"))
)
_DELETE = Query(delete(task_completions).where(_T.id == bindparam("id")))
_COMPLETED_SUBTASK_IDS = Query(
    select(tasks.c.id).where(
        tasks.c.parent_id == bindparam("task_id"), tasks.c.is_completed.is_(True)
    )
)
_A = activity_items.c
_LAST_ITEM = Query(
    select(_A.seq, _A.action)
    .where(_A.task_id == bindparam("task_id"))
    .order_by(_A.task_id.desc(), _A.seq.desc())
    .limit(1)
)
# The item a trigger wrote, said again: the action, who, and what changed.
_RECORDED_AS = Query(
    update(activity_items)
    .where(_A.seq == bindparam("seq"))
    .values(
        action=bindparam("action"),
        actor_id=bindparam("actor_id", type_=_A.actor_id.type),
        changes=bindparam("changes", type_=_A.changes.type),
    )
)


def occurrence(row: Mapping[str, Any]) -> recurrence.Due | None:
    """Which occurrence a task is at (or a completion completed): its due date or time, else
    its start, the moment its series follows."""
    return rules.due_of(row)


def repeats(task: Mapping[str, Any]) -> bool:
    """Whether completing the task (as the write leaves it) completes an occurrence: it has a
    rule and a moment its series follows, and is no completed copy an earlier release made
    (those, marked with the id of the task made after them, complete as any task)."""
    return (
        task["recurrence"] is not None
        and task["next_occurrence_id"] is None
        and occurrence(task) is not None
    )


def next_values(task: Mapping[str, Any], now: datetime) -> dict[str, Any] | None:
    """The columns that move a repeating task (as the completing write leaves it) to its next
    occurrence: due and start, the rule (its COUNT one lower), the series' start, and the
    reminders, the `before_due` ones moving with the due and the `at` ones still to come;
    None when the series ends there."""
    following = rules.following(dict(task))
    if following is None:
        return None
    anchor, rule = following
    return {
        "recurrence": str(rule),
        "series_start": rules.series_start(task),
        "reminders": [r for r in task["reminders"] if _goes_on(r, task, now)],
        **rules.next_when(task, anchor),
    }


def _goes_on(reminder: Mapping[str, str], task: Mapping[str, Any], now: datetime) -> bool:
    """Whether a reminder goes on to the next occurrence: a `before_due` one (it moves with
    the due), or an `at` one still to come (one that fired is spent)."""
    if "before_due" in reminder:
        return True
    at = reminders.fire_time(reminder, task)
    return at is not None and at > now


async def record(
    conn: Connection,
    user_id: uuid.UUID,
    done: Mapping[str, Any],
    task: TaskRow,
    completed_at: datetime,
) -> dict[str, Any]:
    """Record the occurrence `done` (the task as the completing write left it before moving
    on) as completed by `user_id`, and make the write's activity item say so: who completed
    which occurrence. Returns what the task's event adds (`occurrence`)."""
    now = utcnow()
    await conn.execute(
        _INSERT,
        {
            "id": new_id(),
            "task_id": task["id"],
            **{name: done.get(name) for name in SCHEDULE},
            # (the first and last instants come from asyncpg without a zone)
            **{name: recurrence.aware(done[name]) for name in _INSTANTS if done.get(name)},
            "completed_at": completed_at,
            "completed_by": user_id,
            "created_at": now,
        },
    )
    done_at, next_at = occurrence(done), None if task["is_completed"] else occurrence(task)
    await _activity(conn, "task.completed", user_id, task, [done_at, next_at])
    return {"occurrence": done_at}


async def _activity(
    conn: Connection, action: str, user_id: uuid.UUID, task: TaskRow, moved: list[Any]
) -> None:
    """The activity item of the write that moved the task between occurrences: the one the
    database's triggers wrote for it (a change of its due, or its completion) becomes
    `action` by `user_id`, its changes the occurrence it moved from and to."""
    changes = {"occurrence": [_text(value) for value in moved]}
    last = (await conn.execute(_LAST_ITEM, {"task_id": task["id"]})).first()
    if last is not None and last.action in ("task.updated", "task.completed", "task.reopened"):
        params = {"seq": last.seq, "action": action, "actor_id": user_id, "changes": changes}
        await conn.execute(_RECORDED_AS, params)
        return
    await activity.record(
        conn,
        action,
        actor_id=user_id,
        list_id=task["list_id"],
        owner_id=task["user_id"],
        task_id=task["id"],
        changes=changes,
    )


def _text(value: recurrence.Due | None) -> str | None:
    """An occurrence as JSON text: a date, or an instant as the API writes it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return reminders.instant_text(value)
    return value.isoformat()


async def reopen_subtasks(conn: Connection, user_id: uuid.UUID, task: TaskRow) -> None:
    """The subtasks of a task moved to its next occurrence open again, each a
    `task.reopened` for whoever hears of the task."""
    ids = [row["id"] for row in await conn.execute(_COMPLETED_SUBTASK_IDS, {"task_id": task["id"]})]
    if not ids:
        return
    watchers = await events.watchers_of_task(conn, task["id"])
    for subtask_id in ids:
        values = {**REOPENING, "updated_at": utcnow()}
        reopened = await ROWS.update(conn, user_id, subtask_id, values, None, only="completed")
        if reopened is None:
            continue
        await reminders.rearm(conn, reopened)
        await announcements.announce(conn, EventType.task_reopened, user_id, reopened, watchers)


async def list_completions(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the task's completed occurrences, newest first, and the next page's cursor.
    Raises TaskNotFound, InvalidField naming `cursor`."""
    found(await ROWS.find(conn, user_id, task_id))
    params = {"task_id": task_id}
    rows, next_cursor = await page_by_created(
        conn, _PAGE, _PAGE_AFTER, params, limit=limit, cursor=cursor
    )
    return [completion_body(row) for row in rows], next_cursor


def completion_body(row: Row | Mapping[str, Any]) -> dict[str, Any]:
    """A completion as the API shows it."""
    return {
        "occurrence": occurrence(row),
        "completed_at": row["completed_at"],
        "completed_by": row["completed_by"],
    }


async def completions_of_tasks(
    conn: Connection, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The completions of each of the tasks as the API shows them, newest first (the caller
    has checked who sees them): an export's."""
    found: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if task_ids:
        statement = select(task_completions).where(_T.task_id.in_(task_ids))
        for row in (await conn.execute(statement.order_by(*_NEWEST_FIRST))).rows:
            found.setdefault(row.task_id, []).append(completion_body(row))
    return found


async def latest_of_tasks(
    conn: Connection, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Any]]:
    """The latest completion of each of the tasks that has one, as the API shows it (the
    caller has checked who sees them): the change feed's `last_completion`. One statement,
    each task's newest row by the completions' index."""
    if not task_ids:
        return {}
    newest = func.row_number().over(partition_by=_T.task_id, order_by=_NEWEST_FIRST[1:])
    ranked = select(task_completions, newest.label("rank")).where(_T.task_id.in_(task_ids))
    ranked_rows = ranked.subquery()
    statement = select(ranked_rows).where(ranked_rows.c.rank == 1)
    return {row.task_id: completion_body(row) for row in (await conn.execute(statement)).rows}


async def add_imported(
    conn: Connection,
    user_id: uuid.UUID,
    done: list[tuple[Mapping[str, Any], list[tuple[recurrence.Due, datetime]]]],
) -> None:
    """The completed occurrences an import gives its new tasks (each row's, oldest first, as
    `(occurrence, completed_at)`), recorded as completed by the importer: undoing one puts
    its due back (its start and reminders are not in the file)."""
    rows = []
    for task, occurrences in done:
        for index, (when, completed_at) in enumerate(occurrences):
            timed = isinstance(when, datetime)
            rows.append(
                {
                    "id": new_id(),
                    "task_id": task["id"],
                    "due_at": when if timed else None,
                    "due_date": None if timed else when,
                    "start_at": None,
                    "start_date": None,
                    "recurrence": task["recurrence"],
                    "series_start": task.get("series_start"),
                    "reminders": [],
                    "completed_at": completed_at,
                    "completed_by": user_id,
                    # In the file's order, one apart: the last the newest.
                    "created_at": completed_at + timedelta(microseconds=index),
                }
            )
    if rows:
        await conn.execute_many(_INSERT, rows)


class NothingToUndo(Conflict):
    def __init__(self) -> None:
        super().__init__("This task has no completed occurrence to undo")


async def undo_latest(
    conn: Connection, user_id: uuid.UUID, *, task_id: uuid.UUID, if_match: Versions = None
) -> TaskRow:
    """Put the task's latest completed occurrence back: its due, start, rule and reminders
    as they were, the task open again (it was completed for good by its last occurrence),
    the record gone. Raises TaskNotFound, TaskForbidden, StaleVersion, NothingToUndo."""
    async with conn.transaction():
        task = await ROWS.locked(conn, user_id, task_id)
        if task is None:
            raise TaskNotFound
        if if_match is not None and task["version"] not in if_match:
            raise ROWS.stale
        latest = (await conn.execute(_PAGE, {"task_id": task_id, "limit": 1})).first()
        if latest is None:
            raise NothingToUndo
        values = {name: latest[name] for name in SCHEDULE}
        values.update(REOPENING if task["is_completed"] else {})
        values["updated_at"] = utcnow()
        restored = found(await ROWS.update(conn, user_id, task_id, values, if_match))
        await conn.execute(_DELETE, {"id": latest["id"]})
        await reminders.schedule(conn, restored)
        if task["is_completed"]:
            await reminders.rearm(conn, restored)
        was = None if task["is_completed"] else occurrence(task)
        await _activity(conn, "task.reopened", user_id, restored, [was, occurrence(latest)])
        watchers = await events.watchers_of_task(conn, task_id)
        await announcements.announce(
            conn,
            EventType.task_reopened,
            user_id,
            restored,
            watchers,
            extra={"occurrence": occurrence(latest)},
        )
        return restored
