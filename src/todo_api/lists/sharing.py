"""The people of a shared list: invitation links, accepting one, members and their roles.

Every statement holds the access rule for the caller (the `user_id` parameter) in its WHERE
clause: what only the owner may do names `lists.user_id = :user_id` (`access.owns_list`),
what members may do needs the caller's membership (`access.can_see_list`). When one matches
nothing, `_explain` asks once what the list is to the caller: not found (no member), 403 (a
member, not the owner), or, for its owner, the thing named is not there.

An invitation's token is 256 random bits, shown once; only its SHA-256 is kept, and a token is
found by an index lookup of that hash, so how long an answer takes does not depend on how much
of a guess was right. The token is the credential: whoever holds it may join.

A change of membership moves the list's version on ("touch"), so that every member's change
feed carries its new `member_count`. Lock order, on PostgreSQL, is deleting a list's: its tasks
(parents first), the list, then its memberships (the cascade), so that neither waits on the
other in a circle.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Uuid,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    literal_column,
    or_,
    select,
    update,
)

from todo_api.db import Connection, IntegrityViolation, Query, Row
from todo_api.db.types import UTCDateTime
from todo_api.kit import access, activity, events, ordering
from todo_api.kit.access import Role
from todo_api.kit.errors import ListNotFound
from todo_api.kit.events import EventType, Watcher
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists import service
from todo_api.lists.errors import (
    InvitationNotFound,
    ListForbidden,
    MemberNotFound,
    OwnerStays,
)
from todo_api.lists.sharing_schemas import InvitationCreate
from todo_api.tables.lists import ListRow, list_invitations, list_members, lists
from todo_api.tables.tasks import tasks
from todo_api.tables.users import users

TOKEN_BYTES = 32

# Written into the SQL, as kit.access writes roles.
_OWNER: ColumnElement[str] = literal_column(f"'{Role.owner}'")
# The list named by the `list_id` parameter, if the caller owns it.
_OWNED = exists().where(lists.c.id == bindparam("list_id"), access.owns_list())

# What the list is to the caller: no row (not a member), or whether they own it.
_STANDING = Query(
    select(access.owns_list().label("owns")).where(
        lists.c.id == bindparam("list_id"), access.can_see_list()
    )
)

# --- invitations ----------------------------------------------------------------------------

_INVITATION_COLUMNS = ("id", "list_id", "token_hash", "role", "created_at", "expires_at")
CREATE_INVITATION = Query(
    insert(list_invitations).from_select(
        _INVITATION_COLUMNS,
        select(
            bindparam("id", type_=Uuid),
            lists.c.id,
            bindparam("token_hash", type_=String),
            bindparam("role", type_=String),
            bindparam("now", type_=UTCDateTime),
            bindparam("expires_at", type_=UTCDateTime),
        ).where(lists.c.id == bindparam("list_id"), access.owns_list()),
    )
)
# The links not yet expired, newest first (revoked ones are deleted).
INVITATIONS = Query(
    select(
        list_invitations.c.id,
        list_invitations.c.role,
        list_invitations.c.expires_at,
        list_invitations.c.created_at,
    )
    .where(
        list_invitations.c.list_id == bindparam("list_id"),
        list_invitations.c.expires_at > bindparam("now"),
        _OWNED,
    )
    .order_by(list_invitations.c.created_at.desc(), list_invitations.c.id.desc())
)
REVOKE = Query(
    delete(list_invitations).where(
        list_invitations.c.id == bindparam("invitation_id"),
        list_invitations.c.list_id == bindparam("list_id"),
        _OWNED,
    )
)
# No rule of the caller's: the token is the credential.
BY_TOKEN = Query(
    select(list_invitations.c.list_id, list_invitations.c.role).where(
        list_invitations.c.token_hash == bindparam("token_hash"),
        list_invitations.c.expires_at > bindparam("now"),
    )
)
# What a link invites to, for the page that offers to join: the list and its owner.
INVITED_TO = Query(
    select(
        lists.c.id.label("list_id"),
        lists.c.name,
        list_invitations.c.role,
        users.c.name.label("owner_name"),
        users.c.email.label("owner_email"),
    )
    .select_from(
        list_invitations.join(lists, lists.c.id == list_invitations.c.list_id).join(
            users, users.c.id == lists.c.user_id
        )
    )
    .where(
        list_invitations.c.token_hash == bindparam("token_hash"),
        list_invitations.c.expires_at > bindparam("now"),
    )
)

# --- members --------------------------------------------------------------------------------

# The caller's membership of the list named by `list_id`.
_MEMBER_OF = access.member_of(bindparam("list_id"))
_PEOPLE = list_members.alias("people")
_MEMBERS = (
    select(
        _PEOPLE.c.user_id,
        users.c.email,
        users.c.name,
        _PEOPLE.c.role,
        _PEOPLE.c.joined_at,
    )
    .select_from(_PEOPLE.join(users, users.c.id == _PEOPLE.c.user_id))
    .where(_PEOPLE.c.list_id == bindparam("list_id"), _MEMBER_OF)
)
# The owner first, then by when they joined.
MEMBERS = Query(_MEMBERS.order_by(_PEOPLE.c.role != _OWNER, _PEOPLE.c.joined_at, _PEOPLE.c.user_id))
MEMBER = Query(_MEMBERS.where(_PEOPLE.c.user_id == bindparam("member_id")))


def _removable() -> list[ColumnElement[bool]]:
    """The membership named by `member_id`, if the caller may end it: the owner ends anyone's
    but their own, a member their own."""
    return [
        list_members.c.list_id == bindparam("list_id"),
        list_members.c.user_id == bindparam("member_id"),
        list_members.c.role != _OWNER,
        or_(list_members.c.user_id == access.caller(), _OWNED),
    ]


CHANGE_ROLE = Query(
    update(list_members)
    .where(
        list_members.c.list_id == bindparam("list_id"),
        list_members.c.user_id == bindparam("member_id"),
        list_members.c.role != _OWNER,
        _OWNED,
    )
    .values(role=bindparam("role"))
)
REMOVE = Query(delete(list_members).where(*_removable()).returning(list_members.c.role))
# The tasks a removal unassigns, locked in the order deleting the list locks them.
_ASSIGNED = and_(
    tasks.c.list_id == bindparam("list_id"), tasks.c.assignee_id == bindparam("member_id")
)
LOCK_ASSIGNED = Query(
    select(tasks.c.id)
    .where(_ASSIGNED, access.can_see_task())
    .order_by(tasks.c.parent_id.is_not(None), tasks.c.id)
    .with_for_update()
)
# After the membership ended, in its transaction; stamped for the change feed by trigger.
UNASSIGN = Query(
    update(tasks)
    .where(_ASSIGNED)
    .values(
        assignee_id=None,
        changed_by=bindparam("actor_id", type_=tasks.c.changed_by.type),
        updated_at=bindparam("now"),
        version=tasks.c.version + 1,
    )
    .returning(*tasks.c)
)
# A list whose people changed, if the caller is (still) one of them.
TOUCH = Query(
    update(lists)
    .where(lists.c.id == bindparam("list_id"), access.can_see_list())
    .values(
        version=lists.c.version + 1,
        updated_at=bindparam("now"),
        updated_by=bindparam("user_id", type_=lists.c.updated_by.type),
    )
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _explain(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, action: str) -> None:
    """After a statement holding the access rule matched nothing: ListNotFound if the caller
    is no member of the list, ListForbidden if they are one but not its owner; nothing for
    its owner (what the statement named is not there)."""
    row = (await conn.execute(_STANDING, {"list_id": list_id, "user_id": user_id})).first()
    if row is None:
        raise ListNotFound
    if not row.owns:
        raise ListForbidden(f"Only the list's owner may {action}")


async def _touch(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, now: datetime) -> None:
    """Move the list's version on; ListNotFound if the caller is no member of it."""
    params = {"list_id": list_id, "user_id": user_id, "now": now}
    if not (await conn.execute(TOUCH, params)).rowcount:
        raise ListNotFound


# --- invitations ----------------------------------------------------------------------------


async def create_invitation(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, data: InvitationCreate
) -> dict[str, Any]:
    """A new link to the list, with its token (the only time it is seen)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    row = {
        "id": new_id(),
        "token": token,
        "role": data.role,
        "expires_at": now + timedelta(days=data.expires_in_days),
        "created_at": now,
    }
    params = {**row, "list_id": list_id, "user_id": user_id, "token_hash": token_hash(token)}
    if not (await conn.execute(CREATE_INVITATION, {**params, "now": now})).rowcount:
        await _explain(conn, user_id, list_id, "invite people")
        raise ListNotFound  # not reached: the owner's insert always matches
    return row


async def invitations(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> list[Row]:
    """The list's links not yet expired, newest first."""
    params = {"list_id": list_id, "user_id": user_id, "now": utcnow()}
    rows = (await conn.execute(INVITATIONS, params)).rows
    if not rows:
        await _explain(conn, user_id, list_id, "see its invitations")
    return rows


async def revoke_invitation(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """Delete the link: its token names nothing from now on."""
    params = {"list_id": list_id, "user_id": user_id, "invitation_id": invitation_id}
    if not (await conn.execute(REVOKE, params)).rowcount:
        await _explain(conn, user_id, list_id, "revoke invitations")
        raise InvitationNotFound


async def accept(conn: Connection, user_id: uuid.UUID, token: str) -> ListRow:
    """Make the caller a member of the token's list, in the role it gives, the list last among
    theirs; a member already (the owner included) stays as they are. The list as the caller
    now sees it; InvitationNotFound for a token unknown, expired or revoked."""
    now = utcnow()
    async with conn.transaction():
        params = {"token_hash": token_hash(token), "now": now}
        invitation = (await conn.execute(BY_TOKEN, params)).first()
        if invitation is None:
            raise InvitationNotFound
        list_id = invitation.list_id
        await ordering.serialise(conn, user_id)  # placing a list among theirs, as move does
        try:
            async with conn.savepoint():
                await service.join(conn, user_id, list_id, Role(invitation.role), now)
        except IntegrityViolation:
            pass  # a member already: nothing changes (or the list just went: not found below)
        else:
            await _touch(conn, user_id, list_id, now)
            await _announce_member(
                conn, EventType.list_member_added, user_id, list_id, user_id, invitation.role
            )
            await activity.record(
                conn,
                "member.joined",
                actor_id=user_id,
                list_id=list_id,
                changes={"user_id": [None, user_id], "role": [None, invitation.role]},
            )
        return await service.get_list(conn, user_id, list_id)


async def invited_to(conn: Connection, token: str) -> Row:
    """The list a token invites to, with its owner's name and email and the role it gives;
    InvitationNotFound for a token unknown, expired or revoked."""
    params = {"token_hash": token_hash(token), "now": utcnow()}
    row = (await conn.execute(INVITED_TO, params)).first()
    if row is None:
        raise InvitationNotFound
    return row


async def join_invited(conn: Connection, user_id: uuid.UUID, token: str) -> bool:
    """`accept` for an account being created (REGISTRATION=invite): whether the token was
    good (the account then a member of its list)."""
    try:
        await accept(conn, user_id, token)
    except InvitationNotFound:
        return False
    return True


async def _announce_member(
    conn: Connection,
    kind: EventType,
    actor_id: uuid.UUID,
    list_id: uuid.UUID,
    member_id: uuid.UUID,
    role: str,
    watchers: list[Watcher] | None = None,
) -> None:
    """A member event for the list's members (by default, as they are now)."""
    if watchers is None:
        watchers = await events.watchers_of_list(conn, list_id)
    data = {"list_id": list_id, "user_id": member_id, "role": role}
    await events.record(conn, kind, actor_id=actor_id, data=data, watchers=watchers)


# --- members --------------------------------------------------------------------------------


async def members(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID) -> list[Row]:
    """Everyone with access to the list, the owner first, then by when they joined."""
    rows = (await conn.execute(MEMBERS, {"list_id": list_id, "user_id": user_id})).rows
    if not rows:  # the owner is always one: the caller is not
        raise ListNotFound
    return rows


async def change_role(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, member_id: uuid.UUID, role: str
) -> Row:
    """Give a member (not the owner) another role; the member as listed."""
    params = {"list_id": list_id, "user_id": user_id, "member_id": member_id, "role": role}
    async with conn.transaction():
        await _touch(conn, user_id, list_id, utcnow())
        before = (await conn.execute(MEMBER, params)).first()
        if not (await conn.execute(CHANGE_ROLE, params)).rowcount:
            await _explain(conn, user_id, list_id, "change its members' roles")
            raise OwnerStays if member_id == user_id else MemberNotFound
        if before is not None and before["role"] != role:
            await activity.record(
                conn,
                "member.role_changed",
                actor_id=user_id,
                list_id=list_id,
                changes={"user_id": [member_id, member_id], "role": [before["role"], role]},
            )
        return (await conn.execute(MEMBER, params)).one()


async def remove(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    """End a membership: the owner removes a member, a member leaves. The member is
    unassigned from the list's tasks in the same transaction (each a `task.updated`, as the
    same change made through the task would be)."""
    now = utcnow()
    params = {
        "list_id": list_id,
        "user_id": user_id,
        "member_id": member_id,
        "now": now,
        "actor_id": user_id,
    }
    async with conn.transaction():
        # In the list owner's turn, as writes that put tasks in it are: one under way ends
        # before the membership does, or checks it after (and its task arrives, in the feed,
        # before this end, so the member's feed takes it away).
        await ordering.serialise(conn, user_id, lists=[list_id])
        if conn.name == "postgresql":  # SQLite's write transactions take turns
            await conn.execute(LOCK_ASSIGNED, params)
        await _touch(conn, user_id, list_id, now)
        watchers = await events.watchers_of_list(conn, list_id)  # the member leaving included
        removed = (await conn.execute(REMOVE, params)).first()
        if removed is None:
            await _explain(conn, user_id, list_id, "remove other members")
            raise OwnerStays if member_id == user_id else MemberNotFound
        unassigned = (await conn.execute(UNASSIGN, params)).rows
        if unassigned:  # each a `task.updated`, to those who still see it
            still = await events.watchers_of_list(conn, list_id)
            for task in sorted(unassigned, key=lambda row: row["id"]):
                data = events.task_data(task)
                await events.record(
                    conn, EventType.task_updated, actor_id=user_id, data=data, watchers=still
                )
        await _announce_member(
            conn,
            EventType.list_member_removed,
            user_id,
            list_id,
            member_id,
            removed["role"],
            watchers,
        )
        await activity.record(
            conn,
            "member.left",
            actor_id=user_id,
            list_id=list_id,
            changes={"user_id": [member_id, None], "role": [removed["role"], None]},
        )
