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
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import zones
from todo_api.kit.claims import claim, next_due, release, sleep_before_due
from todo_api.kit.ids import utcnow
from todo_api.tables.reminders import ERROR_MAX_LENGTH, reminder_emails

log = logging.getLogger("todo_api")

EMAIL_JOB = "reminders.email"
PENDING, SENT, FAILED = "pending", "sent", "failed"
BATCH = 20
# The lease outlasts the turn, which outlasts each attempt's time limit.
TURN_MARGIN_SECONDS = 2
LEASE_MARGIN_SECONDS = 5

waiting_at = reminder_emails.c.next_attempt_at
_EARLIEST = Query(next_due(reminder_emails, waiting_at))


def due_text(task: Mapping[str, Any], zone_name: str) -> str | None:
    """When the task is due, for a person in `zone_name`: `Thursday 24 December 2026, 09:00
    (Europe/Berlin)`, or the date of an all-day task."""
    day = task["due_date"]
    if day is not None:
        return f"{day:%A} {day.day} {day:%B %Y}"
    due: datetime | None = task["due_at"]
    if due is None:
        return None
    try:
        local = due.astimezone(zones.zone(zone_name))
    except OverflowError:
        local = due
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({zone_name})"


def compose(task: Mapping[str, Any], zone_name: str, public_url: str | None) -> tuple[str, str]:
    """The subject and plain-text body of a task's reminder."""
    lines = [task["title"], ""]
    due = due_text(task, zone_name)
    lines.append(f"Due: {due}" if due else "No due date.")
    if task["description"]:
        lines += ["", task["description"]]
    if public_url:
        lines += ["", f"{public_url}/api/tasks/{task['id']}"]
    return f"Reminder: {task['title']}", "\n".join(lines) + "\n"


def _message(settings: Settings, email: Row) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.reminder_email_from
    message["To"] = email["recipient"]
    message["Subject"] = email["subject"]
    message["Date"] = format_datetime(email["created_at"])
    # The same on every attempt: a copy sent again after a crash is recognisably the same.
    message["Message-ID"] = f"<reminder-{email['id']}@todo-api>"
    message.set_content(email["body"])
    return message


async def send(settings: Settings, email: Row) -> str | None:
    """One attempt; the failure as a sentence, or None. Never raises but cancellation."""
    assert settings.smtp_url is not None
    url = urlsplit(settings.smtp_url.get_secret_value())
    implicit_tls = url.scheme == "smtps"
    try:
        async with asyncio.timeout(settings.smtp_timeout_seconds):
            await aiosmtplib.send(
                _message(settings, email),
                hostname=url.hostname,
                port=url.port or (465 if implicit_tls else 25),
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=implicit_tls,
                # smtp://: STARTTLS when the server offers it (None); smtps:// is TLS already.
                start_tls=False if implicit_tls else None,
                timeout=settings.smtp_timeout_seconds,
            )
    except TimeoutError:
        return f"timed out after {settings.smtp_timeout_seconds:g} s"
    except aiosmtplib.SMTPException as exc:
        return f"{type(exc).__name__}: {exc}"
    except OSError as exc:
        return f"could not connect: {exc.strerror or type(exc).__name__}"
    except Exception as exc:  # whatever else: the email is retried, the job goes on
        log.warning("reminder email %s: %s", email["id"], type(exc).__name__)
        return f"could not send: {type(exc).__name__}"
    return None


def _outcome(email: Row, error: str | None, schedule: tuple[float, ...]) -> dict[str, Any]:
    attempts = email["attempts"] + 1
    now = utcnow()
    values: dict[str, Any] = {"attempts": attempts, "error": error and error[:ERROR_MAX_LENGTH]}
    if error is None:
        return {**values, "status": SENT, "sent_at": now, "next_attempt_at": None}
    if attempts > len(schedule):
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
    lease = timedelta(seconds=settings.smtp_timeout_seconds + LEASE_MARGIN_SECONDS)
    taken = await claim(
        db, reminder_emails, due=waiting_at <= now, lease=lease, limit=BATCH, order_by=waiting_at
    )
    errors = await asyncio.gather(*(send(settings, email) for email in taken.rows))
    schedule = settings.reminder_email_retry_schedule
    for email, error in zip(taken.rows, errors, strict=True):
        values = _outcome(email, error, schedule)
        await release(db, reminder_emails, taken, [email["id"]], values)
    return 0.0
