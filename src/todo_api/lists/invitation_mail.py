"""Invitations sent by email (`email` in POST /api/lists/{id}/invitations, and the web app's
sharing page): the invitation link made as any is, then one email to the address typed with
that link (`{PUBLIC_URL}/app/invitations/{token}`), from the person who invited and naming the
list, in the recipient's language (their account's setting when the address has one, else the
inviter's, else their request's). Through todo_api.kit.mail, as every email of the service:
APP_NAME in its sender, subject and signature.

A person sends at most INVITE_EMAILS_PER_HOUR such emails an hour (429 RATE_LIMITED beyond,
before anything is made): the service is nobody's way to mail strangers in bulk. One attempt
within SMTP_TIMEOUT_SECONDS; the answer says whether it went (the link works either way)."""

import logging
import math
import uuid
from datetime import datetime
from typing import Any

from babel import dates as babel_dates
from sqlalchemy import bindparam, func, select

from todo_api.auth import EmailUnavailable
from todo_api.config import Settings
from todo_api.db import Connection, Query
from todo_api.kit import mail
from todo_api.kit.catalogs import language_of
from todo_api.kit.errors import RateLimited
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.ratelimit import Counter
from todo_api.tables.lists import lists
from todo_api.tables.users import users

log = logging.getLogger("todo_api")

INVITE_EMAILS_PER_HOUR = 20
_HOUR = 3600
_INVITER = Query(
    select(users.c.name, users.c.email, users.c.language).where(users.c.id == bindparam("id"))
)
_LIST_NAME = Query(select(lists.c.name).where(lists.c.id == bindparam("id")))
_RECIPIENT_LANGUAGE = Query(
    select(users.c.language).where(func.lower(users.c.email) == bindparam("email"))
)


def link(settings: Settings, token: str) -> str:
    assert settings.public_url is not None
    return f"{settings.public_url}/app/invitations/{token}"


async def take_turn(settings: Settings, counter: Counter, user_id: uuid.UUID) -> None:
    """Before an invitation is made to be emailed: 503 EMAIL_UNAVAILABLE when this service
    sends no email (or has no PUBLIC_URL for the link), 429 RATE_LIMITED past the person's
    hourly count (this one counted)."""
    if settings.smtp_url is None or not settings.public_url:
        raise EmailUnavailable
    count, remaining = await counter.hit(f"invitations:email:user:{user_id}", _HOUR)
    if count > INVITE_EMAILS_PER_HOUR:
        raise RateLimited(
            max(1, math.ceil(remaining)), "Too many invitations sent by email; try again later"
        )


def invitation_email(
    recipient: str,
    *,
    inviter: str,
    list_name: str,
    role: str,
    url: str,
    expires_at: datetime,
    language: str,
) -> mail.Email:
    _ = mail.words(language)
    until = babel_dates.format_date(expires_at, format="long", locale=language)
    can = _("You can read its tasks.")
    if role == "editor":
        can = _("You can read and change its tasks.")
    paragraphs = [
        _("%(person)s invites you to the list “%(list)s”.")
        % {"person": inviter, "list": list_name},
        can,
        _("Open this link to join it (it works until %(date)s):\n%(link)s")
        % {"date": until, "link": url},
        _("If you do not know %(person)s, ignore this email.") % {"person": inviter},
    ]
    return mail.Email(
        recipient=recipient,
        subject=_("%(person)s invites you to “%(list)s”") % {"person": inviter, "list": list_name},
        body="\n\n".join(paragraphs) + "\n",
        created_at=utcnow(),
        local_id=f"invitation-{new_id()}",
    )


async def send(
    conn: Connection,
    settings: Settings,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    made: dict[str, Any],
    recipient: str,
    accept_language: str | None,
) -> bool:
    """Email the invitation `made` (create_invitation's answer, with its token) to `recipient`;
    whether it went (a failure is logged, never raised)."""
    person = (await conn.execute(_INVITER, {"id": user_id})).one()
    list_name = (await conn.execute(_LIST_NAME, {"id": list_id})).scalar()
    theirs = (await conn.execute(_RECIPIENT_LANGUAGE, {"email": recipient.lower()})).scalar()
    email = invitation_email(
        recipient,
        inviter=person.name or person.email or "",
        list_name=str(list_name),
        role=made["role"],
        url=link(settings, made["token"]),
        expires_at=made["expires_at"],
        language=language_of(theirs or person.language, accept_language),
    )
    error, _final = await mail.send(settings, email)
    if error is not None:
        log.warning("invitation email %s not sent: %s", email.local_id, error)
    return error is None
