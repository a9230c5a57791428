"""Reminder emails: what one says, and sending the pending ones (with `aiosmtplib`).

An email is written when its reminder fires (todo_api.reminders.firing), in that transaction,
and sent by a job of its own: a mail server that is down or refuses holds up no webhook and
no stream. Each pending email is claimed by one worker at a time (todo_api.kit.claims), sent
within SMTP_TIMEOUT_SECONDS, and its outcome written back; any failure (refused, down, a
timeout) is tried again after each delay of REMINDER_EMAIL_RETRY_SCHEDULE, then the email is
`failed`.

At least once: the outcome is written after the server took the message, so a process that
dies in between leaves the email claimed until the lease runs out, and the next claimant
sends it again. A reminder never goes unsent because a process died; it may, rarely, arrive
twice (with the same Message-ID, which mail clients use to drop the copy).
"""

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_date, format_time

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import access, mail, zones
from todo_api.kit.claims import claim, next_due, release, sleep_before_due
from todo_api.kit.ids import utcnow
from todo_api.kit.mail import Email
from todo_api.tables.reminders import ERROR_MAX_LENGTH, reminder_emails

log = logging.getLogger("todo_api")

EMAIL_JOB = "reminders.email"
PENDING, SENT, FAILED = "pending", "sent", "failed"
BATCH = 20

waiting_at = reminder_emails.c.next_attempt_at
_EARLIEST = Query(next_due(reminder_emails, waiting_at))


# The form of a due day and time in each language: its long form (Babel's `full` date,
# `short` time); English keeps the one its emails always had.
_FORMS = {"en": ("EEEE d MMMM y", "HH:mm")}
_FULL = ("full", "short")


def due_text(task: Mapping[str, Any], zone_name: str, language: str) -> str | None:
    """When the task is due, for a person in `zone_name`, in `language`: `Thursday 24 December
    2026, 09:00 (Europe/Berlin)`, `jeudi 24 décembre 2026, 09:00 (Europe/Paris)`, or the day
    of an all-day task."""
    day_form, time_form = _FORMS.get(language, _FULL)
    day = task["due_date"]
    if day is not None:
        return format_date(day, day_form, locale=language)
    due: datetime | None = task["due_at"]
    if due is None:
        return None
    try:
        local = due.astimezone(zones.zone(zone_name))
    except OverflowError:
        local = due
    _ = mail.words(language)
    return _("%(day)s, %(time)s (%(zone)s)") % {
        "day": format_date(local, day_form, locale=language),
        "time": format_time(local, time_form, locale=language),
        "zone": zone_name,
    }


def task_link(settings: Settings, task_id: object) -> str | None:
    """Where the email sends a person for the task: the frontend's page of it when
    TASK_URL_TEMPLATE is set, else the API's own URL under PUBLIC_URL (none without)."""
    if settings.task_url_template:
        return settings.task_url_template.replace("{id}", str(task_id))
    if settings.public_url:
        return f"{settings.public_url}/api/tasks/{task_id}"
    return None


def compose(
    task: Mapping[str, Any], zone_name: str, link: str | None, language: str
) -> tuple[str, str]:
    """The subject and plain-text body of a task's reminder, in `language`."""
    _ = mail.words(language)
    lines = [task["title"], ""]
    due = due_text(task, zone_name, language)
    lines.append(_("Due: %(when)s") % {"when": due} if due else _("No due date."))
    if task["description"]:
        lines += ["", task["description"]]
    if link:
        lines += ["", link]
    return _("Reminder: %(title)s") % {"title": task["title"]}, "\n".join(lines) + "\n"


def _email(email: Row) -> Email:
    return Email(
        recipient=email["recipient"],
        subject=email["subject"],
        body=email["body"],
        created_at=email["created_at"],
        local_id=f"reminder-{email['id']}",
    )


async def send(settings: Settings, email: Row) -> tuple[str | None, bool]:
    """One attempt (todo_api.kit.mail.send)."""
    return await mail.send(settings, _email(email))


def _outcome(
    email: Row, error: str | None, final: bool, schedule: tuple[float, ...]
) -> dict[str, Any]:
    attempts = email["attempts"] + 1
    now = utcnow()
    values: dict[str, Any] = {"attempts": attempts, "error": error and error[:ERROR_MAX_LENGTH]}
    if error is None:
        return {**values, "status": SENT, "sent_at": now, "next_attempt_at": None}
    if final or attempts > len(schedule):
        log.warning("reminder email %s failed for good: %s", email["id"], error)
        return {**values, "status": FAILED, "next_attempt_at": None}
    delay = timedelta(seconds=schedule[attempts - 1])
    return {**values, "status": PENDING, "next_attempt_at": now + delay}


async def send_due(db: Database, settings: Settings) -> float | None:
    """Send the pending emails that are due (a batch); returns the seconds until the next
    turn is worth it."""
    if settings.smtp_url is None:
        return None
    now, wait = await sleep_before_due(db, _EARLIEST, settings.reminder_sleep_seconds)
    if wait is not None:
        return wait
    lease = timedelta(seconds=settings.smtp_timeout_seconds + mail.LEASE_MARGIN_SECONDS)
    taken = await claim(
        db, reminder_emails, due=waiting_at <= now, lease=lease, limit=BATCH, order_by=waiting_at
    )
    outcomes = await asyncio.gather(*(_attempt(db, settings, email) for email in taken.rows))
    schedule = settings.reminder_email_retry_schedule
    for email, (error, final) in zip(taken.rows, outcomes, strict=True):
        values = _outcome(email, error, final, schedule)
        await release(db, reminder_emails, taken, [email["id"]], values)
    return 0.0


async def _attempt(db: Database, settings: Settings, email: Row) -> tuple[str | None, bool]:
    """Send the email, if its recipient still sees the task: access lost (or the task
    deleted) since it fired fails it at once, unsent."""
    if email["task_id"] is not None:
        async with db.connection() as conn:
            seen = await access.sees_task(conn, email["recipient_id"], email["task_id"])
        if not seen:
            return "not sent: the recipient no longer sees the task", True
    return await send(settings, email)
