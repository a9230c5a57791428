"""The tasks as versioned rows (`todo_api.kit.rows`) that their list's members see and its
editors change, with the conditions a completing or reopening UPDATE may be limited to."""

from typing import Literal

from sqlalchemy import Text, bindparam, cast, select

from todo_api.db import Query
from todo_api.kit import access, events
from todo_api.kit.errors import TaskNotFound
from todo_api.kit.rows import VersionedRows
from todo_api.tables.tasks import TaskRow, tasks
from todo_api.tasks.errors import StaleVersion, TaskForbidden

# A task's open recurring subtasks: completing the task completes them, each making its next
# occurrence, which only the service can work out (the trigger of migration 0007 completes
# the other open subtasks in the completing statement itself).
_subtask = tasks.alias("subtask")
_OPEN_RECURRING_SUBTASKS = (
    select(_subtask.c.id)
    .where(
        _subtask.c.parent_id == tasks.c.id,
        _subtask.c.is_completed.is_(False),
        _subtask.c.recurrence.is_not(None),
    )
    .correlate(tasks)
)
OPEN_RECURRING_SUBTASKS = Query(
    select(_subtask.c.id).where(
        _subtask.c.parent_id == bindparam("task_id"),
        _subtask.c.user_id == bindparam("user_id"),
        _subtask.c.is_completed.is_(False),
        _subtask.c.recurrence.is_not(None),
    )
)

# Conditions an UPDATE may add: reopen only a completed task; complete in one statement only
# an open task that does not recur and has no open recurring subtask (the others need their
# row locked first); and any of these only while no webhook hears of the task (a write that
# someone watches records its event in a transaction: see todo_api.kit.events). Reopened in
# one statement only without reminders: reopening re-arms them in the same transaction.
Only = (
    Literal[
        "completed",
        "open_and_plain",
        "unwatched",
        "completed_unwatched",
        "open_and_plain_unwatched",
    ]
    | None
)
_COMPLETED = [tasks.c.is_completed]
_OPEN_AND_PLAIN = [
    tasks.c.is_completed.is_(False),
    tasks.c.recurrence.is_(None),
    ~_OPEN_RECURRING_SUBTASKS.exists(),
]
_UNWATCHED = [events.unwatched_task(tasks)]
_NO_REMINDERS = [cast(tasks.c.reminders, Text) == "[]"]
ROWS: VersionedRows[TaskRow] = VersionedRows(
    tasks,
    not_found=TaskNotFound,
    stale=StaleVersion,
    forbidden=TaskForbidden,
    can_see=access.can_see_task,
    can_change=access.can_change_task,
    # A task moves only into a list the caller may put tasks in.
    writes={"list_id": access.may_put_tasks_in},
    actor="changed_by",
    conditions={
        "completed": _COMPLETED,
        "open_and_plain": _OPEN_AND_PLAIN,
        "unwatched": _UNWATCHED,
        "completed_unwatched": _COMPLETED + _UNWATCHED + _NO_REMINDERS,
        "open_and_plain_unwatched": _OPEN_AND_PLAIN + _UNWATCHED,
    },
)


def found(task: TaskRow | None) -> TaskRow:
    if task is None:
        raise TaskNotFound
    return task
