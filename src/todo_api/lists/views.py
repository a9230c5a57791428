"""How a person shows each list: its sort and its layout (`list`, `board` or `calendar`), one
row per person and list, read with the list's page and written when they choose. A list's key
is its id, or the name of a view that is no list (`inbox`, `today`, `upcoming`,
`filter:<id>`). The list's sections are read in the same round trip (`sections_column`)."""

import json
import uuid
from typing import Any

from sqlalchemy import Uuid, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from todo_api.db import Connection, Query
from todo_api.tables.list_views import list_views
from todo_api.tables.sections import sections

VIEWS = ("list", "board", "calendar")
_MINE = (
    list_views.c.user_id == bindparam("user_id"),
    list_views.c.list_key == bindparam("list_key"),
)
# Both in one lookup: `<sort>|<view>`, either empty when not chosen.
_KEPT = select(
    func.coalesce(list_views.c.sort, "") + "|" + func.coalesce(list_views.c.view, "")
).where(*_MINE)


def _kept(dialect: type[postgresql.Insert] | type[sqlite.Insert], column: str) -> Query:
    """Insert a person's sort (or view) of a list, or change the one kept."""
    statement = dialect(list_views).values(
        user_id=bindparam("user_id"), list_key=bindparam("list_key"), **{column: bindparam(column)}
    )
    return Query(
        statement.on_conflict_do_update(
            index_elements=[list_views.c.user_id, list_views.c.list_key],
            set_={column: getattr(statement.excluded, column)},
        )
    )


KEEP = {
    (name, column): _kept(dialect, column)
    for name, dialect in (("postgresql", postgresql.Insert), ("sqlite", sqlite.Insert))
    for column in ("sort", "view")
}


def kept_column() -> Any:
    """The sort and the view the person chose for the list (`list_key`), as `kept_of` reads
    them: a column of another statement (binding `user_id` and `list_key`), read with the
    page's sidebar in the same round trip."""
    return _KEPT.scalar_subquery()


def kept_of(value: str | None) -> tuple[str | None, str | None]:
    """`kept_column`'s value: the sort (None: the list's own order) and the view (None:
    `list`)."""
    sort, _bar, view = (value or "").partition("|")
    return sort or None, view or None


def sections_column(dialect: str) -> Any:
    """The sections of the list `section_list_id` as one JSON array of `[id, name]` in the
    list's order: a column of another statement (the list page's sidebar); the caller has
    read the list already (its access checked). `sections_of` reads it."""
    found = (
        select(sections.c.id, sections.c.name, sections.c.position)
        .where(sections.c.list_id == bindparam("section_list_id", type_=Uuid()))
        .subquery("shown_sections")
    )
    if dialect == "postgresql":
        rows = func.json_agg(func.json_build_array(found.c.id, found.c.name, found.c.position))
    else:
        rows = func.json_group_array(func.json_array(found.c.id, found.c.name, found.c.position))
    return select(rows).scalar_subquery()


def sections_of(value: Any) -> list[dict[str, Any]]:
    """`sections_column`'s value (JSON text, or parsed): each section's `id` and `name`, in
    the list's order."""
    if isinstance(value, str):
        value = json.loads(value)
    rows = sorted(
        ((position, uuid.UUID(str(key)), name) for key, name, position in value or ()),
    )
    return [{"id": key, "name": name} for _position, key, name in rows]


async def keep_sort(conn: Connection, user_id: uuid.UUID, list_key: str, sort: str) -> None:
    await _keep(conn, user_id, list_key, "sort", sort)


async def keep_view(conn: Connection, user_id: uuid.UUID, list_key: str, view: str) -> None:
    await _keep(conn, user_id, list_key, "view", view)


async def _keep(
    conn: Connection, user_id: uuid.UUID, list_key: str, column: str, value: str
) -> None:
    params = {"user_id": user_id, "list_key": list_key, column: value}
    await conn.execute(KEEP[conn.name, column], params)
