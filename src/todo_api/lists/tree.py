"""Lists inside lists (Todoist's sub-projects): a list's `parent_id` is null or a list of the
same owner, in a tree at most MAX_DEPTH deep and without cycles.

The rules are checked on the owner's lists read at once (a person has tens of lists, not
thousands), in the write's transaction and in the owner's turn (`kit.ordering.serialise`), so
that two writes cannot make a cycle or a fourth level between them.
"""

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select, update

from todo_api.db import Connection, Query
from todo_api.kit.errors import InvalidField
from todo_api.tables.lists import MAX_DEPTH, lists

_PARENTS = Query(
    select(lists.c.id, lists.c.parent_id).where(lists.c.user_id == bindparam("owner_id"))
)
# A list's children move up a level (to `parent_id`): their list deleted, or handed over.
LIFT_CHILDREN = Query(
    update(lists)
    .where(lists.c.parent_id == bindparam("list_id"))
    .values(
        parent_id=bindparam("parent_id"),
        version=lists.c.version + 1,
        updated_at=bindparam("now"),
    )
)


async def check_parent(
    conn: Connection, owner_id: uuid.UUID, list_id: uuid.UUID | None, parent_id: uuid.UUID
) -> None:
    """Raises InvalidField naming `parent_id` unless the owner's list `list_id` (None: a new
    one) may go inside their list `parent_id`."""
    parents = {
        row["id"]: row["parent_id"] for row in await conn.execute(_PARENTS, {"owner_id": owner_id})
    }
    if parent_id not in parents:
        raise InvalidField("parent_id", "names none of the lists you own")
    if list_id is not None and list_id in ancestry(parents, parent_id):
        raise InvalidField("parent_id", "a list cannot go inside itself or a list inside it")
    height = 1 if list_id is None else _height(parents, list_id)
    if len(ancestry(parents, parent_id)) + height > MAX_DEPTH:
        raise InvalidField("parent_id", f"lists go at most {MAX_DEPTH} levels deep")


def ancestry(parents: Mapping[uuid.UUID, uuid.UUID | None], list_id: uuid.UUID) -> list[uuid.UUID]:
    """The list and the lists it is inside, itself first (a cycle, which the rules keep out,
    would end where it repeats)."""
    chain: list[uuid.UUID] = []
    current: uuid.UUID | None = list_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


def descendants(
    parents: Mapping[uuid.UUID, uuid.UUID | None], list_id: uuid.UUID
) -> list[uuid.UUID]:
    """The lists under `list_id`, at any depth (not itself)."""
    return [other for other in parents if other != list_id and list_id in ancestry(parents, other)]


def _height(parents: Mapping[uuid.UUID, uuid.UUID | None], list_id: uuid.UUID) -> int:
    """How many levels the list and the lists under it take (1: no children)."""
    depth = len(ancestry(parents, list_id))
    below = (len(ancestry(parents, other)) - depth for other in descendants(parents, list_id))
    return 1 + max(below, default=0)


def parents_of(rows: Iterable[Mapping[str, Any]]) -> dict[uuid.UUID, uuid.UUID | None]:
    """`{id: parent_id}` of rows that carry both (the lists a person sees)."""
    return {row["id"]: row["parent_id"] for row in rows}


def nested(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lists a person sees (each with `id` and `parent_id`, in their order) as a tree:
    the top-level ones, each with its `children` in the same order. A list whose parent the
    person does not see is at the top."""
    by_id = {item["id"]: {**item, "children": []} for item in items}
    top: list[dict[str, Any]] = []
    for item in by_id.values():
        parent = by_id.get(item["parent_id"])
        (top if parent is None or parent is item else parent["children"]).append(item)
    return top
