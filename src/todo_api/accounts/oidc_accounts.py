"""Which account an identity provider's sign-in opens, and the one-time code that hands it to
the frontend.

An account is found by the provider's issuer and subject first (linked at the first sign-in),
never by an email alone unless both sides vouch for it: the provider marks the email verified
and the account has verified it too. Otherwise an account holding that email is not opened
(`account_exists`): whoever controls an unverified address at some provider must not get into
the account of the person who owns it here. No account: one is made (REGISTRATION allowing),
its email verified when the provider says so, without a password. With
EMAIL_VERIFICATION=required, an email the provider does not mark verified makes no account, and
an account not verified yet is not opened (`email_not_verified`); with `optional` the account is
made unverified, and `email/resend` sends it its link.

The code is 256 random bits, kept as its SHA-256 for CODE_SECONDS (60 s); it is deleted by
its exchange, so a second exchange finds nothing, on any instance.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import delete, func, insert, select

from todo_api.accounts import registration
from todo_api.accounts.oidc_provider import Person, SentBack
from todo_api.accounts.registration import Invitations
from todo_api.auth.errors import InvitationRequired, RegistrationClosed
from todo_api.auth.tokens import normalize_email, normalize_name
from todo_api.config import Settings
from todo_api.db import Connection, Database, Row, insert_or_ignore
from todo_api.kit.ids import utcnow
from todo_api.tables.oidc import oidc_codes, oidc_identities
from todo_api.tables.users import users

CODE_SECONDS = 60


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def sign_in(
    *,
    db: Database,
    settings: Settings,
    invitations: Invitations,
    issuer: str,
    person: Person,
    invitation: str | None,
) -> str:
    """The one-time code of the account `person` opens (found, linked or made); SentBack
    when none may be opened."""
    async with db.transaction() as conn:
        user_id = await _account(conn, settings, invitations, issuer, person, invitation)
        return await _new_code(conn, user_id)


async def _account(
    conn: Connection,
    settings: Settings,
    invitations: Invitations,
    issuer: str,
    person: Person,
    invitation: str | None,
) -> uuid.UUID:
    linked = (
        await conn.execute(
            select(oidc_identities.c.user_id).where(
                oidc_identities.c.issuer == issuer, oidc_identities.c.subject == person.subject
            )
        )
    ).scalar()
    required = settings.email_verification_mode == "required"
    if linked is not None:
        if required and not await _verified(conn, linked):
            raise SentBack("email_not_verified")
        return uuid.UUID(str(linked))
    email = normalize_email(person.email)
    if email is not None:
        holder = (
            await conn.execute(
                select(users.c.id, users.c.email_verified).where(func.lower(users.c.email) == email)
            )
        ).first()
        if holder is not None:
            if not (person.email_verified and holder.email_verified):
                raise SentBack("account_exists")
            await _link(conn, issuer, person.subject, holder.id)
            return uuid.UUID(str(holder.id))
    if required and not (email is not None and person.email_verified):
        # An address nobody proved would make a usable account (one without a password is
        # never sent a link): refused, before anything is made.
        raise SentBack("email_not_verified")
    try:
        registration.check_open(settings, invitation)
    except RegistrationClosed:
        raise SentBack("registration_closed") from None
    except InvitationRequired:
        raise SentBack("invitation_required") from None
    now = utcnow()
    user_id = uuid.uuid4()
    row = {
        "id": user_id,
        "email": email,
        "email_verified": email is not None and person.email_verified,
        "name": normalize_name(person.name),
        "created_at": now,
        "updated_at": now,
    }
    created = await conn.execute(insert_or_ignore(conn, users).values(**row))
    if not created.rowcount:  # the email was taken meanwhile
        raise SentBack("account_exists")
    await _link(conn, issuer, person.subject, user_id)
    try:
        await registration.admit(conn, invitations, user_id, invitation)
    except InvitationRequired:
        raise SentBack("invitation_required") from None
    return user_id


async def _verified(conn: Connection, user_id: object) -> bool:
    query = select(users.c.email_verified).where(users.c.id == user_id)
    return bool((await conn.execute(query)).scalar())


async def _link(conn: Connection, issuer: str, subject: str, user_id: uuid.UUID) -> None:
    """Link the provider's person to the account (a first sign-in racing this one may have
    linked it already: its link stands)."""
    values = {"issuer": issuer, "subject": subject, "user_id": user_id, "created_at": utcnow()}
    await conn.execute(insert_or_ignore(conn, oidc_identities).values(**values))


async def _new_code(conn: Connection, user_id: uuid.UUID) -> str:
    now = utcnow()
    await conn.execute(delete(oidc_codes).where(oidc_codes.c.expires_at <= now))
    code = secrets.token_urlsafe(32)
    await conn.execute(
        insert(oidc_codes).values(
            code_hash=_digest(code),
            user_id=user_id,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
    )
    return code


async def redeem(conn: Connection, code: str) -> Row | None:
    """The user a code signs in, once: the code is gone after (None: unknown, used or
    expired)."""
    spent = (
        await conn.execute(
            delete(oidc_codes)
            .where(oidc_codes.c.code_hash == _digest(code))
            .returning(oidc_codes.c.user_id, oidc_codes.c.expires_at)
        )
    ).first()
    if spent is None or spent.expires_at <= utcnow():
        return None
    return (await conn.execute(select(users).where(users.c.id == spent.user_id))).first()


async def unlink_all(conn: Connection, user_id: uuid.UUID) -> None:
    """Unlink every provider's person from the account (and drop its sign-ins waiting for
    their exchange): none of them opens it any more."""
    await conn.execute(delete(oidc_identities).where(oidc_identities.c.user_id == user_id))
    await conn.execute(delete(oidc_codes).where(oidc_codes.c.user_id == user_id))
