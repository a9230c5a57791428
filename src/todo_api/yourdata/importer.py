"""An import: a file's intermediate rows (todo_api.yourdata.records) checked against the API's
own rules, then written all at once.

Two steps. `prepare` reads the file and checks every value as `POST /api/tasks` would (the
same input model, the same rules for due dates, zones, recurrences and reminders), outside any
transaction: a file with any wrong value is refused whole, each error naming its line or index
and field. `store` writes what was prepared in one transaction: the new lists (as `POST
/api/lists` makes them, each a `list.created`), then every task in one batched INSERT per
level (parents before their subtasks), each a `task.created` for the user's webhooks. The
database's triggers stamp them for the change feed (and so for live streams), count them, and
index their tags, as for any other write.
"""

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, cast

from dateutil.rrule import rrulestr
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, func, select

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit import events, ordering, reminders, zones
from todo_api.kit.errors import InvalidField
from todo_api.kit.events import EventType
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists import service as lists_service
from todo_api.lists.schemas import ListCreate
from todo_api.tables import keys
from todo_api.tables.dav import dav_objects
from todo_api.tables.lists import lists
from todo_api.tables.tasks import TaskRow, task_counts, tasks
from todo_api.tasks import rules, schedule
from todo_api.tasks.placement import WRITTEN_COLUMNS
from todo_api.tasks.schemas import DateTimeText, TaskCreate, stored_values, task_body
from todo_api.yourdata.records import FileErrors, ImportedList, ImportedTask, Parsed, Skipped
from todo_api.yourdata.sources import SOURCES

_INSERT = Query(insert_bound(tasks, *WRITTEN_COLUMNS, "position"))
# The last position among the user's top-level inbox tasks: imported ones go after it.
_INBOX_LAST = Query(
    select(func.coalesce(func.max(tasks.c.position), 0)).where(
        tasks.c.user_id == bindparam("user_id"),
        tasks.c.list_id.is_(None),
        tasks.c.parent_id.is_(None),
    )
)
_TAKE_COUNTS = Query(
    delete(task_counts)
    .where(task_counts.c.scope_id == bindparam("scope_id"))
    .returning(*task_counts.c)
)
_PUT_COUNTS = Query(insert_bound(task_counts, *(column.name for column in task_counts.c)))
# What a calendar file gave beyond the mapping, as CalDAV keeps it (todo_api.dav.store).
_KEEP_OBJECT = Query(insert_bound(dav_objects, "task_id", "name", "uid", "extra"))
_NAME_KEYS = Query(select(lists.c.name_key).where(lists.c.user_id == bindparam("user_id")))


class ImportedFields(TaskCreate):
    """A task as a file gives it: what a create takes, and when it was completed."""

    completed_at: DateTimeText | None = None


@dataclass
class Prepared:
    """A file checked and ready to write."""

    lists: list[tuple[ImportedList, ListCreate]] = field(default_factory=list)
    # Each task's row (list and parent still named by the file's keys) and where it was.
    tasks: list[tuple[ImportedTask, dict[str, Any]]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def sources() -> list[str]:
    return list(SOURCES)


def prepare(source: str, body: bytes, options: dict[str, str], *, zone: str) -> Prepared:
    """The file read and every value checked (in the user's `zone` where the file names
    none); raises ValidationFailed listing what is wrong, where."""
    parsed = SOURCES[source](body, options)
    errors = FileErrors()
    prepared = Prepared(skipped=parsed.skipped)
    for item in parsed.lists:
        try:
            checked = ListCreate.model_validate({"name": item.name, "color": item.color})
        except ValidationError as exc:
            for error in exc.errors():
                name = _location(error["loc"])
                field_name = item.name_field if name == "name" else name
                errors.add(item.where, field_name, _message(error))
            continue
        prepared.lists.append((item, checked))
    user_zone = zones.zone(zone)
    now = utcnow()
    keys_seen: set[str] = set()
    for task in parsed.tasks:
        if task.key is not None:
            if task.key in keys_seen:
                name = task.columns.get("id", "id")
                errors.add(task.at("id"), name, f"another task of the file has this {name}")
            keys_seen.add(task.key)
        values = _task_values(task, zone, now, user_zone, errors)
        if values is not None:
            prepared.tasks.append((task, values))
    errors.raise_any()
    _place_subtasks(parsed, prepared)
    return prepared


def _task_values(
    task: ImportedTask, zone: str, now: datetime, user_zone: Any, errors: FileErrors
) -> dict[str, Any] | None:
    """The task's stored columns as a create would write them; None (and errors) if wrong."""
    fields = dict(task.fields)
    zone_name = fields.get("timezone") if isinstance(fields.get("timezone"), str) else zone
    try:
        local_zone = zones.zone(zone_name or zone)
    except (KeyError, ValueError):
        local_zone = user_zone  # the zone's own check below names it
    if task.local_due is not None:
        fields["due_at"] = task.local_due.replace(tzinfo=local_zone).isoformat()
    if task.due_on_first_occurrence and isinstance(fields.get("recurrence"), str):
        first = _first_occurrence(fields["recurrence"], now.astimezone(local_zone).date())
        if first is not None:
            fields["due_date"] = first.isoformat()
    try:
        data = ImportedFields.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors():
            name = _location(error["loc"])
            top = name.split(".")[0]
            errors.add(task.at(top), task.columns.get(top, name), _message(error))
        return None
    values = stored_values(data)
    completed_at = values.pop("completed_at")
    for name in ("list_id", "parent_id", "assignee_id"):
        values.pop(name)
    values["timezone"] = values["timezone"] or zone
    try:
        values.update(schedule.due_values(_UNSCHEDULED | {"timezone": values["timezone"]}, values))
        if not values["is_completed"] and values["recurrence"] is not None:
            # A completed task recurs no more. Files repeat rules and dates: each pair once.
            due = (values["due_at"], values["due_date"], values["timezone"])
            _check_rule(values["recurrence"], *due)
        values["reminders"] = reminders.with_ids(values["reminders"])
        reminders.check(values)
    except InvalidField as exc:
        for detail in exc.details or []:
            field_name = task.columns.get(detail.field, detail.field)
            errors.add(task.at(detail.field), field_name, detail.message)
        return None
    completed = values["is_completed"]
    if completed_at is None or completed_at > now:  # a time to come is no completion time
        completed_at = now
    values["completed_at"] = completed_at if completed else None
    return values


_UNSCHEDULED: dict[str, Any] = {"due_at": None, "due_date": None}


@functools.lru_cache(maxsize=1024)
def _first_occurrence(rule: str, today: date) -> date | None:
    """The first day a rule gives from today on (a Todoist "every monday": due then)."""
    start = datetime.combine(today, time())
    first = rrulestr(rule, dtstart=start).after(start, inc=True)
    return None if first is None else first.date()


@functools.lru_cache(maxsize=1024)
def _check_rule(rule: str, due_at: datetime | None, due_date: date | None, zone: str) -> None:
    """rules.check_rule, once per rule and due time (raising InvalidField is not kept)."""
    task = {"recurrence": rule, "due_at": due_at, "due_date": due_date, "timezone": zone}
    rules.check_rule(task)


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "Unknown field"
    return str(error["msg"]).removeprefix("Value error, ")


def _place_subtasks(parsed: Parsed, prepared: Prepared) -> None:
    """Each subtask under a top-level task of the file (a deeper one under its top-level
    ancestor), in its parent's list; one whose parent is not in the file goes top-level."""
    by_key = {task.key: task for task, _values in prepared.tasks if task.key is not None}
    for task, _values in prepared.tasks:
        if task.parent_key is None:
            continue
        parent = by_key.get(task.parent_key)
        seen = {task.key}
        while parent is not None and parent.parent_key is not None and parent.key not in seen:
            seen.add(parent.key)
            parent = by_key.get(parent.parent_key)
        if parent is None or parent.parent_key is not None or parent is task:
            prepared.skipped.append(Skipped(task.where, "its parent is not in the file: top-level"))
            task.parent_key = None
        else:
            task.parent_key = parent.key
            task.list_key = parent.list_key


async def store(conn: Connection, user_id: uuid.UUID, prepared: Prepared) -> dict[str, Any]:
    """Write what `prepare` checked, all or nothing; the import's answer."""
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        list_ids = await _make_lists(conn, user_id, prepared.lists)
        inbox_last = (await conn.execute(_INBOX_LAST, {"user_id": user_id})).scalar()
        rows, objects = _rows(user_id, prepared, list_ids, int(inbox_last or 0))
        async with _counted_once(conn, user_id, rows):
            top_level = [row for row in rows if row["parent_id"] is None]
            await conn.execute_many(_INSERT, top_level)
            subtasks = [row for row in rows if row["parent_id"] is not None]
            await conn.execute_many(_INSERT, subtasks)
        if objects:
            await conn.execute_many(_KEEP_OBJECT, objects)
        for row in rows:
            if row["reminders"]:
                await reminders.schedule(conn, row)
        watchers = await events.watchers_of_user(conn, user_id)
        stored = cast(list[TaskRow], rows)
        await events.record_each(
            conn,
            EventType.task_created,
            actor_id=user_id,
            data=[_body(row) for row in stored],
            watchers=watchers,
        )
    return {
        "lists": len(list_ids),
        "tasks": len(rows),
        "skipped": [item.body() for item in prepared.skipped],
    }


@contextlib.asynccontextmanager
async def _counted_once(
    conn: Connection, user_id: uuid.UUID, rows: list[dict[str, Any]]
) -> AsyncIterator[None]:
    """The block's new tasks counted once, not once each: the open and done counts of the
    scopes they go to (`task_counts`: each list's, the inbox's) are taken out while they go in,
    so that the per-row trigger finds nothing to add to (a scope with no row is not counted),
    then put back with the import's totals added. A trigger adding to one row ten thousand
    times in one transaction makes a chain of ten thousand versions of that row, each update
    walking it: the import's time would grow with the square of its size.

    On PostgreSQL the trigger runs at commit (deferred): here it runs with each statement,
    while the rows are out. A write of someone else's to the same scope meanwhile finds the
    rows held, and adds its change to a new row of its own, as it does when they are busy."""
    totals: dict[uuid.UUID, list[int]] = {}
    for row in rows:
        counts = totals.setdefault(row["list_id"] or user_id, [0, 0])
        counts[1 if row["is_completed"] else 0] += 1
    if conn.name == "postgresql":
        await conn.run_sql("SET CONSTRAINTS tasks_count IMMEDIATE")
    taken = []
    for scope in totals:
        taken += (await conn.execute(_TAKE_COUNTS, {"scope_id": scope})).rows
    yield
    taken.sort(key=lambda row: (row["scope_id"], row["slot"]))
    for row in taken:
        opened, done = totals.pop(row["scope_id"], (0, 0))  # on the scope's first row
        await conn.execute(
            _PUT_COUNTS,
            {
                **row,
                "open_count": row["open_count"] + opened,
                "done_count": row["done_count"] + done,
            },
        )
    if conn.name == "postgresql":
        await conn.run_sql("SET CONSTRAINTS tasks_count DEFERRED")


def _body(row: TaskRow) -> Any:
    return lambda: task_body(row)


async def _make_lists(
    conn: Connection, user_id: uuid.UUID, wanted: list[tuple[ImportedList, ListCreate]]
) -> dict[str, uuid.UUID]:
    """The file's lists made as new lists of the user's, last among theirs in the file's
    order; a name the user has already gets a number: "Groceries (2)"."""
    taken = {row["name_key"] for row in await conn.execute(_NAME_KEYS, {"user_id": user_id})}
    made: dict[str, uuid.UUID] = {}
    for item, data in wanted:
        name = lists_service.free_name(data.name, taken)
        taken.add(keys.name_key(name))
        created = await lists_service.create_list(
            conn, user_id, ListCreate(name=name, color=data.color)
        )
        made[item.key] = created["id"]
    return made


def _rows(
    user_id: uuid.UUID, prepared: Prepared, list_ids: dict[str, uuid.UUID], inbox_last: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every task's row, with its id, list, parent and place: siblings in the file's order
    (its positions where it has them), after what the user's inbox holds already; and the
    `dav_objects` rows of those a calendar file gave."""
    now = utcnow()
    ids = {task.key: new_id() for task, _values in prepared.tasks if task.key is not None}
    groups: dict[tuple[Any, Any], list[tuple[int, ImportedTask, dict[str, Any]]]] = {}
    for index, (task, values) in enumerate(prepared.tasks):
        group = (task.list_key, task.parent_key)
        groups.setdefault(group, []).append((index, task, values))
    rows, objects = [], []
    for (list_key, parent_key), members in groups.items():
        members.sort(key=lambda member: (member[1].order, member[0]))
        start = inbox_last if list_key is None and parent_key is None else 0
        for place, (_index, task, values) in enumerate(members, start=1):
            completed = values["is_completed"]
            rows.append(
                {
                    **values,
                    "id": ids[task.key] if task.key is not None else new_id(),
                    "user_id": user_id,
                    "list_id": None if list_key is None else list_ids[list_key],
                    "parent_id": None if parent_key is None else ids[parent_key],
                    "position": start + place * ordering.STEP,
                    "created_by": user_id,
                    "completed_by": user_id if completed else None,
                    "assignee_id": user_id if task.assigned_to_importer else None,
                    "next_occurrence_id": None,
                    "series_start": None,  # its own due time starts its series
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "change_txid": 0,
                    "change_seq": 0,
                    "arrived_txid": 0,
                    "arrived_seq": 0,
                }
            )
            if task.calendar_object is not None:
                task_id = rows[-1]["id"]
                uid, extra = task.calendar_object
                objects.append(
                    {
                        "task_id": task_id,
                        "name": f"{task_id}.ics",
                        "uid": uid or str(task_id),
                        "extra": extra,
                    }
                )
    return rows, objects
