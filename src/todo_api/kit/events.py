"""Events for webhooks, written in the change's own transaction (the outbox).

A domain that changes something calls, in the transaction of the change:

    watchers = await events.watchers_of_task(conn, task_id)   # whose webhooks may hear of it
    ...the change...
    await events.record(conn, EventType.task_updated, actor_id=..., data=..., watchers=watchers)

`record` writes one row of `webhook_deliveries` per active webhook, among `watchers`, that
wants that type, with the event's JSON as it will be sent; the deliverer
(todo_api.webhooks.delivery) sends it once the transaction has committed, in whichever process
gets to it first, and a process killed right after the commit loses nothing.

Whose webhooks: those of every user who can see the row (todo_api.kit.access): a task's owner
and the members of its list; a list's members. A change nobody watches (the common case: no
webhook in its audience) writes nothing more and builds no JSON. The hot task writes do not
even read the watchers first: their single statement carries the condition that nobody
watches (`unwatched_task`, `unwatched_user`: index probes inside the write, no round trip of
their own), and only when it matches nothing (someone watches, or the write fails) does the
caller read the watchers and make the change a transaction of several that records events.
`data` may be a callable, called only when someone watches.

A task's `data` is the task as the API shows it, a shape the tasks domain owns. Another domain
that changes tasks along with its own rows (a member leaving a list is unassigned from its
tasks) cannot import it (domains do not import each other): the tasks domain hands its shape
over here when it is imported (`shows_tasks_as`), and `task_data` gives it to anyone.

`reminder.fired` is recorded here like any other event, with `{"task", "reminder"}` as data,
by the reminders' scheduler, which gives live streams the same event (`envelope`).
"""

import asyncio
import enum
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, exists, select, union_all

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit import access, jobs
from todo_api.kit.http import json_bytes
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.tasks import tasks
from todo_api.tables.webhooks import webhook_deliveries, webhooks

# The job that sends deliveries (todo_api.webhooks.scheduled): woken when some are written.
DELIVERY_JOB = "webhooks.deliver"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
WAKE_AFTER_SECONDS = 0.05


class EventType(enum.StrEnum):
    # The order gives each type its bit in `webhooks.event_mask`: append, never reorder.
    task_created = "task.created"
    task_updated = "task.updated"
    task_completed = "task.completed"
    task_reopened = "task.reopened"
    task_deleted = "task.deleted"
    list_created = "list.created"
    list_updated = "list.updated"
    list_deleted = "list.deleted"
    list_member_added = "list.member_added"
    list_member_removed = "list.member_removed"
    reminder_fired = "reminder.fired"
    ping = "ping"
    comment_created = "comment.created"
    comment_updated = "comment.updated"
    comment_deleted = "comment.deleted"
    section_created = "section.created"
    section_updated = "section.updated"
    section_deleted = "section.deleted"
    attachment_created = "attachment.created"
    attachment_deleted = "attachment.deleted"


BITS = {kind: 1 << index for index, kind in enumerate(EventType)}
# What a webhook may subscribe to: every type but `ping`, which reaches a webhook only when its
# owner asks (whatever its events).
SUBSCRIBABLE = tuple(kind for kind in EventType if kind is not EventType.ping)
EVERYTHING = "*"
# `["*"]`: every type, those added later included (every bit but ping's).
ALL_BITS = (1 << 30) - 1 & ~BITS[EventType.ping]


def mask_of(types: Sequence[str]) -> int:
    """The bits of a webhook's `events` (types already checked, or `["*"]`)."""
    if EVERYTHING in types:
        return ALL_BITS
    mask = 0
    for kind in types:
        mask |= BITS[EventType(kind)]
    return mask


@dataclass(frozen=True, slots=True)
class Watcher:
    """An active webhook that may hear of a change, and the bits of the types it wants."""

    webhook_id: uuid.UUID
    mask: int


_WATCHER = (webhooks.c.id, webhooks.c.event_mask)
_ACTIVE = webhooks.c.active.is_(True)
# The webhooks of whoever sees a task: its owner (the inbox's user, or the list's owner) and
# its list's members. Two indexed look-ups, no OR: each side finds its users by key.
_TASK_AUDIENCE = union_all(
    select(tasks.c.user_id).where(tasks.c.id == bindparam("task_id")),
    access.members_of(tasks.c.list_id).where(tasks.c.id == bindparam("task_id")),
)
_OF_USER = Query(select(*_WATCHER).where(webhooks.c.user_id == bindparam("user_id"), _ACTIVE))


def unwatched_user(user_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """No active webhook of that user: a condition a write of what only they see can carry."""
    return ~exists().where(webhooks.c.user_id == user_id, _ACTIVE)


def unwatched_task(row: Table) -> ColumnElement[bool]:
    """No active webhook of whoever sees that task row (its owner, its list's members): the
    condition a write carries to stay the single statement it is when nobody watches (it then
    matches nothing when someone does, and the caller takes the way that records events)."""
    members = access.members_of(row.c.list_id).correlate(row)
    audience = exists().where(webhooks.c.user_id.in_(members), _ACTIVE).correlate(row)
    return unwatched_user(row.c.user_id) & ~audience


_OF_LIST = Query(
    select(*_WATCHER).where(
        webhooks.c.user_id.in_(access.members_of(bindparam("list_id"))), _ACTIVE
    )
)
_OF_TASK = Query(select(*_WATCHER).where(webhooks.c.user_id.in_(_TASK_AUDIENCE), _ACTIVE))

_INSERT = Query(
    insert_bound(
        webhook_deliveries,
        *("id", "webhook_id", "event_id", "event_type", "payload"),
        status=PENDING,
        attempts=0,
        manual=False,
        next_attempt_at=bindparam("now"),
        created_at=bindparam("now"),
    )
)


def _watchers(rows: Sequence[Mapping[str, Any]]) -> list[Watcher]:
    return [Watcher(row["id"], row["event_mask"]) for row in rows]


_AUDIENCE = Query(_TASK_AUDIENCE)


async def audience_of_task(conn: Connection, task_id: uuid.UUID) -> list[uuid.UUID]:
    """Whoever sees the task: its owner and its list's members."""
    rows = await conn.execute(_AUDIENCE, {"task_id": task_id})
    return list(dict.fromkeys(row["user_id"] for row in rows))


def envelope(
    kind: EventType,
    *,
    actor_id: uuid.UUID | None,
    data: Mapping[str, Any],
    event_id: uuid.UUID | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """An event as every receiver gets it."""
    return {
        "id": event_id or new_id(),
        "type": str(kind),
        "created_at": created_at or utcnow(),
        "actor_id": actor_id,
        "data": data,
    }


async def watchers_of_user(conn: Connection, user_id: uuid.UUID) -> list[Watcher]:
    """The user's own active webhooks (what only they see: their inbox, a list just made)."""
    return _watchers((await conn.execute(_OF_USER, {"user_id": user_id})).rows)


async def watchers_of_list(conn: Connection, list_id: uuid.UUID | None) -> list[Watcher]:
    """The active webhooks of the list's members, its owner included."""
    if list_id is None:
        return []
    return _watchers((await conn.execute(_OF_LIST, {"list_id": list_id})).rows)


async def watchers_of_task(conn: Connection, task_id: uuid.UUID) -> list[Watcher]:
    """The active webhooks of whoever sees the task as it is now (none when there is no such
    task: the write that follows will say so)."""
    return _watchers((await conn.execute(_OF_TASK, {"task_id": task_id})).rows)


async def watchers_of_placement(
    conn: Connection, owner_id: uuid.UUID, list_id: uuid.UUID | None
) -> list[Watcher]:
    """The active webhooks of whoever sees a task of `owner_id` in `list_id` (None: the
    inbox)."""
    if list_id is None:
        return await watchers_of_user(conn, owner_id)
    return await watchers_of_list(conn, list_id)


Data = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
TaskBody = Callable[[Mapping[str, Any]], Mapping[str, Any]]
_task_body: list[TaskBody] = []


def shows_tasks_as(body: TaskBody) -> None:
    """How a task row reads in an event (the tasks domain's API shape)."""
    _task_body[:] = [body]


def task_data(row: Mapping[str, Any]) -> Callable[[], Mapping[str, Any]]:
    """A task row's `data`, built only if someone watches."""
    (body,) = _task_body  # the tasks domain is imported by every app that serves a route
    return lambda: body(row)


async def record(
    conn: Connection,
    kind: EventType,
    *,
    actor_id: uuid.UUID | None,
    data: Data,
    watchers: Sequence[Watcher],
    event: Mapping[str, Any] | None = None,
) -> list[uuid.UUID]:
    """Write the event for each watcher that wants `kind` (in the caller's transaction);
    returns the deliveries' ids. Nothing is written, nor `data` called, when none wants it.
    `event`: the event already made (`envelope`), when others get it too."""
    bit = BITS[kind]
    targets = [watcher.webhook_id for watcher in watchers if watcher.mask & bit]
    if not targets:
        return []
    if event is None:
        event = envelope(kind, actor_id=actor_id, data=data() if callable(data) else data)
    now, event_id = event["created_at"], event["id"]
    payload = json_bytes(event).decode()
    ids = []
    for webhook_id in dict.fromkeys(targets):
        delivery_id = new_id()
        ids.append(delivery_id)
        params = {
            "id": delivery_id,
            "webhook_id": webhook_id,
            "event_id": event_id,
            "event_type": str(kind),
            "payload": payload,
            "now": now,
        }
        await conn.execute(_INSERT, params)
    # The deliverer of this process looks in a moment, once the transaction has most likely
    # committed (should it find nothing yet, its polling finds the rows).
    asyncio.get_running_loop().call_later(WAKE_AFTER_SECONDS, jobs.wake, DELIVERY_JOB)
    return ids


async def record_each(
    conn: Connection,
    kind: EventType,
    *,
    actor_id: uuid.UUID | None,
    data: Sequence[Data],
    watchers: Sequence[Watcher],
) -> int:
    """`record` for many changes of one kind heard by the same watchers (an import's new
    tasks): one event each, their deliveries written in one batch; returns how many."""
    bit = BITS[kind]
    targets = list(dict.fromkeys(w.webhook_id for w in watchers if w.mask & bit))
    if not targets:
        return 0
    rows = []
    for item in data:
        event = envelope(kind, actor_id=actor_id, data=item() if callable(item) else item)
        payload = json_bytes(event).decode()
        for webhook_id in targets:
            rows.append(
                {
                    "id": new_id(),
                    "webhook_id": webhook_id,
                    "event_id": event["id"],
                    "event_type": str(kind),
                    "payload": payload,
                    "now": event["created_at"],
                }
            )
    await conn.execute_many(_INSERT, rows)
    asyncio.get_running_loop().call_later(WAKE_AFTER_SECONDS, jobs.wake, DELIVERY_JOB)
    return len(rows)


async def record_ping(conn: Connection, webhook_id: uuid.UUID, actor_id: uuid.UUID) -> uuid.UUID:
    """A `ping` for that webhook alone, whatever its events (active or not: a disabled one's
    waits, as its other deliveries do, until it is enabled again)."""
    watcher = Watcher(webhook_id, BITS[EventType.ping])
    data = {"webhook_id": webhook_id}
    (delivery_id,) = await record(
        conn, EventType.ping, actor_id=actor_id, data=data, watchers=[watcher]
    )
    return delivery_id
