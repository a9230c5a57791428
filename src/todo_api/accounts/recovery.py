"""A forgotten password (a reset link by email) and a change of password.

Either ends every sign-in of the account (its refresh families revoked): the access tokens they
issued are refused from then on, on every process, and the streams they opened end
(todo_api.accounts.sign_ins). The caller tells the other processes with `KnownTokens.revoked` on
the ids these return, once the transaction has committed. A change of password signs the
caller in again (a new sign-in) in the same transaction.

A reset through the emailed link proves the mailbox: the email is verified from then on. If it
was not before, whoever held the account until then never proved it was theirs (someone may
have registered another person's email before they did), so everything made on it goes with
the sign-ins: personal access tokens, apps' grants (and their tokens), passkeys, linked
identity providers, two-factor, webhooks (which would go on sending the account's tasks
to whoever made them) and every other link still out. A verified account keeps them through a
reset, as through a change of password.
"""

import uuid

from sqlalchemy import delete, func, select, update

from todo_api.accounts import emails, links, oidc_accounts, service, sign_ins, two_factor, webauthn
from todo_api.accounts.links import Purpose
from todo_api.accounts.passwords import PasswordHashing
from todo_api.accounts.schemas import Tokens
from todo_api.accounts.sign_ins import Origin
from todo_api.auth import app_tokens, personal
from todo_api.auth.errors import InvalidCredentials
from todo_api.config import Settings
from todo_api.db import Connection, Database, Row
from todo_api.kit.catalogs import language_of
from todo_api.kit.ids import utcnow
from todo_api.tables.users import users
from todo_api.tables.webhooks import webhooks


async def account_by_email(conn: Connection, email: str) -> Row | None:
    """The built-in account (one with a password) that has this email."""
    query = select(users).where(
        func.lower(users.c.email) == email, users.c.password_hash.is_not(None)
    )
    return (await conn.execute(query)).first()


async def send_reset(mailer: emails.Mailer, email: str, accept_language: str | None = None) -> None:
    """Email a reset link to the account with this email, if there is one (run after the
    answer: todo_api.accounts.emails), in its language, else the request's (`accept_language`)."""
    async with mailer.db.transaction() as conn:
        user = await account_by_email(conn, email)
        if user is None:
            return
        token = await links.issue(conn, user_id=user.id, purpose=Purpose.reset)
    language = language_of(user.language, accept_language)
    await mailer.send_unasked(emails.reset_email(mailer.settings, user.email, token, language))


async def _set_password(
    conn: Connection, user_id: uuid.UUID, password_hash: str
) -> list[uuid.UUID]:
    """The new password, every reset link of the user used up, every sign-in ended (the ids)."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, updated_at=utcnow())
    )
    await links.spend_all(conn, user_id, Purpose.reset)
    return await sign_ins.revoke(conn, user_id)


async def reset(
    *, db: Database, passwords: PasswordHashing, token: str, password: str
) -> list[uuid.UUID]:
    """Set the password of the reset link's account and mark its email verified; the ids of
    the sign-ins and tokens it ended. The link is checked before the (slow) hashing, and used
    up after it, in the write's transaction."""
    async with db.connection() as conn:
        await links.peek(conn, token, Purpose.reset)
    password_hash = await passwords.hash(password)
    async with db.transaction() as conn:
        used = await links.redeem(conn, token, Purpose.reset)
        user_id = uuid.UUID(str(used.user_id))
        proven = await conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.email_verified.is_(False))
            .values(email_verified=True)
        )
        ended = await _set_password(conn, user_id, password_hash)
        if proven.rowcount:
            ended += await _remove_what_was_made(conn, user_id)
        return ended


async def _remove_what_was_made(conn: Connection, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Everything made on the account that lets someone in or sends its tasks out (webhooks,
    with their deliveries), by a holder who never proved the mailbox: the ids of the tokens
    every process must forget."""
    tokens = await personal.revoke_all(conn, user_id)
    _, apps = await app_tokens.revoke_grants(conn, app_tokens.grants_of(user_id))
    await webauthn.delete_all(conn, user_id)
    await oidc_accounts.unlink_all(conn, user_id)
    await two_factor.turn_off(conn, user_id)
    await links.spend_all(conn, user_id, *Purpose)
    await conn.execute(delete(webhooks).where(webhooks.c.user_id == user_id))
    return [*tokens, *apps]


async def change(
    *,
    db: Database,
    passwords: PasswordHashing,
    settings: Settings,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    made_from: Origin,
) -> tuple[Tokens, list[uuid.UUID], Row]:
    """Change the password (InvalidCredentials unless `current_password` is right): new tokens
    (a new sign-in), the sign-ins it ended, and the user's row."""
    async with db.connection() as conn:
        user = await service.get_user(conn=conn, user_id=user_id)
    password_hash = user.password_hash if user is not None else None
    if not await passwords.verify(current_password, password_hash) or user is None:
        raise InvalidCredentials("The current password is not right")
    new_hash = await passwords.hash(new_password)
    async with db.transaction() as conn:
        # Only over the password just checked: of two changes at once, the second fails.
        changed = await conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == password_hash)
            .values(updated_at=utcnow())
        )
        if not changed.rowcount:
            raise InvalidCredentials("The current password is not right")
        ended = await _set_password(conn, user_id, new_hash)
        tokens = await service.issue_tokens(
            conn=conn, settings=settings, user=user, made_from=made_from
        )
    return tokens, ended, user
