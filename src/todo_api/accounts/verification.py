"""Confirming a built-in account's email (EMAIL_VERIFICATION=off|optional|required), and
changing it.

An email is confirmed by following a link sent to it (a `verify` token, 48 hours); a new
email, by a link sent to the new address (an `email_change` token), which makes it the
account's email once followed (and uses up every other link of the account, to the old address
or the new, and ends every other sign-in of the account, as a change of password does: the
one that confirmed it stays, and when none did, none stays), while the old address gets a
notice without a link. Either
kind of link is used with `verify`, which answers the account as `me` shows it.

With `required`, registering makes the account without signing it in, and answers the same
whether or not the email was taken (the owner of a taken one gets a notice instead of a
link); signing in before the email is confirmed is 403 EMAIL_NOT_VERIFIED, said only to whoever
gave the right password.
"""

import uuid
from typing import Any

from sqlalchemy import func, select, update

from todo_api.accounts import emails, links, service, sign_ins
from todo_api.accounts.links import Purpose
from todo_api.accounts.passwords import PasswordHashing
from todo_api.accounts.recovery import account_by_email
from todo_api.accounts.registration import Invitations
from todo_api.auth.errors import EmailTaken, InvalidCredentials, InvalidLink
from todo_api.config import Settings
from todo_api.db import Database, IntegrityViolation, Row
from todo_api.kit.catalogs import language_of
from todo_api.kit.ids import utcnow
from todo_api.tables.users import users


async def register_pending(
    *, db: Database, invitations: Invitations, row: dict[str, Any], invitation: str | None
) -> Row | None:
    """Make the account (its row from `service.new_account`, which keeps REGISTRATION as for any
    registration), not signed in; None when the email is taken (after the same work)."""
    async with db.transaction() as conn:
        return await service.insert_account(conn, invitations, row, invitation)


async def send_link(mailer: emails.Mailer, email: str, accept_language: str | None = None) -> None:
    """Email a link confirming `email` to its account, if it has one not yet confirmed (run
    after the answer): one with a password, or one an identity provider made without it. In
    the account's language, else the request's (`accept_language`)."""
    async with mailer.db.transaction() as conn:
        query = select(users).where(func.lower(users.c.email) == email)
        user = (await conn.execute(query)).first()
        if user is None or user.email_verified:
            return
        token = await links.issue(conn, user_id=user.id, purpose=Purpose.verify, email=user.email)
    language = language_of(user.language, accept_language)
    link = emails.verify_email(mailer.settings, user.email, token, language, change=False)
    await mailer.send_unasked(link)


async def send_taken_notice(
    mailer: emails.Mailer, email: str, accept_language: str | None = None
) -> None:
    """Someone registered with the email of an existing account: tell its owner (in their
    language, else that of the request)."""
    async with mailer.db.connection() as conn:
        user = await account_by_email(conn, email)
    if user is not None:
        language = language_of(user.language, accept_language)
        await mailer.send_unasked(emails.sign_up_notice(user.email, language))


async def verify(
    *, db: Database, token: str, keep: uuid.UUID | None = None
) -> tuple[Row, list[uuid.UUID]]:
    """Follow a link: confirm the account's email, or make the new one its email (EmailTaken
    if another account has it by then). The account's row, and the sign-ins a new email ended:
    every one but `keep` (the sign-in that confirmed it, if one did), as a change of password
    ends them; the caller tells every process (`KnownTokens.revoked`)."""
    async with db.transaction() as conn:
        used = await links.redeem(conn, token, Purpose.verify, Purpose.email_change)
        user_id = uuid.UUID(str(used.user_id))
        now = utcnow()
        if used.purpose == Purpose.verify:
            confirmed = (
                update(users)
                .where(users.c.id == user_id, func.lower(users.c.email) == used.email)
                .values(email_verified=True, updated_at=now)
                .returning(*users.c)
            )
            row = (await conn.execute(confirmed)).first()
            if row is None:  # the account's email changed since the link was sent
                raise InvalidLink
            return row, []
        taken = select(users.c.id).where(
            func.lower(users.c.email) == used.email, users.c.id != user_id
        )
        if (await conn.execute(taken)).first() is not None:
            raise EmailTaken
        changed = (
            update(users)
            .where(users.c.id == user_id)
            .values(email=used.email, email_verified=True, updated_at=now)
            .returning(*users.c)
        )
        try:
            row = (await conn.execute(changed)).first()
        except IntegrityViolation:
            raise EmailTaken from None
        if row is None:
            raise InvalidLink
        # Every link still out dies with the old address (a reset link there included): whoever
        # reads that mailbox now has no way back into the account.
        await links.spend_all(conn, user_id, *Purpose)
        # Whoever signed in with the old address (in a mailbox that may not be the owner's
        # any more) is signed out with it.
        return row, await sign_ins.revoke(conn, user_id, keep=keep)


async def request_change(
    *,
    db: Database,
    passwords: PasswordHashing,
    settings: Settings,
    mailer: emails.Mailer,
    user_id: uuid.UUID,
    new_email: str,
    password: str,
    accept_language: str | None = None,
) -> None:
    """Check the password (InvalidCredentials), then send a link to the new address and a
    notice to the old one (after the answer), in the user's language, else the request's."""
    async with db.connection() as conn:
        user = await service.get_user(conn=conn, user_id=user_id)
    password_hash = user.password_hash if user is not None else None
    if not await passwords.verify(password, password_hash) or user is None:
        raise InvalidCredentials("The password is not right")
    async with db.transaction() as conn:
        token = await links.issue(
            conn, user_id=user_id, purpose=Purpose.email_change, email=new_email
        )

    language = language_of(user.language, accept_language)

    async def send() -> None:
        await mailer.send(emails.verify_email(settings, new_email, token, language, change=True))
        if user.email:
            await mailer.send(emails.email_change_notice(user.email, new_email, language))

    mailer.submit(send)
