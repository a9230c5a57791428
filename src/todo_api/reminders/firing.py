"""Firing due reminders, each once across every worker and instance.

Every process runs the scheduler (todo_api.reminders.scheduled). A turn reads the earliest
time still to fire (one entry of the `next_fire_at` index); when it is in the future, the
scheduler sleeps until then (at most REMINDER_SLEEP_SECONDS; a write that schedules something
wakes it, see todo_api.kit.reminders). When reminders are due, it claims a batch
(todo_api.kit.claims: SKIP LOCKED and a lease on PostgreSQL, one claimant at a time on SQLite)
and fires them in one transaction (one commit for the batch; should it fail, one
transaction each, so that one bad row holds up no other), which

- marks it fired, only if this claim still holds it (a task write that moved it meanwhile
  dropped the claim),
- and, for an open task whose reminder is at most REMINDER_MAX_LATE_HOURS late, writes the
  `reminder.fired` event for webhooks (todo_api.kit.events), for live streams
  (`reminder_events`), its email (`reminder_emails`, sent by its own job) and its Web Push
  messages (`push_messages`, one per subscription of the recipient, sent by their own job:
  todo_api.push.sending).

So the event exists exactly when the reminder is marked fired: a process that dies before the
commit leaves it to the next claimant once the lease runs out, one that dies after has fired
it. A completed or deleted task fires nothing (a deleted one takes its schedule with it).
"""

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row, insert_bound
from todo_api.kit import events, jobs
from todo_api.kit import mail as kit_mail
from todo_api.kit.catalogs import language_of
from todo_api.kit.claims import Claim, claim, next_due, sleep_before_due
from todo_api.kit.events import EventType
from todo_api.kit.http import json_bytes
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.throttle import is_outage
from todo_api.push import sending
from todo_api.push import service as push
from todo_api.reminders import mail
from todo_api.tables.reminders import reminder_emails, reminder_events, reminder_fires
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users
from todo_api.tasks.schemas import task_body

log = logging.getLogger("todo_api")

BATCH = 100
LEASE = timedelta(seconds=60)

waiting_at = reminder_fires.c.next_fire_at


# The earliest time still to fire that nobody holds: the first entries of the index.
_EARLIEST = Query(next_due(reminder_fires, waiting_at))
_RECIPIENT = Query(
    select(users.c.email, users.c.timezone, users.c.language).where(
        users.c.id == bindparam("user_id")
    )
)
_STREAM_EVENT = Query(
    insert_bound(reminder_events, "id", "audience", "payload", created_at=bindparam("now"))
)
_EMAIL = Query(
    insert_bound(
        reminder_emails,
        *("id", "reminder_id", "task_id", "recipient_id", "recipient", "subject", "body"),
        status=mail.PENDING,
        attempts=0,
        next_attempt_at=bindparam("now"),
        created_at=bindparam("now"),
    )
)


async def fire_due(db: Database, settings: Settings) -> float:
    """Fire what is due (a batch); returns the seconds until the next turn is worth it."""
    now, wait = await sleep_before_due(db, _EARLIEST, settings.reminder_sleep_seconds)
    if wait is not None:
        return wait
    taken = await claim(
        db, reminder_fires, due=waiting_at <= now, lease=LEASE, limit=BATCH, order_by=waiting_at
    )
    if not taken.rows:
        return 0.0
    ids = [row["reminder_id"] for row in taken.rows]
    try:
        fired = await _fire(db, settings, taken, ids)
    except Exception as exc:
        if is_outage(exc):  # one at a time would fail alike: the job's turn says so, once
            raise
        log.exception("%d reminders could not be fired together; one at a time now", len(ids))
        fired = 0
        for reminder_id in ids:
            try:
                fired += await _fire(db, settings, taken, [reminder_id])
            except Exception:  # tried again once its lease runs out; the rest go on
                log.exception("reminder %s could not be fired", reminder_id)
    if fired and settings.smtp_url is not None:
        jobs.wake(mail.EMAIL_JOB)
    if fired and settings.web_push_enabled:
        jobs.wake(sending.PUSH_JOB)
    return 0.0  # more may be due: look again at once


async def _fire(db: Database, settings: Settings, taken: Claim, ids: list[uuid.UUID]) -> int:
    """Mark the reminders of `ids` that this claim still holds fired, and write the events
    (and emails) of those that fire, in one transaction; returns how many fired."""
    now = utcnow()
    max_late = timedelta(hours=settings.reminder_max_late_hours)
    marked = (
        update(reminder_fires)
        .where(reminder_fires.c.reminder_id.in_(ids), reminder_fires.c.claimed_by == taken.claimant)
        .values(next_fire_at=None, fired_at=now, claimed_by=None, claimed_until=None)
        .returning(
            reminder_fires.c.reminder_id, reminder_fires.c.task_id, reminder_fires.c.fires_at
        )
    )
    fired = 0
    async with db.transaction() as conn:
        rows = (await conn.execute(marked)).rows  # those moved or taken over meanwhile are not
        if not rows:
            return 0
        task_ids = list({row["task_id"] for row in rows})
        found = {
            t["id"]: t for t in await conn.execute(select(tasks).where(tasks.c.id.in_(task_ids)))
        }
        for row in rows:
            task = found.get(row["task_id"])
            if task is None or task["is_completed"]:
                continue
            if now - row["fires_at"] > max_late:
                log.info("reminder %s was too late to fire", row["reminder_id"])
                continue
            reminder = _reminder(task, row["reminder_id"], row["fires_at"])
            if reminder is None:
                continue
            await _announce(conn, task, reminder)
            if settings.smtp_url is not None:
                await _email(conn, settings, task, row["reminder_id"])
            if settings.web_push_enabled:
                await _push(conn, task, row["reminder_id"], now)
            fired += 1
    return fired


def _reminder(task: Row, reminder_id: uuid.UUID, fires_at: datetime) -> dict[str, Any] | None:
    for reminder in task["reminders"]:
        if reminder["id"] == str(reminder_id):
            return {**reminder, "fires_at": fires_at}
    return None


async def _announce(conn: Connection, task: Row, reminder: Mapping[str, Any]) -> None:
    """`reminder.fired` for the task's watchers' webhooks and its audience's live streams:
    one event, the same id everywhere."""
    data = {"task": task_body(task), "reminder": reminder}
    event = events.envelope(EventType.reminder_fired, actor_id=None, data=data)
    watchers = await events.watchers_of_task(conn, task["id"])
    await events.record(
        conn,
        EventType.reminder_fired,
        actor_id=None,
        data=event["data"],
        watchers=watchers,
        event=event,
    )
    audience = await events.audience_of_task(conn, task["id"])
    params = {
        "id": event["id"],
        "audience": [str(user) for user in audience],
        "payload": json_bytes(event).decode(),
        "now": event["created_at"],
    }
    await conn.execute(_STREAM_EVENT, params)


async def _email(conn: Connection, settings: Settings, task: Row, reminder_id: uuid.UUID) -> None:
    """The email to the assignee, else the task's owner (none when they have no address)."""
    user_id = task["assignee_id"] or task["user_id"]
    recipient = (await conn.execute(_RECIPIENT, {"user_id": user_id})).first()
    if recipient is None or not recipient["email"]:
        return
    link = mail.task_link(settings, task["id"])
    language = language_of(recipient["language"], None)  # their setting, else English
    subject, body = mail.compose(task, recipient["timezone"], link, language)
    params = {
        "id": new_id(),
        "reminder_id": reminder_id,
        "task_id": task["id"],
        "recipient_id": user_id,
        "recipient": recipient["email"],
        "subject": subject,
        "body": body,
        "now": utcnow(),
    }
    await conn.execute(_EMAIL, params)


async def _push(conn: Connection, task: Row, reminder_id: uuid.UUID, now: datetime) -> None:
    """A Web Push message to each subscription of the assignee, else the task's owner: the
    JSON a service worker shows as a notification (in the recipient's language, on their
    clock)."""
    user_id = task["assignee_id"] or task["user_id"]
    recipient = (await conn.execute(_RECIPIENT, {"user_id": user_id})).first()
    if recipient is None:
        return
    language = language_of(recipient["language"], None)
    due = mail.due_text(task, recipient["timezone"], language)
    _ = kit_mail.words(language)
    due_at = task["due_date"] or task["due_at"]  # an all-day task's day
    payload = {
        "type": "reminder",
        "title": task["title"],
        "body": _("Due: %(when)s") % {"when": due} if due else "",
        "due": due_at.isoformat().replace("+00:00", "Z") if due_at is not None else None,
        "url": f"/app/tasks/{task['id']}",
        "tag": f"reminder-{reminder_id}",
        "task_id": str(task["id"]),
        "reminder_id": str(reminder_id),
    }
    await push.queue(conn, user_id, reminder_id, json_bytes(payload).decode(), now)
