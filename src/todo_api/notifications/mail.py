"""Notification emails: each gathers its recipient's notifications pending when it goes,
checked again against what they see then, and is sent with the reminder emails' headers and
safety rules (todo_api.kit.mail), under a Message-ID of its own (`<notification-{id}@host>`).
Claimed by one worker of all instances at a time (todo_api.kit.claims); its outcome, the
notifications it took and the email that follows (more came meanwhile) are written in one
transaction, by the claim that still holds it.

An item that cannot be put in words (a name from before names were one line, with a line break
that would break the subject; a kind this version does not know) is left out of its email and
logged once, and the others go: it is taken off the email's list at once, so that a retry of
the email neither meets nor logs it again."""

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row
from todo_api.kit import mail as kit_mail
from todo_api.kit.catalogs import language_of
from todo_api.kit.claims import claim, next_due, release_each, sleep_before_due
from todo_api.kit.ids import utcnow
from todo_api.kit.mail import Email
from todo_api.kit.reads import told
from todo_api.kit.text import is_clean_text
from todo_api.notifications import making
from todo_api.notifications.service import settings_of
from todo_api.tables.lists import lists
from todo_api.tables.notifications import notification_emails, notification_settings, notifications
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

log = logging.getLogger("todo_api")

BATCH = 20
SENT, FAILED, EMPTY = "sent", "failed", "empty"
_E = notification_emails.c
_N = notifications.c
_EARLIEST = Query(next_due(notification_emails, _E.next_attempt_at))
_GATHERED = Query(
    select(
        notifications,
        tasks.c.title,
        users.c.email.label("actor_email"),
        users.c.name.label("actor_name"),
        lists.c.name.label("list_name"),
    )
    .select_from(
        notifications.outerjoin(tasks, tasks.c.id == _N.task_id)
        .outerjoin(users, users.c.id == _N.actor_id)
        .outerjoin(lists, lists.c.id == _N.list_id)
    )
    .where(
        _N.user_id == bindparam("user_id"), _N.email_pending.is_(True), _N.at <= bindparam("now")
    )
    .order_by(_N.user_id, _N.seq)
)
_RECIPIENT = Query(
    select(users.c.email, users.c.language).where(users.c.id == bindparam("user_id"))
)
_SETTINGS = Query(
    select(notification_settings).where(notification_settings.c.user_id == bindparam("user_id"))
)
_MORE = Query(
    select(_N.seq).where(_N.user_id == bindparam("user_id"), _N.email_pending.is_(True)).limit(1)
)


def _says(kind: str, who: str, what: str, language: str) -> str:
    """One notification in words: who did what to which task (or list)."""
    _ = kit_mail.words(language)
    says = {
        "assigned": _("%(who)s assigned you “%(what)s”"),
        "mentioned": _("%(who)s mentioned you on “%(what)s”"),
        "commented": _("%(who)s commented on “%(what)s”"),
        "completed": _("%(who)s completed “%(what)s”"),
        "member_joined": _("%(who)s joined your list “%(what)s”"),
    }
    return says[kind] % {"who": who, "what": what}


def _line(row: Row, language: str) -> str | None:
    """One notification in words, or None (logged) when it cannot be: see the module's
    opening."""
    _ = kit_mail.words(language)
    who = row["actor_name"] or row["actor_email"] or _("Someone")
    what = row["list_name"] if row["kind"] == "member_joined" else row["title"]
    try:
        line = _says(row["kind"], who, what, language)
    except (KeyError, TypeError, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    else:
        if is_clean_text(line):
            return line
        reason = "it would not be one line"
    log.warning("notification %s left out of its email: %s", row["id"], reason[:200])
    return None


def compose(lines: list[str], language: str) -> tuple[str, str]:
    """The subject and plain-text body, in `language`, of these notifications in words (one
    at least)."""
    _ = kit_mail.words(language)
    if len(lines) == 1:
        subject = lines[0]
    else:  # two or more: the plural form of every one of the languages
        subject = _("%(count)s updates: %(first)s, …") % {"count": len(lines), "first": lines[0]}
    return subject[:200], "\n".join(f"- {line}" for line in lines) + "\n"


async def send_due(db: Database, settings: Settings) -> float | None:
    """Send the notification emails that are due (a batch); the seconds until the next turn
    is worth it."""
    if settings.smtp_url is None:
        return None
    now, wait = await sleep_before_due(db, _EARLIEST, settings.notification_poll_seconds)
    if wait is not None:
        return wait
    lease = timedelta(seconds=settings.smtp_timeout_seconds + kit_mail.LEASE_MARGIN_SECONDS)
    taken = await claim(
        db,
        notification_emails,
        due=(_E.next_attempt_at <= now) & (_E.status == making.PENDING),
        lease=lease,
        limit=BATCH,
        order_by=_E.next_attempt_at,
    )
    await asyncio.gather(*(_one(db, settings, taken, email) for email in taken.rows))
    return 0.0


async def _one(db: Database, settings: Settings, taken: Any, email: Row) -> None:
    now = utcnow()
    user_id = email["user_id"]
    async with db.connection() as conn:
        gathered = (await conn.execute(_GATHERED, {"user_id": user_id, "now": now})).rows
        seen = [
            row
            for row in gathered
            if await making.sees(conn, user_id, row["task_id"], row["list_id"])
        ]
        found = (await conn.execute(_RECIPIENT, {"user_id": user_id})).first()
    recipient = found["email"] if found is not None else None
    language = language_of(found["language"] if found is not None else None, None)
    lines = {row["id"]: _line(row, language) for row in seen} if recipient else {}
    said = [line for line in lines.values() if line is not None]
    left_out = [row_id for row_id, line in lines.items() if line is None]
    if left_out:  # off the list at once: logged once, never met again by a retry
        async with db.transaction() as conn:
            await conn.execute(
                update(notifications).where(_N.id.in_(left_out)).values(email_pending=False)
            )
    error, final = None, False
    if said and recipient:
        await told([user_id])  # (read replicas: kit/reads.py)
        subject, body = compose(said, language)
        message = Email(
            recipient=recipient,
            subject=subject,
            body=body,
            created_at=now,
            local_id=f"notification-{email['id']}",
        )
        error, final = await kit_mail.send(settings, message)
    attempts = email["attempts"] + 1
    schedule = settings.reminder_email_retry_schedule
    if error is None:
        status = SENT if said and recipient else EMPTY
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "error": None,
            "sent_at": now if status == SENT else None,
            "next_attempt_at": None,
        }
    elif final or attempts > len(schedule):
        values = {
            "status": FAILED,
            "attempts": attempts,
            "error": error[:1024],
            "sent_at": None,
            "next_attempt_at": None,
        }
    else:
        due = now + timedelta(seconds=schedule[attempts - 1])
        values = {
            "status": making.PENDING,
            "attempts": attempts,
            "error": error[:1024],
            "sent_at": None,
            "next_attempt_at": due,
        }
    async with db.transaction() as conn:
        held = await release_each(conn, notification_emails, taken, {email["id"]: values})
        if not held or values["status"] == making.PENDING:
            return  # taken over (its new claimant does it), or tried again later
        taken_ids = [row["id"] for row in gathered]
        if taken_ids:
            await conn.execute(
                update(notifications).where(_N.id.in_(taken_ids)).values(email_pending=False)
            )
        await _follow_up(conn, settings, user_id, now)


async def _follow_up(conn: Connection, settings: Settings, user_id: uuid.UUID, now: Any) -> None:
    """More notifications came while this email went: the next one, as the settings say."""
    if (await conn.execute(_MORE, {"user_id": user_id})).first() is None:
        return
    wanted = settings_of((await conn.execute(_SETTINGS, {"user_id": user_id})).first())
    if wanted["email"] != "off":
        await making.queue_email(conn, settings, user_id, wanted["email"] == "daily", now)
