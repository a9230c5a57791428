"""Built-in accounts: registration, password login, and refresh-token rotation.

Refresh tokens follow OAuth 2.0 security best practice: each is used once and replaced by a
new one of the same family; presenting one that was already replaced means it leaked, so the
whole family is revoked and everyone holding one of its tokens must sign in again. The one
exception is a second exchange within REFRESH_REUSE_GRACE_SECONDS of the first (two tabs
refreshing at once): it gets new tokens of the same family too. A family with a revoked token
is revoked as a whole, so a token rotated in while the family was being revoked is refused.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, select, true, update

from todo_api.accounts import registration, sign_ins
from todo_api.accounts.passwords import PasswordHashing
from todo_api.accounts.registration import Invitations
from todo_api.accounts.schemas import Tokens, UserRead
from todo_api.accounts.sign_ins import Origin
from todo_api.auth import live_sign_ins
from todo_api.auth.errors import (
    EmailNotVerified,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    SignInRevoked,
    TokenExpired,
)
from todo_api.auth.tokens import mint_token
from todo_api.config import Settings
from todo_api.db import Connection, Database, Query, Row, insert_or_ignore
from todo_api.kit.ids import new_id, utcnow
from todo_api.tables.users import refresh_tokens, users


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def register(
    *,
    db: Database,
    settings: Settings,
    invitations: Invitations,
    row: dict[str, Any],
    invitation: str | None,
    made_from: Origin | None = None,
) -> Tokens:
    """Create the account (its row from `new_account`, whose password is hashed first, with no
    connection held: it is slow) and sign it in, in one transaction: a failure between the two
    leaves no account behind (whose retry would answer 409). The account joins its invitation's
    list in the same transaction."""
    async with db.transaction() as conn:
        created = await insert_account(conn, invitations, row, invitation)
        if created is None:
            raise EmailTaken
        return await issue_tokens(conn=conn, settings=settings, user=created, made_from=made_from)


async def new_account(
    passwords: PasswordHashing,
    settings: Settings,
    email: str,
    password: str,
    name: str | None,
    invitation: str | None,
) -> dict[str, Any]:
    """A new account's row, once REGISTRATION lets it be made (registration.py). The password
    is hashed here, before any connection is taken: it is slow."""
    registration.check_open(settings, invitation)
    password_hash = await passwords.hash(password)
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "email": email,
        "name": name,
        "password_hash": password_hash,
        "created_at": now,
        "updated_at": now,
    }


async def insert_account(
    conn: Connection, invitations: Invitations, row: dict[str, Any], invitation: str | None
) -> Row | None:
    """The account made from `row`, joined to its invitation's list; None when its email is
    taken."""
    statement = insert_or_ignore(conn, users).values(**row).returning(*users.c)
    created = (await conn.execute(statement)).first()
    if created is not None:
        await registration.admit(conn, invitations, created.id, invitation)
    return created


class SecondFactorNeeded(Exception):
    """The password is right, and the account has two-factor sign-in on: a code is needed
    (todo_api.accounts.two_factor)."""

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__("a second factor is needed")
        self.user_id = user_id


async def sign_in(
    *,
    db: Database,
    passwords: PasswordHashing,
    settings: Settings,
    email: str,
    password: str,
    made_from: Origin | None = None,
    require_verified: bool = False,
) -> Tokens:
    """New tokens for the account whose email and password these are; InvalidCredentials
    otherwise, after the same work either way. The password is checked with no connection
    held: one is taken again only to write the refresh token. `require_verified`: an account
    whose email is not confirmed is EmailNotVerified (after the password is checked)."""
    user = await check_password(db=db, passwords=passwords, email=email, password=password)
    if require_verified and not user.email_verified:
        raise EmailNotVerified
    if user.totp_enabled_at is not None:
        raise SecondFactorNeeded(uuid.UUID(str(user.id)))
    async with db.transaction() as conn:
        return await issue_tokens(conn=conn, settings=settings, user=user, made_from=made_from)


async def check_password(
    *, db: Database, passwords: PasswordHashing, email: str, password: str
) -> Row:
    """The account whose email and password these are; InvalidCredentials otherwise, after
    the same work either way (the password is checked with no connection held). A hash made
    at another cost than the settings say now is replaced by one at the current cost."""
    async with db.connection() as conn:
        user = (await conn.execute(select(users).where(func.lower(users.c.email) == email))).first()
    password_hash = user.password_hash if user is not None else None
    valid, new_hash = await passwords.verify_and_update(password, password_hash)
    if not valid or user is None:
        raise InvalidCredentials
    if new_hash is not None:  # made at another cost than the settings say now
        async with db.connection() as conn:
            await conn.execute(  # unless the password changed meanwhile
                update(users)
                .where(users.c.id == user.id, users.c.password_hash == password_hash)
                .values(password_hash=new_hash)
            )
    return user


# Built once: every page of the web app reads its user's row (compiling it was a tenth of a
# list page's CPU), with its sign-in's state when this process does not know it.
_USER = Query(select(users).where(users.c.id == bindparam("user_id")), any_plan=True)
_USER_AND_SIGN_IN = Query(
    select(users, live_sign_ins.STATE)
    .select_from(users.join(live_sign_ins.STATE, true()))
    .where(users.c.id == bindparam("user_id")),
    any_plan=True,
)


_ME = users.alias("me")  # named apart: no subquery of the statement it joins correlates with it
_ME_PREFIX = "me_"
_ME_LABELS = tuple((column.name, f"{_ME_PREFIX}{column.name}") for column in users.c)


def with_user_row(statement: Select[Any], *, sign_in: bool = False) -> Select[Any]:
    """`statement` (of one row) with the row of the user `user_id` beside its columns (each
    named `me_<column>`: `user_row_of`), and with `sign_in` the state of the sign-in
    `family_id` (live_sign_ins.STATE's columns); no row when there is no such user."""
    me = _ME.join(live_sign_ins.STATE, true()) if sign_in else _ME
    more = live_sign_ins.STATE.c if sign_in else ()
    return (
        statement.add_columns(
            *(column.label(f"{_ME_PREFIX}{column.name}") for column in _ME.c), *more
        )
        .select_from(me)
        .where(_ME.c.id == bindparam("user_id"))
    )


def user_row_of(row: dict[str, Any]) -> Row:
    """The user's row out of a row of `with_user_row` (its columns taken out of `row`), as
    `get_user` gives it."""
    return Row({name: row.pop(label) for name, label in _ME_LABELS})


async def get_user(*, conn: Connection, user_id: uuid.UUID) -> Row | None:
    return (await conn.execute(_USER, {"user_id": user_id})).first()


async def get_user_signed_in(
    *, conn: Connection, user_id: uuid.UUID, sign_in: uuid.UUID
) -> Row | None:
    """The user, if the sign-in still works: one statement for both."""
    row = (
        await conn.execute(_USER_AND_SIGN_IN, {"user_id": user_id, "family_id": sign_in})
    ).first()
    if row is None or not live_sign_ins.working(row):
        return None
    for column in live_sign_ins.STATE.c:  # the user's row, as get_user gives it
        del row[column.name]
    return row


async def change_me(*, conn: Connection, user_id: uuid.UUID, changes: dict[str, Any]) -> Row | None:
    """The user with `changes` made (name, timezone, language); their tasks keep their zones."""
    changed = (
        update(users)
        .where(users.c.id == user_id)
        .values(**changes, updated_at=utcnow())
        .returning(*users.c)
    )
    return (await conn.execute(changed)).first()


async def issue_tokens(
    *,
    conn: Connection,
    settings: Settings,
    user: Row,
    family_id: uuid.UUID | None = None,
    made_from: Origin | None = None,
) -> Tokens:
    """A new access token and a new refresh token (of a new family, a sign-in made from
    `made_from`, unless a family is given)."""
    refresh_token = secrets.token_urlsafe(32)
    now = utcnow()
    if family_id is None:
        family_id = new_id()
        await sign_ins.record(
            conn,
            sign_in=family_id,
            user_id=user.id,
            made_from=made_from or sign_ins.Origin(None, None),
        )
    await conn.execute(
        insert(refresh_tokens).values(
            id=new_id(),
            user_id=user.id,
            family_id=family_id,
            token_hash=_digest(refresh_token),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    access_token = mint_token(
        settings,
        subject=str(user.id),
        email=user.email,
        name=user.name,
        minutes=settings.access_token_minutes,
        sign_in=uuid.UUID(str(family_id)),
    )
    return Tokens(
        access_token=access_token,
        expires_in=settings.access_token_minutes * 60,
        refresh_token=refresh_token,
        user=UserRead.model_validate(user),
    )


_sibling = refresh_tokens.alias("sibling")
# No token of the same family is revoked (revoking a family revokes every token it has).
_family_live = ~(
    select(_sibling.c.id)
    .where(_sibling.c.family_id == refresh_tokens.c.family_id, _sibling.c.revoked_at.is_not(None))
    .exists()
)


async def rotate(*, conn: Connection, settings: Settings, refresh_token: str) -> Tokens:
    """Exchange a refresh token for new tokens: once, or again within the reuse grace."""
    digest = _digest(refresh_token)
    now = utcnow()
    usable = (
        refresh_tokens.c.token_hash == digest,
        refresh_tokens.c.revoked_at.is_(None),
        refresh_tokens.c.expires_at > now,
        _family_live,
    )
    async with conn.transaction():
        # The conditional UPDATE is the decision: of two racing exchanges only one matches.
        spent = (
            await conn.execute(
                update(refresh_tokens)
                .where(refresh_tokens.c.rotated_at.is_(None), *usable)
                .values(rotated_at=now)
                .returning(refresh_tokens.c.user_id, refresh_tokens.c.family_id)
            )
        ).first()
        grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)
        if spent is None and grace:
            # The loser of that race (or a second tab a moment later) still gets tokens.
            spent = (
                await conn.execute(
                    select(refresh_tokens.c.user_id, refresh_tokens.c.family_id).where(
                        refresh_tokens.c.rotated_at >= now - grace, *usable
                    )
                )
            ).first()
        if spent is not None:
            user = await get_user(conn=conn, user_id=spent.user_id)
            if user is not None:
                if settings.email_verification_mode == "required" and not user.email_verified:
                    raise EmailNotVerified  # rolled back: the token works once it is confirmed
                return await issue_tokens(
                    conn=conn, settings=settings, user=user, family_id=spent.family_id
                )
    known = (
        await conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == digest))
    ).first()
    if known is None or known.revoked_at is not None:
        raise InvalidToken("The refresh token is not valid")
    if known.rotated_at is not None:
        family_id = uuid.UUID(str(known.family_id))
        revoked = await revoke_family(conn=conn, family_id=family_id)
        raise SignInRevoked(family_id if revoked else None)
    if known.expires_at <= now:
        raise TokenExpired("The refresh token has expired")
    raise InvalidToken("The refresh token is not valid")  # its sign-in was revoked


async def revoke_family(*, conn: Connection, family_id: uuid.UUID) -> bool:
    """Revoke every token of the sign-in; whether any was left to revoke."""
    revoked = await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(revoked.rowcount)


async def logout(*, conn: Connection, user_id: uuid.UUID, refresh_token: str) -> uuid.UUID | None:
    """Revoke the session (the token's family) if the token is the caller's, and say which
    when it was still live; else nothing."""
    family_id = (
        await conn.execute(
            select(refresh_tokens.c.family_id).where(
                refresh_tokens.c.token_hash == _digest(refresh_token),
                refresh_tokens.c.user_id == user_id,
            )
        )
    ).scalar()
    if family_id is None or not await revoke_family(conn=conn, family_id=family_id):
        return None  # not the caller's, or ended already (and told then)
    return uuid.UUID(str(family_id))
