"""Every task query, each holding the access rule (`todo_api.kit.access`) in the statement
itself: a list's members see its tasks, its owner and editors change them.

Statements are built once per shape and compiled once per dialect (`todo_api.db.Query`); a
call binds its values. Writes that name versions (If-Match) carry them in the statement's
WHERE clause, so a stale write fails atomically. Completing a recurring task moves it to its
next occurrence and records the one completed (todo_api.tasks.completions) in the same
transaction, under a row lock, so that each completion moves it once however they race.
Every function returns rows of one shape, `TaskRow`.

Each change records its event for webhooks in its own transaction (`todo_api.kit.events`).
The common writes (create in the inbox, PATCH, complete, reopen, delete) first try the single
statement they were before webhooks, limited to tasks nobody watches; when it matches nothing,
the watchers are read and the change, watched or failing, takes the way that says why. A write
that sets a task's reminders or moves when it is due brings their schedule in line in its own
transaction too (`todo_api.kit.reminders`); a task without reminders pays nothing.
"""

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, update

from todo_api.db import Connection, Query
from todo_api.kit import access, activity, events, ordering, quota, reminders
from todo_api.kit.errors import InvalidField, TaskNotFound
from todo_api.kit.events import EventType, Watcher
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.versions import Versions, matching_versions, version_count, versions_params
from todo_api.tables.tasks import TaskRow, tasks
from todo_api.tasks import announcements, completions, rules, schedule, trash
from todo_api.tasks.placement import (
    PLACEMENT_FIELDS,
    insert_last,
    insert_last_unwatched,
    insert_placed,
    locked_for_move,
    not_parents_list,
    not_parents_section,
    owner_of,
    relocation,
    subtasks_follow,
    valid_parent,
    valid_section,
)
from todo_api.tasks.placement import inbox_last as inbox_last  # where create_many's rows go
from todo_api.tasks.rows import OPEN_RECURRING_SUBTASKS, ROWS, Only, found
from todo_api.tasks.schemas import TaskCreate, TaskMove, TaskUpdate, stored_values

# A recurring task needs a due time or date, or a start, and starts no later than it is due: a
# write touching the rule, or when the task is due or starts, is checked afterwards.
RULE_FIELDS = frozenset({"recurrence"}) | schedule.DUE_FIELDS | schedule.START_FIELDS


async def get_task(conn: Connection, user_id: uuid.UUID, *, task_id: uuid.UUID) -> TaskRow:
    """The task; raises TaskNotFound."""
    return await ROWS.get(conn, user_id, task_id)


async def create_task(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    data: TaskCreate,
    task_id: uuid.UUID | None = None,
    made: tuple[uuid.UUID | None, datetime] | None = None,
    completed_at: datetime | None = None,
) -> TaskRow:
    """A new task of the caller's, last among its siblings; in a list, its owner's task.
    Raises InvalidField naming `list_id`, `parent_id` or `assignee_id` when it names nothing
    the caller sees (or someone who could not see the task), or a subtask would not be in its
    parent's list or would have subtasks itself; TaskForbidden in a list the caller views.

    `task_id` brings back a task the caller just deleted under its own id, and `made` who made
    it and when (a calendar app's move between lists is a delete, then a create:
    todo_api.dav); `completed_at`, when a completed task was completed (a calendar app's
    COMPLETED; the server's clock when None)."""
    now = utcnow()
    values = stored_values(data)
    zone = data.timezone
    if zone is None and schedule.reads_zone(values):
        zone = await schedule.user_zone(conn, user_id)
    # Else a zone left None is the creator's, which the INSERT reads (placement.insert_last).
    values.update(schedule.due_values(_UNSCHEDULED | {"timezone": zone}, values))
    schedule.check_order(values)
    rules.check_rule(values, written=True)
    values["reminders"] = reminders.with_ids(values["reminders"])
    reminders.check(values)
    row = new_row(
        values, task_id=task_id, user_id=user_id, actor=user_id, now=now, completed_at=completed_at
    )
    if made is not None:
        row["created_by"], row["created_at"] = made
    if data.list_id is None and data.parent_id is None:
        await valid_section(conn, data.section_id, None)  # the inbox has none
        await _check_assignee(conn, row)
        if not row["reminders"]:  # one statement while nobody watches
            inserted = await insert_last_unwatched(conn, row)
            if inserted is not None:
                return inserted
        watchers = await events.watchers_of_user(conn, user_id)
        async with conn.transaction():
            task = await insert_last(conn, user_id, row)
            await _scheduled(conn, task)
            await announcements.announce(conn, EventType.task_created, user_id, task, watchers)
            return task
    async with conn.transaction():
        # In the reordering turn, as list deletions and moves are: the list and the parent
        # stay as they were checked until the task is in.
        await ordering.serialise(conn, user_id, lists=[data.list_id], tasks=[data.parent_id])
        if data.parent_id is not None:
            parent = await valid_parent(conn, user_id, data.parent_id)
            if "list_id" in data.model_fields_set and data.list_id != parent["list_id"]:
                raise not_parents_list()
            if "section_id" in data.model_fields_set and data.section_id != parent["section_id"]:
                raise not_parents_section()
            row["list_id"], row["user_id"] = parent["list_id"], parent["user_id"]
            row["section_id"] = parent["section_id"]
        else:
            row["user_id"] = await owner_of(conn, user_id, data.list_id)
            await valid_section(conn, data.section_id, data.list_id)
        await _check_assignee(conn, row)
        task = await insert_last(conn, user_id, row)
        await _scheduled(conn, task)
        watchers = await events.watchers_of_placement(conn, task["user_id"], task["list_id"])
        await announcements.announce(conn, EventType.task_created, user_id, task, watchers)
        return task


_UNSCHEDULED: dict[str, Any] = {
    "due_at": None,
    "due_date": None,
    "start_at": None,
    "start_date": None,
}


def new_row(
    values: Mapping[str, Any],
    *,
    user_id: uuid.UUID,
    actor: uuid.UUID,
    now: datetime,
    task_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
    completed_at: datetime | None = None,
) -> dict[str, Any]:
    """A new task's row from the checked columns of a create (`stored_values`, its schedule
    and reminders settled): whose it is (`user_id`), who made it (`actor`) and when (now,
    unless `created_at`), who completed it and when (if completed: `actor`, now unless
    `completed_at`), and the start of its life (version 1, its own series, no next
    occurrence)."""
    completed = values["is_completed"]
    return {
        **values,
        "id": task_id or new_id(),
        "user_id": user_id,
        "created_by": actor,
        "completed_at": (completed_at or now) if completed else None,
        "completed_by": actor if completed else None,
        "series_start": None,  # its own due time starts its series
        "next_occurrence_id": None,
        "comment_count": 0,
        "changed_by": actor,
        "version": 1,
        "created_at": created_at or now,
        "updated_at": now,
    }


async def create_many(conn: Connection, user_id: uuid.UUID, rows: list[dict[str, Any]]) -> int:
    """New tasks of the user's own, many at once (an import): `new_row`s with their places
    (`position`), in their inbox or lists of theirs made in the same transaction (which the
    caller holds, in the user's reordering turn), subtasks naming parents among them. Each is
    a `task.created`, its reminders scheduled, as `create_task` does one by one; returns how
    many."""
    created = await insert_placed(conn, rows)
    for task in created:
        await _scheduled(conn, task)
    watchers = await events.watchers_of_user(conn, user_id)
    await announcements.announce_each(conn, EventType.task_created, user_id, created, watchers)
    return len(created)


async def _scheduled(conn: Connection, task: TaskRow) -> None:
    """The schedule of a new task's reminders (nothing to do without any)."""
    if task["reminders"]:
        await reminders.schedule(conn, task)


async def _check_assignee(conn: Connection, task: Mapping[str, Any]) -> None:
    """The task's assignee can see it where it is: InvalidField naming `assignee_id` if not."""
    assignee = task["assignee_id"]
    if assignee is None or await access.sees_tasks_of(
        conn, assignee, task["list_id"], task["user_id"]
    ):
        return
    raise InvalidField("assignee_id", "names nobody who can see this task")


async def update_task(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: Versions = None,
    completed_at: datetime | None = None,
) -> TaskRow:
    """The changed task; raises TaskNotFound, StaleVersion or InvalidField. `completed_at`:
    when the task was completed, if this completes it (as create_task).

    A new `list_id` or `parent_id` moves the task (last among its new siblings, its subtasks
    along), under the same rules as `move_task`, in the same transaction as the rest."""
    values: dict[str, Any] = {**stored_values(data), "updated_at": utcnow()}
    schedule.refuse_both(values)
    if values.get("due_at") is not None:  # due at a moment: no longer all-day
        values["due_date"] = None
    if values.get("start_at") is not None:  # likewise the start
        values["start_date"] = None
    if data.is_completed is False:
        values["completed_at"] = values["completed_by"] = None
    placement = {name: values.pop(name) for name in PLACEMENT_FIELDS if name in values}
    assigning = values.get("assignee_id") is not None
    # Reminders set, a due time moved or a task reopened: their schedule follows.
    timed = "reminders" in values or data.is_completed is False
    checked = placement or assigning or timed or RULE_FIELDS & values.keys()
    if not checked and data.is_completed is not True:
        # One statement while nobody watches; matching nothing (watched, missing, stale, not
        # the caller's to change), the way below does it again and says why.
        task = await _update(conn, user_id, task_id, values, if_match, only="unwatched")
        if task is not None:
            return task
    watchers = await events.watchers_of_task(conn, task_id)
    if not checked and data.is_completed is not True and not watchers:
        return found(await _update(conn, user_id, task_id, values, if_match))
    async with conn.transaction():  # several statements, or a check that may undo it
        was_completed = None
        was_open: list[uuid.UUID] = []
        if (watchers and data.is_completed is not None) or data.is_completed is False:
            was_completed = await announcements.was_completed(conn, user_id, task_id)
            if watchers and was_completed is False and data.is_completed:
                was_open = await announcements.open_subtasks(conn, task_id)
        if "reminders" in values:
            current = await ROWS.find(conn, user_id, task_id)
            kept = current["reminders"] if current is not None else []
            values["reminders"] = reminders.with_ids(values["reminders"], kept)
        stored = None
        if RULE_FIELDS & values.keys():
            stored = await ROWS.locked(conn, user_id, task_id)
        rule = values.get("recurrence")
        rule_is_new = rule is not None and (stored is None or rule != stored["recurrence"])
        if stored is not None:  # else the write below finds nothing, and says so
            if schedule.needs_stored_due(values):
                values.update(schedule.due_values(stored, values))
            if _starts_anew(stored, values):
                values["series_start"] = None
        before = None
        if placement:
            before = await locked_for_move(conn, user_id, task_id, if_match, placement)
            values.update(
                await relocation(conn, user_id, before, placement, None, None, last=False)
            )
        occurrence: dict[str, Any] = {}
        if data.is_completed is True:
            done = await _complete(conn, user_id, task_id, if_match, values, completed_at)
            task, occurrence = found(done[0]), done[1]
        else:
            task = found(await _update(conn, user_id, task_id, values, if_match))
        moved: list[TaskRow] = []
        if before is not None:
            moved = await subtasks_follow(conn, before, task)
            await quota.task_moved(conn, before, task)  # raising undoes it
            await _record_section_change(conn, user_id, before, task)
        if rule_is_new and not occurrence:  # (a completion checked it before moving on)
            rules.check_rule(task, written=True)  # raising undoes it
        if assigning:
            await _check_assignee(conn, task)  # raising undoes it
        if "reminders" in values or (schedule.DUE_FIELDS & values.keys() and task["reminders"]):
            await reminders.schedule(conn, task)  # raising (no due date) undoes it
        if was_completed and not task["is_completed"]:
            await reminders.rearm(conn, task)
        if before is not None:
            watchers = await _moved(conn, user_id, [task, *moved], watchers)
        kind = announcements.change_kind(was_completed, task, bool(occurrence))
        await announcements.announce(conn, kind, user_id, task, watchers, occurrence)
        await announcements.announce_subtasks(conn, user_id, was_open, moved, watchers)
        return task


async def _moved(
    conn: Connection, user_id: uuid.UUID, moved: list[TaskRow], before: list[Watcher]
) -> list[Watcher]:
    """After a move (of a task and the subtasks that followed it): those who saw them and no
    longer do get `task.deleted` for each (as their change feed does: nothing of where they
    went); returns who sees them now, for their events."""
    after = await events.watchers_of_task(conn, moved[0]["id"])
    now_seeing = {watcher.webhook_id for watcher in after}
    lost = [watcher for watcher in before if watcher.webhook_id not in now_seeing]
    for task in moved:
        await events.record(
            conn, EventType.task_deleted, actor_id=user_id, data={"id": task["id"]}, watchers=lost
        )
    return after


def _starts_anew(stored: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    """Whether a write gives a task another zone or rule, or moves what its series follows
    (its due time or date, else its start): its series starts again from there (a write that
    repeats them, or moves the start of a task with a due time, keeps the series' start)."""
    if any(name in values and values[name] != stored[name] for name in ("recurrence", "timezone")):
        return True
    return rules.due_of({**stored, **values}) != rules.due_of(stored)


async def move_task(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    task_id: uuid.UUID,
    move: TaskMove,
    if_match: Versions = None,
) -> TaskRow:
    """Place the task right before or after another task (neither: last), in the list and
    under the parent the move names (`list_id`, `parent_id`; one left out stays as it is,
    or follows the task named by before/after). Its subtasks follow it to another list.

    Raises InvalidField naming the field at fault (see `_relocation`), TaskNotFound or
    StaleVersion."""
    placement, before, after = move.placement(), move.before, move.after
    async with conn.transaction():
        task = await locked_for_move(conn, user_id, task_id, if_match, placement, before, after)
        watchers = await events.watchers_of_task(conn, task_id)
        values = await relocation(conn, user_id, task, placement, before, after, last=True)
        moved = found(await _update(conn, user_id, task_id, values, None))
        await _record_reorder(conn, user_id, task, moved)
        await _record_section_change(conn, user_id, task, moved)
        subtasks = await subtasks_follow(conn, task, moved)
        await quota.task_moved(conn, task, moved)  # raising undoes it
        watchers = await _moved(conn, user_id, [moved, *subtasks], watchers)
        await announcements.announce(conn, EventType.task_updated, user_id, moved, watchers)
        await announcements.announce_subtasks(conn, user_id, [], subtasks, watchers)
        return moved


async def _record_reorder(
    conn: Connection, user_id: uuid.UUID, task: TaskRow, moved: TaskRow
) -> None:
    """A task placed elsewhere among the same siblings is a `task.updated` of its position in
    the activity (the database's triggers leave positions out: the neighbours a move
    renumbers are no change of theirs); one that went to another list or parent is the
    triggers' `task.moved` or `task.updated` already."""
    if any(moved[name] != task[name] for name in ("list_id", "parent_id")):
        return
    await _record_own_change(conn, user_id, task, moved, "position")


async def _record_section_change(
    conn: Connection, user_id: uuid.UUID, task: TaskRow, moved: TaskRow
) -> None:
    """A task put in another section of its list is a `task.updated` of its `section_id` in
    the activity (the database's triggers leave sections out); one that went to another list
    is the triggers' `task.moved` already, its section following from where it went."""
    if moved["list_id"] == task["list_id"]:
        await _record_own_change(conn, user_id, task, moved, "section_id")


async def _record_own_change(
    conn: Connection, user_id: uuid.UUID, task: TaskRow, moved: TaskRow, name: str
) -> None:
    """A `task.updated` item of the one field `name`, when it changed."""
    if moved[name] == task[name]:  # type: ignore[literal-required]
        return
    await activity.record(
        conn,
        "task.updated",
        actor_id=user_id,
        list_id=moved["list_id"],
        owner_id=moved["user_id"],
        task_id=moved["id"],
        changes={name: [task[name], moved[name]]},  # type: ignore[literal-required]
    )


async def set_completed(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    task_id: uuid.UUID,
    completed: bool,
    if_match: Versions = None,
) -> TaskRow:
    """Complete or reopen; idempotent: a task already in that state is left untouched (and
    no event says otherwise). Raises TaskNotFound or StaleVersion."""
    # One statement while nobody watches and the change is a plain one; anything else (a
    # watched task, one already in that state, a recurring one, an error) the way below.
    only: Only
    if completed:
        values, only = _completion(user_id, utcnow(), None), "open_and_plain_unwatched"
    else:
        values, only = completions.REOPENING | {"updated_at": utcnow()}, "completed_unwatched"
    changed = await _update(conn, user_id, task_id, values, if_match, only=only)
    if changed is not None:
        return changed
    watchers = await events.watchers_of_task(conn, task_id)
    if not watchers:
        return (await _set_completed(conn, user_id, task_id, completed, if_match))[0]
    async with conn.transaction():
        was_completed = await announcements.was_completed(conn, user_id, task_id)
        was_open = []
        if was_completed is False and completed:
            was_open = await announcements.open_subtasks(conn, task_id)
        task, occurrence = await _set_completed(conn, user_id, task_id, completed, if_match)
        if was_completed is not None and was_completed != completed:
            kind = announcements.change_kind(was_completed, task, bool(occurrence))
            await announcements.announce(conn, kind, user_id, task, watchers, occurrence)
            await announcements.announce_subtasks(conn, user_id, was_open, [], watchers)
        return task


async def _set_completed(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID, completed: bool, if_match: Versions
) -> tuple[TaskRow, dict[str, Any]]:
    if completed:
        task, occurrence = await _complete(conn, user_id, task_id, if_match)
        return found(task), occurrence
    async with conn.transaction():
        reopened = await _update(
            conn,
            user_id,
            task_id,
            completions.REOPENING | {"updated_at": utcnow()},
            if_match,
            only="completed",
        )
        if reopened is not None:
            await reminders.rearm(conn, reopened)
    if reopened is not None:
        return reopened, {}
    return found(await ROWS.current(conn, user_id, task_id, if_match)), {}


def _completion(user_id: uuid.UUID, now: datetime, at: datetime | None) -> dict[str, Any]:
    """What completing writes (a task that does not recur)."""
    done = {"completed_at": at or now, "completed_by": user_id}
    return {"is_completed": True, "updated_at": now, **done}


async def toggle_completed(
    conn: Connection, user_id: uuid.UUID, *, task_id: uuid.UUID, if_match: Versions = None
) -> TaskRow:
    async with conn.transaction():
        task = found(await ROWS.locked(conn, user_id, task_id))
        return await set_completed(
            conn,
            user_id=user_id,
            task_id=task_id,
            completed=not task["is_completed"],
            if_match=if_match,
        )


# A completion's task, and what its event adds (a repeating task's `occurrence`; else nothing).
Completed = tuple[TaskRow | None, dict[str, Any]]


async def _complete(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: Versions,
    extra: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Completed:
    """Mark completed (with any other changes), at `at` (None: now). A repeating task stays
    the one task and moves to its next occurrence, its completed occurrence recorded
    (todo_api.tasks.completions); at its last occurrence it is completed for good.

    A task that does not recur is completed by one conditional UPDATE; a recurring one needs
    its row locked first, so that each completion moves it once."""
    now = utcnow()
    values = {**(extra or {}), "is_completed": True, "updated_at": now}
    if not RULE_FIELDS & values.keys():
        completed = await _update(
            conn,
            user_id,
            task_id,
            {**(extra or {}), **_completion(user_id, now, at)},
            if_match,
            only="open_and_plain",
        )
        if completed is not None:
            return completed, {}
    async with conn.transaction():
        before = await ROWS.locked(conn, user_id, task_id)
        if before is None:
            return None, {}
        if before["is_completed"]:
            stored = before["completed_at"]
            if at is not None and (stored is None or at != stored.replace(microsecond=0)):
                values["completed_at"] = at  # a new time (a time written back is to the second)
            elif not extra:  # completing a completed task changes nothing
                return await ROWS.current(conn, user_id, task_id, if_match), {}
            return await _update(conn, user_id, task_id, values, if_match), {}
        # The task as this write leaves it is the occurrence completed, and decides the next.
        done = {**before, **values}
        repeating = completions.repeats(done)
        following = completions.next_values(done, now) if repeating else None
        if following is not None:  # the same task, open at its next occurrence
            # What the write gave is checked as it completes; where the series goes from
            # there is the rule's own (a next date beyond ten years ends it there).
            schedule.check_order(done)
            rules.check_rule(done, written=done["recurrence"] != before["recurrence"])
            values.update(following, **completions.REOPENING)
        else:
            if repeating and done["recurrence"] != before["recurrence"]:
                rules.check_rule(done, written=True)  # a rule written now leaves one after it
            values["completed_at"], values["completed_by"] = at or now, user_id
        task = await _update(conn, user_id, task_id, values, if_match, moving=following)
        if task is None:
            return None, {}
        occurrence: dict[str, Any] = {}
        if repeating:
            occurrence = await completions.record(conn, user_id, done, task, at or now)
        if following is not None:
            if task["reminders"] or before["reminders"]:
                await reminders.schedule(conn, task)
            await completions.reopen_subtasks(conn, user_id, task)
        elif task["parent_id"] is None:
            params = {"task_id": task_id, "user_id": task["user_id"]}
            for subtask in await conn.execute(OPEN_RECURRING_SUBTASKS, params):
                await _complete(conn, user_id, subtask["id"], None)
        return task, occurrence


async def delete_task(
    conn: Connection, user_id: uuid.UUID, *, task_id: uuid.UUID, if_match: Versions = None
) -> None:
    """Delete the task (and its subtasks); raises TaskNotFound or StaleVersion. The task and
    its subtasks are marked as the caller's change first, in the same transaction, so that
    their activity names who deleted them (the database writes it), and kept for `restore`
    (todo_api.tasks.trash)."""
    async with conn.transaction():
        marked = await conn.execute(
            _MARK_DELETER, {"id": task_id, "user_id": user_id, "actor_id": user_id}
        )
        if marked.rowcount:  # (one the caller may change)
            await trash.keep(conn, task_id, user_id)
        await _delete_task(conn, user_id, task_id, if_match)


# Who deletes a task and its subtasks, for their activity (no version moves: the delete that
# follows in the same transaction still holds to If-Match).
_MARK_DELETER = Query(
    update(tasks)
    .where(
        or_(tasks.c.id == bindparam("id"), tasks.c.parent_id == bindparam("id")),
        access.can_change_task(),
    )
    .values(changed_by=bindparam("actor_id", type_=tasks.c.changed_by.type))
)


async def _delete_task(
    conn: Connection, user_id: uuid.UUID, task_id: uuid.UUID, if_match: Versions
) -> None:
    params = {"id": task_id, "user_id": user_id, **versions_params(if_match)}
    if (await conn.execute(_unwatched_delete(version_count(if_match)), params)).rowcount:
        return  # nobody watches: one statement, as before webhooks
    watchers = await events.watchers_of_task(conn, task_id)
    if not watchers:
        if not await ROWS.delete(conn, user_id, task_id, if_match):
            raise TaskNotFound
        return
    async with conn.transaction():
        subtasks = (await conn.execute(announcements.SUBTASK_IDS, {"task_id": task_id})).rows
        if not await ROWS.delete(conn, user_id, task_id, if_match):
            raise TaskNotFound  # undoes the transaction
        for gone in [task_id, *(row["id"] for row in subtasks)]:
            await events.record(
                conn, EventType.task_deleted, actor_id=user_id, data={"id": gone}, watchers=watchers
            )


@functools.lru_cache(maxsize=16)
def _unwatched_delete(versions: int | None) -> Query:
    """The DELETE of a task nobody's webhook hears of (matching nothing otherwise)."""
    return Query(
        delete(tasks).where(
            *ROWS.by_id(changing=True),
            *matching_versions(tasks.c.version, versions),
            events.unwatched_task(tasks),
        )
    )


async def _update(
    conn: Connection,
    user_id: uuid.UUID,
    task_id: uuid.UUID,
    values: dict[str, Any],
    if_match: Versions,
    *,
    only: Only = None,
    moving: Mapping[str, Any] | None = None,
) -> TaskRow | None:
    """The rows' conditional UPDATE; a write touching the rule or the due date checks the rule
    on the row it leaves (raising undoes the write), but for the `moving` of a repeating task
    to its next occurrence (checked before)."""
    row = await ROWS.update(conn, user_id, task_id, values, if_match, only=only)
    if row is None and "list_id" in values:  # a list lost since it was checked: say so
        await owner_of(conn, user_id, values["list_id"])
    if row is not None and RULE_FIELDS & values.keys() and moving is None:
        schedule.check_order(row)
        rules.check_rule(row)
    return row
