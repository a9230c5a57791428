"""A list passing to another of its people: its owner handing it over to a member
(`hand_over`), or a user leaving every list at once (their account deleted), the lists they
own staying whole for the others.

- A list they own with an editor passes to its longest-standing editor (earliest `joined_at`),
  who becomes its owner (`list.updated`); its tasks become the new owner's (a list's tasks are
  its owner's), each a `task.updated`; its activity has the user leaving (`member.left`), as
  the lists of others' have. A name the heir already has gets a number. A list they
  own with no editor (only viewers, or nobody) is deleted for everyone, as its owner deleting
  it would (`list.deleted`, a `task.deleted` per task).
- In the lists of others, the tasks that name them (`created_by`, `completed_by`,
  `assignee_id`) name nobody instead (`task.updated`), and each membership ends as a member
  leaving would (`list.member_removed`, and `member.left` in the list's activity).

The triggers that keep the change feed stamp each change and leave a tombstone for each
membership that ends, so the other members' feeds show all of it.
"""

import uuid
from typing import Any

from sqlalchemy import bindparam, case, delete, select, update

from todo_api.db import Connection, Query
from todo_api.kit import activity, events, ordering, quota
from todo_api.kit.access import Role
from todo_api.kit.events import EventType
from todo_api.kit.ids import utcnow
from todo_api.lists import service, sharing, tree
from todo_api.lists.errors import ListForbidden, MemberNotFound, OwnerStays
from todo_api.lists.schemas import list_body
from todo_api.tables import keys
from todo_api.tables.lists import ListRow, list_invitations, list_members, lists
from todo_api.tables.tasks import task_counts, tasks

_ME: Any = bindparam("user_id")
_OWNED = Query(select(lists.c.id).where(lists.c.user_id == _ME).order_by(lists.c.id))
# The heir of a list: its longest-standing editor.
_HEIR = Query(
    select(list_members.c.user_id)
    .where(
        list_members.c.list_id == bindparam("list_id"),
        list_members.c.role == str(Role.editor),
    )
    .order_by(list_members.c.joined_at, list_members.c.user_id)
    .limit(1)
)
_MEMBERSHIPS = Query(
    select(list_members.c.list_id)
    .where(list_members.c.user_id == _ME, list_members.c.role != str(Role.owner))
    .order_by(list_members.c.list_id)
)
_NAME = Query(select(lists.c.name).where(lists.c.id == bindparam("list_id")))
_PARENT = Query(select(lists.c.parent_id).where(lists.c.id == bindparam("list_id")))
_NAME_KEYS = Query(select(lists.c.name_key).where(lists.c.user_id == bindparam("heir")))
_HAND_OVER = Query(
    update(lists)
    .where(lists.c.id == bindparam("list_id"))
    .values(
        user_id=bindparam("heir"),
        name=bindparam("name"),
        name_key=bindparam("name_key"),
        parent_id=None,
        version=lists.c.version + 1,
        updated_at=bindparam("now"),
        updated_by=bindparam("user_id"),  # the one leaving passed it on
    )
)
_CROWN = Query(
    update(list_members)
    .where(
        list_members.c.list_id == bindparam("list_id"),
        list_members.c.user_id == bindparam("heir"),
    )
    .values(role=str(Role.owner))
)
_RECOUNT = Query(
    update(task_counts)
    .where(task_counts.c.list_id == bindparam("list_id"))
    .values(user_id=bindparam("heir"))
)
# The owner handing the list over stays on it as an editor.
_STEP_DOWN = Query(
    update(list_members)
    .where(list_members.c.list_id == bindparam("list_id"), list_members.c.user_id == _ME)
    .values(role=str(Role.editor))
)
# A list handed over by its owner: its tasks are the heir's (a list's tasks are its owner's).
_PASS_TASKS = Query(
    update(tasks)
    .where(tasks.c.list_id == bindparam("list_id"))
    .values(
        user_id=bindparam("heir"),
        changed_by=_ME,
        version=tasks.c.version + 1,
        updated_at=bindparam("now"),
    )
    .returning(*tasks.c)
)
_UNINVITE = Query(
    delete(list_invitations).where(list_invitations.c.list_id == bindparam("list_id"))
)
_LEAVE = Query(
    delete(list_members).where(
        list_members.c.list_id == bindparam("list_id"), list_members.c.user_id == _ME
    )
)


def _not_me(column: Any) -> Any:
    """The column, null where it names the user."""
    return case((column == _ME, None), else_=column)


_FORGET_ME = {
    "created_by": _not_me(tasks.c.created_by),
    "completed_by": _not_me(tasks.c.completed_by),
    "assignee_id": _not_me(tasks.c.assignee_id),
    "changed_by": None,
    "version": tasks.c.version + 1,
    "updated_at": bindparam("now"),
}
_NAMES_ME = (
    (tasks.c.created_by == _ME) | (tasks.c.completed_by == _ME) | (tasks.c.assignee_id == _ME)
)
# A list handed over: its tasks are the heir's, and name the user no more.
_HAND_OVER_TASKS = Query(
    update(tasks)
    .where(tasks.c.list_id == bindparam("list_id"))
    .values(user_id=bindparam("heir"), **_FORGET_ME)
    .returning(*tasks.c)
)
# In a list of someone else's: the tasks that name the user name nobody.
_FORGET_IN_LIST = Query(
    update(tasks)
    .where(tasks.c.list_id == bindparam("list_id"), _NAMES_ME)
    .values(**_FORGET_ME)
    .returning(*tasks.c)
)


async def hand_over(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, heir: uuid.UUID
) -> ListRow:
    """The owner makes a member the list's owner and stays on it as an editor (a name the heir
    has already gets a number); the list as the former owner now sees it. ListNotFound for
    someone who is no member, ListForbidden for a member who is not the owner,
    MemberNotFound for an heir who is not a member, OwnerStays for the owner themself."""
    now = utcnow()
    params = {"user_id": user_id, "list_id": list_id, "heir": heir, "now": now}
    async with conn.transaction():
        # The heir's turn (their lists' names) and the owner's, taken at once in id order.
        await ordering.serialise(conn, heir, lists=[list_id])
        people = {
            row["user_id"]: row["role"] for row in await sharing.members(conn, user_id, list_id)
        }
        if people.get(user_id) != str(Role.owner):
            raise ListForbidden("Only the list's owner may hand it over")
        if heir == user_id:
            raise OwnerStays
        if heir not in people:
            raise MemberNotFound
        await _crown(conn, params)
        await conn.execute(_STEP_DOWN, params)
        await conn.execute(_RECOUNT, params)
        watchers = await events.watchers_of_list(conn, list_id)
        await _handed(conn, user_id, list_id, heir, watchers)
        for member, before, after in (
            (heir, people[heir], Role.owner),
            (user_id, Role.owner, Role.editor),
        ):
            await activity.record(
                conn,
                "member.role_changed",
                actor_id=user_id,
                list_id=list_id,
                changes={"user_id": [member, member], "role": [str(before), str(after)]},
            )
        changed = await conn.execute(_PASS_TASKS, params)
        await quota.list_handed_over(conn, list_id, heir)  # raising undoes it
        await _updated(conn, user_id, list_id, changed.rows, watchers)
        return await service.get_list(conn, user_id, list_id)


async def leave_every_list(conn: Connection, user_id: uuid.UUID) -> None:
    """The user leaves every list (in the caller's transaction, in the user's turn)."""
    params = {"user_id": user_id}
    for owned in (await conn.execute(_OWNED, params)).rows:
        list_id = owned["id"]
        heir = (await conn.execute(_HEIR, {"list_id": list_id})).scalar()
        if heir is None:
            await service.delete_list(conn, user_id, list_id)
        else:
            await _hand_over(conn, user_id, list_id, heir)
    for membership in (await conn.execute(_MEMBERSHIPS, params)).rows:
        list_id = membership["list_id"]
        changed = await conn.execute(
            _FORGET_IN_LIST, {**params, "list_id": list_id, "now": utcnow()}
        )
        await _updated(conn, user_id, list_id, changed.rows)
        # The member leaving, as `DELETE .../members/{me}` does it: `list.member_removed`.
        await sharing.remove(conn, user_id, list_id, user_id)


async def _hand_over(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, heir: uuid.UUID
) -> None:
    """The list becomes the heir's (its owner, its tasks' and counts' user), the user's
    membership ends, and the invitation links they made go."""
    now = utcnow()
    params = {"user_id": user_id, "list_id": list_id, "heir": heir, "now": now}
    await ordering.serialise(conn, heir)  # the heir's turn: their lists' names and order
    await _crown(conn, params)
    await conn.execute(_RECOUNT, params)
    await conn.execute(_UNINVITE, params)
    watchers = await events.watchers_of_list(conn, list_id)
    await conn.execute(_LEAVE, params)
    await _handed(conn, user_id, list_id, heir, watchers)
    member = {"list_id": list_id, "user_id": user_id, "role": str(Role.owner)}
    await events.record(
        conn, EventType.list_member_removed, actor_id=user_id, data=member, watchers=watchers
    )
    await activity.record(
        conn,
        "member.left",
        actor_id=user_id,
        list_id=list_id,
        changes={"user_id": [user_id, None], "role": [str(Role.owner), None]},
    )
    changed = await conn.execute(_HAND_OVER_TASKS, params)
    await _updated(conn, user_id, list_id, changed.rows, watchers)


async def _crown(conn: Connection, params: dict[str, Any]) -> None:
    """The list (`list_id`) becomes the heir's (`heir`): they own it, under its name or, if they
    have a list of that name already, the name with a number."""
    name = (await conn.execute(_NAME, params)).scalar()
    taken = {row["name_key"] for row in await conn.execute(_NAME_KEYS, params)}
    name = service.free_name(name, taken)
    # Lists inside lists are one owner's: the list leaves its parent (staying the former
    # owner's), and the lists inside it, staying theirs too, move up to where it was.
    parent_id = (await conn.execute(_PARENT, params)).scalar()
    await conn.execute(tree.LIFT_CHILDREN, {**params, "parent_id": parent_id})
    await conn.execute(_HAND_OVER, {**params, "name": name, "name_key": keys.name_key(name)})
    await conn.execute(_CROWN, params)


async def _handed(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    heir: uuid.UUID,
    watchers: list[events.Watcher],
) -> None:
    """`list.updated` for the list handed over, as its new owner sees it."""
    handed = await service.get_list(conn, heir, list_id)
    await events.record(
        conn,
        EventType.list_updated,
        actor_id=user_id,
        data=lambda: list_body(handed),
        watchers=watchers,
    )


async def _updated(
    conn: Connection,
    user_id: uuid.UUID,
    list_id: uuid.UUID,
    rows: list[Any],
    watchers: list[events.Watcher] | None = None,
) -> None:
    """A `task.updated` for each changed task, to those who see the list."""
    if not rows:
        return
    if watchers is None:
        watchers = await events.watchers_of_list(conn, list_id)
    await events.record_each(
        conn,
        EventType.task_updated,
        actor_id=user_id,
        data=[events.task_data(row) for row in rows],
        watchers=watchers,
    )
