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
from email.header import Header
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.policy import compat32, default
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import unquote, urlsplit

import aiosmtplib
from sqlalchemy import bindparam, or_, select

from todo_api.config import Settings
from todo_api.db import Database, Query, Row
from todo_api.kit import access, zones
from todo_api.kit.claims import claim, next_due, release, sleep_before_due
from todo_api.kit.ids import utcnow
from todo_api.kit.text import ascii_address, canonical_email
from todo_api.tables.reminders import ERROR_MAX_LENGTH, reminder_emails
from todo_api.tables.tasks import tasks

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


def task_link(settings: Settings, task_id: object) -> str | None:
    """Where the email sends a person for the task: the frontend's page of it when
    TASK_URL_TEMPLATE is set, else the API's own URL under PUBLIC_URL (none without)."""
    if settings.task_url_template:
        return settings.task_url_template.replace("{id}", str(task_id))
    if settings.public_url:
        return f"{settings.public_url}/api/tasks/{task_id}"
    return None


def compose(task: Mapping[str, Any], zone_name: str, link: str | None) -> tuple[str, str]:
    """The subject and plain-text body of a task's reminder."""
    lines = [task["title"], ""]
    due = due_text(task, zone_name)
    lines.append(f"Due: {due}" if due else "No due date.")
    if task["description"]:
        lines += ["", task["description"]]
    if link:
        lines += ["", link]
    return f"Reminder: {task['title']}", "\n".join(lines) + "\n"


class Unsendable(ValueError):
    """An email that is not sent as it stands (a recipient that is not one plain address, or
    headers other than those meant): it fails at once, and is never tried again."""


# Every header an email has, each exactly once: nothing a user wrote can add one.
HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)


def message_id(settings: Settings, email_id: object) -> str:
    # The same on every attempt: a copy sent again after a crash is recognisably the same.
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return f"<reminder-{email_id}@{host or 'todo-api.invalid'}>"


def render(settings: Settings, email: Row) -> tuple[str, str, bytes]:
    """The envelope's sender and one recipient, and the message as it goes on the wire.

    Built with the `compat32` policy and explicit `Header` objects rather than `EmailMessage`:
    the subject is always written as UTF-8 encoded-words of the text as stored, so a title that
    itself looks like an encoded-word (hiding CR LF) is shown as written and never decoded into
    header lines (CVE-2024-6923 and its kind, on any patch level of Python); the body is one
    base64 `text/plain` part. The result is then read back and refused unless it has exactly
    the headers meant, once each, and the subject as written."""
    recipient = canonical_email(email["recipient"])
    if recipient is None:
        raise Unsendable("the recipient is not one plain email address")
    ascii_recipient = ascii_address(recipient)
    if ascii_recipient is None:
        raise Unsendable("the recipient's address needs SMTPUTF8, which is not sent")
    sender = parseaddr(settings.reminder_email_from)[1]
    message = MIMEText(email["body"], "plain", "utf-8")
    message["From"] = settings.reminder_email_from
    message["To"] = ascii_recipient
    message["Subject"] = Header(email["subject"], "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(email["created_at"])
    message["Message-ID"] = message_id(settings, email["id"])
    message["Auto-Submitted"] = "auto-generated"
    wire = message.as_bytes(policy=compat32.clone(linesep="\r\n"))
    _check(wire, email["subject"], ascii_recipient)
    return sender, ascii_recipient, wire


def _check(wire: bytes, subject: str, recipient: str) -> None:
    head = wire.split(b"\r\n\r\n", 1)[0]
    if b"\r" in head.replace(b"\r\n", b"") or b"\n" in head.replace(b"\r\n", b""):
        raise Unsendable("a header holds a bare line break")
    names = [
        line.split(b":", 1)[0].decode("ascii", "replace").lower()
        for line in head.split(b"\r\n")
        if line[:1] not in (b" ", b"\t")
    ]
    if sorted(names) != sorted(HEADERS):
        raise Unsendable("the email's headers are not those meant")
    parsed = BytesHeaderParser(policy=default).parsebytes(wire)
    if str(parsed["Subject"]) != subject or str(parsed["To"]) != recipient:
        raise Unsendable("the email's subject or recipient does not read back as written")


async def send(settings: Settings, email: Row) -> tuple[str | None, bool]:
    """One attempt: the failure as a sentence (None when sent), and whether it is final (a
    permanent refusal, SMTP 5xx, or an email that cannot be sent as it stands). Never raises
    but cancellation."""
    assert settings.smtp_url is not None
    url = urlsplit(settings.smtp_url.get_secret_value())
    implicit_tls = url.scheme == "smtps"
    try:
        sender, recipient, wire = render(settings, email)
        async with asyncio.timeout(settings.smtp_timeout_seconds):
            await aiosmtplib.send(
                wire,
                sender=sender,
                recipients=[recipient],
                hostname=url.hostname,
                port=url.port or (465 if implicit_tls else 25),
                username=unquote(url.username) if url.username else None,
                password=unquote(url.password) if url.password else None,
                use_tls=implicit_tls,
                # smtp://: STARTTLS when the server offers it (None); smtps:// is TLS already.
                start_tls=False if implicit_tls else None,
                timeout=settings.smtp_timeout_seconds,
            )
    except Unsendable as exc:
        return f"not sent: {exc}", True
    except TimeoutError:
        return f"timed out after {settings.smtp_timeout_seconds:g} s", False
    except aiosmtplib.SMTPException as exc:
        return f"{type(exc).__name__}: {exc}", _permanent(exc)
    except OSError as exc:
        return f"could not connect: {exc.strerror or type(exc).__name__}", False
    except Exception as exc:  # whatever else: the email is retried, the job goes on
        log.warning("reminder email %s: %s", email["id"], type(exc).__name__)
        return f"could not send: {type(exc).__name__}", False
    return None, False


def _permanent(exc: aiosmtplib.SMTPException) -> bool:
    """Whether the server refused for good (a 5xx reply): trying again would not help."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= r.code < 600 for r in exc.recipients)
    code = getattr(exc, "code", None)
    return isinstance(code, int) and 500 <= code < 600


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
    lease = timedelta(seconds=settings.smtp_timeout_seconds + LEASE_MARGIN_SECONDS)
    taken = await claim(
        db, reminder_emails, due=waiting_at <= now, lease=lease, limit=BATCH, order_by=waiting_at
    )
    outcomes = await asyncio.gather(*(_attempt(db, settings, email) for email in taken.rows))
    schedule = settings.reminder_email_retry_schedule
    for email, (error, final) in zip(taken.rows, outcomes, strict=True):
        values = _outcome(email, error, final, schedule)
        await release(db, reminder_emails, taken, [email["id"]], values)
    return 0.0


# Whether the recipient sees the task now: its owner (the inbox's user, or the list's owner)
# or a member of its list.
_STILL_SEES = Query(
    select(tasks.c.id).where(
        tasks.c.id == bindparam("task_id"),
        or_(
            tasks.c.user_id == bindparam("recipient_id"),
            access.member_of(tasks.c.list_id, who=bindparam("recipient_id")),
        ),
    )
)


async def _attempt(db: Database, settings: Settings, email: Row) -> tuple[str | None, bool]:
    """Send the email, if its recipient still sees the task: access lost (or the task
    deleted) since it fired fails it at once, unsent."""
    if email["task_id"] is not None:
        params = {"task_id": email["task_id"], "recipient_id": email["recipient_id"]}
        async with db.connection() as conn:
            seen = (await conn.execute(_STILL_SEES, params)).first()
        if seen is None:
            return "not sent: the recipient no longer sees the task", True
    return await send(settings, email)
