"""Saved filters: a user's named queries, each checked when written, in the user's own order
(todo_api.kit.ordering, as lists are moved). Names are unique per user ignoring case (the
unique index's refusal becomes FilterNameTaken), and a user has at most FILTERS_MAX_COUNT: the
count is read in the user's reordering turn, which every create takes, so two creates at once
cannot both pass it."""

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

from sqlalchemy import bindparam, delete, false, func, literal, null, select, union_all, update

from todo_api.db import Connection, IntegrityViolation, Query, insert_bound
from todo_api.filters.errors import FilterNameTaken, FilterNotFound, TooManyFilters
from todo_api.filters.schemas import FilterCreate, FilterUpdate
from todo_api.kit import access, ordering
from todo_api.kit.errors import InvalidField
from todo_api.kit.ids import new_id, utcnow
from todo_api.lists import service as lists
from todo_api.tables import keys
from todo_api.tables.filters import FILTERS_MAX_COUNT, FilterRow, saved_filters
from todo_api.tasks import filter_query

_MINE = (saved_filters.c.user_id == bindparam("user_id"),)
ALL = Query(
    select(saved_filters)
    .where(*_MINE)
    .order_by(saved_filters.c.user_id, saved_filters.c.position, saved_filters.c.id),
    any_plan=True,
)
ONE = Query(select(saved_filters).where(*_MINE, saved_filters.c.id == bindparam("filter_id")))
COUNT = Query(select(func.count()).select_from(saved_filters).where(*_MINE))
LAST = Query(select(func.max(saved_filters.c.position)).where(*_MINE))
INSERT = Query(
    insert_bound(
        saved_filters,
        *("id", "user_id", "name", "name_key", "query", "color", "position"),
        version=1,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
)
DELETE = Query(delete(saved_filters).where(*_MINE, saved_filters.c.id == bindparam("filter_id")))


def checked_query(text: str, field: str = "query") -> str:
    """The query, once the filter language reads it; else 400 naming `field` and where."""
    try:
        filter_query.parse(text)
    except filter_query.FilterError as exc:
        raise InvalidField(field, str(exc)) from None
    return text


async def list_filters(conn: Connection, user_id: uuid.UUID) -> list[FilterRow]:
    return cast(list[FilterRow], (await conn.execute(ALL, {"user_id": user_id})).rows)


# What a page's navigation names: the user's saved filters (their queries, to count what each
# finds) and the lists they see (their role and open tasks, as lists.ALL gives them), with
# their places in the user's order. One row shape for both: `detail` is a filter's query or the
# user's role in a list, `open_count` a list's (NULL for a filter).
_FILTERS_AND_LISTS = union_all(
    select(
        literal("filter").label("kind"),
        saved_filters.c.id,
        saved_filters.c.name,
        saved_filters.c.query.label("detail"),
        null().label("open_count"),
        saved_filters.c.position,
        null().label("parent_id"),
        false().label("folded"),
    ).where(*_MINE),
    select(literal("list"), *lists.NAVIGATION).select_from(access.seen_lists()),
)


def navigation_column(dialect: str) -> Any:
    """The user's saved filters and the lists they see (`_FILTERS_AND_LISTS`), as one JSON array
    of `[kind, id, name, detail, open_count, position, parent_id, folded]`: a column of another
    statement (a page's sidebar, in the round trip of its counts); `navigation_of` reads it."""
    found = _FILTERS_AND_LISTS.subquery("navigation")
    row = (
        found.c.kind,
        found.c.id,
        found.c.name,
        found.c.detail,
        found.c.open_count,
        found.c.position,
        found.c.parent_id,
        found.c.folded,
    )
    if dialect == "postgresql":
        rows = func.json_agg(func.json_build_array(*row))
    else:
        rows = func.json_group_array(func.json_array(*row))
    return select(rows).scalar_subquery()


def navigation_of(value: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`navigation_column`'s value (JSON text, or parsed): the user's saved filters (`id`,
    `name`, `query`) and the lists they see (`id`, `name`, `role`, `open_count`, `parent_id`,
    `folded`), each in the user's order."""
    if isinstance(value, str):
        value = json.loads(value)
    names = ("kind", "id", "name", "detail", "open_count", "position", "parent_id", "folded")
    rows = [dict(zip(names, row, strict=True)) for row in value or ()]
    for row in rows:
        row["id"] = uuid.UUID(str(row["id"]))  # (SQLite writes a key as 32 hex digits)
    rows.sort(key=lambda row: (row["kind"], row["position"], row["id"]))
    return _navigation(rows)


def _navigation(rows: list[Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    saved: list[dict[str, Any]] = []
    seen: list[dict[str, Any]] = []
    for row in rows:
        if row["kind"] == "filter":
            saved.append({"id": row["id"], "name": row["name"], "query": row["detail"]})
        else:
            parent = row["parent_id"]
            item = {"id": row["id"], "name": row["name"], "role": row["detail"]}
            seen.append(
                {
                    **item,
                    "open_count": row["open_count"],
                    "parent_id": None if parent is None else uuid.UUID(str(parent)),
                    "folded": bool(row["folded"]),
                }
            )
    return saved, seen


async def get_filter(conn: Connection, user_id: uuid.UUID, filter_id: uuid.UUID) -> FilterRow:
    """The filter; raises FilterNotFound."""
    row = (await conn.execute(ONE, {"user_id": user_id, "filter_id": filter_id})).first()
    if row is None:
        raise FilterNotFound
    return cast(FilterRow, dict(row))


async def create_filter(conn: Connection, user_id: uuid.UUID, data: FilterCreate) -> FilterRow:
    """A new filter, last among the user's. Raises FilterNameTaken, TooManyFilters."""
    checked_query(data.query)
    now = utcnow()
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        if (await conn.execute(COUNT, {"user_id": user_id})).scalar() >= FILTERS_MAX_COUNT:
            raise TooManyFilters
        last = (await conn.execute(LAST, {"user_id": user_id})).scalar()
        row: dict[str, Any] = {
            "id": new_id(),
            "user_id": user_id,
            "name": data.name,
            "name_key": keys.name_key(data.name),
            "query": data.query,
            "color": data.color,
            **ordering.new_last(last, now),
        }
        async with _unique_name(conn):
            await conn.execute(INSERT, {**row, "now": now})
    return cast(FilterRow, row)


async def update_filter(
    conn: Connection, user_id: uuid.UUID, filter_id: uuid.UUID, data: FilterUpdate
) -> FilterRow:
    """The changed filter; raises FilterNotFound or FilterNameTaken."""
    values: dict[str, Any] = data.model_dump(exclude_unset=True)
    if "query" in values:
        checked_query(values["query"])
    if "name" in values:
        values["name_key"] = keys.name_key(values["name"])
    values["updated_at"] = utcnow()
    statement = (
        update(saved_filters)
        .where(saved_filters.c.user_id == user_id, saved_filters.c.id == filter_id)
        .values(**values, version=saved_filters.c.version + 1)
        .returning(*saved_filters.c)
    )
    async with conn.transaction(), _unique_name(conn):
        row = (await conn.execute(statement)).first()
    if row is None:
        raise FilterNotFound
    return cast(FilterRow, dict(row))


async def delete_filter(conn: Connection, user_id: uuid.UUID, filter_id: uuid.UUID) -> None:
    """Raises FilterNotFound."""
    async with conn.transaction():
        result = await conn.execute(DELETE, {"user_id": user_id, "filter_id": filter_id})
    if result.rowcount == 0:
        raise FilterNotFound


async def move_filter(
    conn: Connection,
    user_id: uuid.UUID,
    filter_id: uuid.UUID,
    *,
    before: uuid.UUID | None = None,
    after: uuid.UUID | None = None,
) -> FilterRow:
    """Place the filter right before or after another of the user's (neither: last). Raises
    FilterNotFound, or InvalidField naming `before` or `after` when that names no other
    filter of the user's."""
    async with conn.transaction():
        await ordering.serialise(conn, user_id)
        await get_filter(conn, user_id, filter_id)  # FilterNotFound
        anchors: dict[str, ordering.Place] = {}
        for field, anchor_id in (("before", before), ("after", after)):
            if anchor_id is None:
                continue
            if anchor_id == filter_id:
                raise InvalidField(field, "a filter cannot be placed next to itself")
            try:
                anchor = await get_filter(conn, user_id, anchor_id)
            except FilterNotFound:
                raise InvalidField(field, "names none of your filters") from None
            anchors[field] = ordering.Place(anchor["position"], anchor_id)
        group = ordering.Group(
            saved_filters, (saved_filters.c.user_id == user_id,), (saved_filters.c.user_id,)
        )
        row = await ordering.moved(conn, group, filter_id, **anchors, now=utcnow())
    return cast(FilterRow, row)


@contextlib.asynccontextmanager
async def _unique_name(conn: Connection) -> AsyncIterator[None]:
    """The unique index's refusal of a name the user already has, as FilterNameTaken (the
    filter's only unique index besides its id, which is new)."""
    try:
        async with conn.savepoint():
            yield
    except IntegrityViolation as exc:
        raise FilterNameTaken from exc
