"""Sections: named parts of a list, in the list's own order (todo_api.kit.ordering, as a
user's lists are moved). Who may change a list's tasks (its owner and editors) may change its
sections; its viewers read them; anyone else finds neither list nor section.

Names are unique in their list ignoring case (the unique index's refusal becomes
SectionNameTaken), and a list has at most SECTIONS_MAX_COUNT: the count is read in the list
owner's reordering turn, which every create takes, so two creates at once cannot both pass it.
Deleting a section deletes its tasks (each a tombstone in the change feed, by the tasks'
triggers), or with `keep_tasks` leaves them in the list without a section.

Each change records its webhook event (`section.created|updated|deleted`) for the list's
members in its own transaction, as a list's do."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy import bindparam, delete, func, null, select, update

from todo_api.db import Connection, IntegrityViolation, Query, insert_bound
from todo_api.kit import access, activity, events, kept_tasks, ordering
from todo_api.kit.errors import InvalidField, ListNotFound
from todo_api.kit.events import EventType
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists.errors import (
    SectionForbidden,
    SectionNameTaken,
    SectionNotFound,
    TooManySections,
)
from todo_api.lists.section_schemas import SectionCreate, SectionUpdate, section_body
from todo_api.tables import keys
from todo_api.tables.sections import SECTIONS_MAX_COUNT, SectionRow, sections
from todo_api.tables.tasks import tasks

_IN_LIST = (sections.c.list_id == bindparam("list_id"),)
ALL = Query(
    select(sections)
    .where(*_IN_LIST)
    .order_by(sections.c.list_id, sections.c.position, sections.c.id)
)
# The section, if the caller sees its list, and whether they may change it.
ONE = Query(
    select(sections, access.member_of(sections.c.list_id, *access.WRITERS).label("writable")).where(
        sections.c.id == bindparam("section_id"), access.member_of(sections.c.list_id)
    )
)
COUNT = Query(select(func.count()).select_from(sections).where(*_IN_LIST))
LAST = Query(select(func.max(sections.c.position)).where(*_IN_LIST))
INSERT = Query(
    insert_bound(
        sections,
        *("id", "list_id", "name", "name_key", "position"),
        version=1,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
DELETE = Query(delete(sections).where(sections.c.id == bindparam("section_id")))
# The section's tasks, parents first: the order in which completing or deleting a parent locks
# them (as deleting a list locks its tasks).
LOCK_TASKS = Query(
    select(tasks.c.id)
    .where(tasks.c.section_id == bindparam("section_id"))
    .order_by(tasks.c.parent_id.is_not(None), tasks.c.id)
    .with_for_update()
)
TASK_IDS = Query(select(tasks.c.id).where(tasks.c.section_id == bindparam("section_id")))
# Its tasks (a subtask is in its parent's section, and is kept with it), kept for `restore`.
TOP_TASK_IDS = Query(
    select(tasks.c.id).where(
        tasks.c.section_id == bindparam("section_id"), tasks.c.parent_id.is_(None)
    )
)
DELETE_TASKS = Query(delete(tasks).where(tasks.c.section_id == bindparam("section_id")))
# A section renamed: its tasks' calendar objects name it (CalDAV's X-TODO-API-SECTION), so each
# is a new version, which CalDAV clients fetch again.
RENAMED_TASKS = Query(
    update(tasks)
    .where(tasks.c.section_id == bindparam("section_id"))
    .values(version=tasks.c.version + 1)
)
# Tasks kept when their section goes: in the list, without a section.
RELEASE_TASKS = Query(
    update(tasks)
    .where(tasks.c.section_id == bindparam("section_id"))
    .values(
        section_id=null(),
        version=tasks.c.version + 1,
        updated_at=bindparam("now"),
        changed_by=bindparam("user_id"),
    )
)


async def _list(conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, *, write: bool) -> None:
    """Raises ListNotFound when the caller cannot see the list, SectionForbidden when `write`
    and they may not change its tasks."""
    found = await access.list_for_tasks(conn, user_id, list_id)
    if found is None:
        raise ListNotFound
    if write and not found[1]:
        raise SectionForbidden


async def _section(
    conn: Connection, user_id: uuid.UUID, section_id: uuid.UUID, *, write: bool
) -> SectionRow:
    row = (await conn.execute(ONE, {"section_id": section_id, "user_id": user_id})).first()
    if row is None:
        raise SectionNotFound
    found = dict(row)
    if not found.pop("writable") and write:
        raise SectionForbidden
    return cast(SectionRow, found)


async def list_sections(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID
) -> list[SectionRow]:
    """The list's sections in its order; raises ListNotFound."""
    await _list(conn, user_id, list_id, write=False)
    return cast(list[SectionRow], (await conn.execute(ALL, {"list_id": list_id})).rows)


async def get_section(
    conn: Connection, user_id: uuid.UUID, section_id: uuid.UUID, *, changing: bool = False
) -> SectionRow:
    """The section; raises SectionNotFound, or with `changing` (for a page that offers to
    rename, move or delete it) SectionForbidden as those changes would."""
    return await _section(conn, user_id, section_id, write=changing)


async def create_section(
    conn: Connection, user_id: uuid.UUID, list_id: uuid.UUID, data: SectionCreate
) -> SectionRow:
    """A new section, last in the list. Raises ListNotFound, SectionForbidden,
    SectionNameTaken or TooManySections."""
    now = utcnow()
    async with conn.transaction():
        await ordering.serialise(conn, user_id, lists=[list_id])
        await _list(conn, user_id, list_id, write=True)
        if (await conn.execute(COUNT, {"list_id": list_id})).scalar() >= SECTIONS_MAX_COUNT:
            raise TooManySections
        last = (await conn.execute(LAST, {"list_id": list_id})).scalar()
        row: dict[str, Any] = {
            "id": new_id(),
            "list_id": list_id,
            "name": data.name,
            "name_key": keys.name_key(data.name),
            **ordering.new_last(last, now),
        }
        async with _unique_name(conn):
            await conn.execute(INSERT, {**row, "now": now})
        await _record(conn, EventType.section_created, user_id, row)
        await _activity(conn, "section.created", user_id, row, {"name": [None, data.name]})
    return cast(SectionRow, row)


async def update_section(
    conn: Connection, user_id: uuid.UUID, section_id: uuid.UUID, data: SectionUpdate
) -> SectionRow:
    """The renamed section (its tasks a version on, when the name changed: their calendar
    objects name it); raises SectionNotFound, SectionForbidden or SectionNameTaken."""
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    values["name_key"] = keys.name_key(values["name"])
    values["updated_at"] = utcnow()
    statement = (
        update(sections)
        .where(sections.c.id == section_id)
        .values(**values, version=sections.c.version + 1)
        .returning(*sections.c)
    )
    async with conn.transaction():
        before = await _section(conn, user_id, section_id, write=True)
        async with _unique_name(conn):
            row = (await conn.execute(statement)).first()
        if row is None:
            raise SectionNotFound
        changed = cast(SectionRow, dict(row))
        if changed["name"] != before["name"]:
            await conn.execute(RENAMED_TASKS, {"section_id": section_id})
            renamed = {"name": [before["name"], changed["name"]]}
            await _activity(conn, "section.updated", user_id, changed, renamed)
        await _record(conn, EventType.section_updated, user_id, changed)
    return changed


async def delete_section(
    conn: Connection, user_id: uuid.UUID, section_id: uuid.UUID, *, keep_tasks: bool = False
) -> None:
    """Delete the section and its tasks (each leaving a tombstone, and kept for `restore` as a
    task deleted alone is), or with `keep_tasks` leave
    them in the list without a section. In the list owner's reordering turn, as deleting a
    list: the tasks are locked parents first, in the order completing or deleting one locks
    them. Raises SectionNotFound or SectionForbidden."""
    params = {"section_id": section_id, "user_id": user_id, "now": utcnow()}
    async with conn.transaction():
        found = await _section(conn, user_id, section_id, write=False)
        await ordering.serialise(conn, user_id, lists=[found["list_id"]])
        await _section(conn, user_id, section_id, write=True)
        watchers = await events.watchers_of_list(conn, found["list_id"])
        if keep_tasks:
            await conn.execute(RELEASE_TASKS, params)
        else:
            if conn.name == "postgresql":  # SQLite's write transactions take turns
                await conn.execute(LOCK_TASKS, params)
            held = (await conn.execute(TASK_IDS, params)).rows if watchers else []
            # Each of its tasks can be restored, as one deleted alone can.
            top = (await conn.execute(TOP_TASK_IDS, params)).rows
            await kept_tasks.keep_each(conn, [row["id"] for row in top], user_id)
            await conn.execute(DELETE_TASKS, params)
            for row in held:
                await events.record(
                    conn,
                    EventType.task_deleted,
                    actor_id=user_id,
                    data={"id": row["id"]},
                    watchers=watchers,
                )
        await conn.execute(DELETE, params)
        await _activity(conn, "section.deleted", user_id, found, {"name": [found["name"], None]})
        await events.record(
            conn,
            EventType.section_deleted,
            actor_id=user_id,
            data={"id": section_id, "list_id": found["list_id"]},
            watchers=watchers,
        )


async def move_section(
    conn: Connection,
    user_id: uuid.UUID,
    section_id: uuid.UUID,
    *,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
) -> SectionRow:
    """Place the section right before or after another of its list's (neither: last). Raises
    SectionNotFound, SectionForbidden, or InvalidField naming `before` or `after` when that
    names no other section of the list."""
    async with conn.transaction():
        moving = await _section(conn, user_id, section_id, write=False)
        list_id = moving["list_id"]
        await ordering.serialise(conn, user_id, lists=[list_id])
        await _section(conn, user_id, section_id, write=True)
        anchors: dict[str, ordering.Place] = {}
        for field, anchor_id in (("before", before), ("after", after)):
            if anchor_id is None:
                continue
            if anchor_id == section_id:
                raise InvalidField(field, "a section cannot be placed next to itself")
            try:
                anchor = await _section(conn, user_id, anchor_id, write=False)
            except SectionNotFound:
                anchor = None
            if anchor is None or anchor["list_id"] != list_id:
                raise InvalidField(field, "names no other section of the list")
            anchors[field] = ordering.Place(anchor["position"], anchor_id)
        group = ordering.Group(sections, (sections.c.list_id == list_id,), (sections.c.list_id,))
        row = await ordering.moved(conn, group, section_id, **anchors, now=utcnow())
        changed = cast(SectionRow, row)
        await _record(conn, EventType.section_updated, user_id, changed)
    return changed


async def _record(
    conn: Connection, kind: EventType, user_id: uuid.UUID, row: dict[str, Any] | SectionRow
) -> None:
    watchers = await events.watchers_of_list(conn, row["list_id"])
    await events.record(
        conn, kind, actor_id=user_id, data=lambda: section_body(row), watchers=watchers
    )


def _section_pair(action: str, section_id: uuid.UUID) -> list[uuid.UUID | None]:
    """An item's `section_id` as [old, new]: made, renamed, deleted."""
    if action == "section.created":
        return [None, section_id]
    if action == "section.deleted":
        return [section_id, None]
    return [section_id, section_id]


async def _activity(
    conn: Connection,
    action: str,
    user_id: uuid.UUID,
    row: dict[str, Any] | SectionRow,
    changes: dict[str, list[Any]],
) -> None:
    """The list's activity item of a section made, renamed or deleted (its id and name)."""
    await activity.record(
        conn,
        action,
        actor_id=user_id,
        list_id=row["list_id"],
        changes={"section_id": _section_pair(action, row["id"]), **changes},
    )


@contextlib.asynccontextmanager
async def _unique_name(conn: Connection) -> AsyncIterator[None]:
    """The unique index's refusal of a name the list has, as SectionNameTaken (the section's
    only unique index besides its id, which is new)."""
    try:
        async with conn.savepoint():
            yield
    except IntegrityViolation as exc:
        raise SectionNameTaken from exc
