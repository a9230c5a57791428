"""Versioned rows that callers may see or change: one implementation of reading one by id, and
of the conditional write (If-Match) in the write statement itself, for every domain (tasks,
lists, and whatever comes next).

A table qualifies with an `id` and a `version` that every UPDATE moves on (its ETag), and the
two access rules of `todo_api.kit.access` for it: who may see a row, who may change it. Every
statement carries the rule in its WHERE clause for the caller (the `user_id` parameter), so a
row the caller cannot see is not found, never loaded and then refused; statements are built
once per shape (`todo_api.db.Query`). A write that matches nothing asks once more what the
row is to the caller: not found if they cannot see it, `forbidden` if they may see it but not
change it, `stale` (412) if it is at another version than If-Match names.
"""

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Table, bindparam, delete, select, update

from todo_api.db import Connection, Query
from todo_api.kit.errors import ApiError
from todo_api.kit.versions import Versions, matching_versions, version_count, versions_params

RowT = TypeVar("RowT", bound=Mapping[str, Any])


class VersionedRows(Generic[RowT]):
    """The by-id statements of `table`, answering rows shaped as `returning` (every column by
    default). `conditions` names extra WHERE clauses an update may be limited to (an update
    outside them matches nothing and is not an error: the caller decides). `writes` holds the
    rule on the value a column is set to (given its parameter): an update writing a value the
    caller may not write matches nothing. `actor` names the column every update sets to the
    caller (who changed the row last, which its activity names)."""

    def __init__(
        self,
        table: Table,
        *,
        not_found: type[ApiError],
        stale: type[ApiError],
        forbidden: type[ApiError],
        can_see: Callable[[], ColumnElement[bool]],
        can_change: Callable[[], ColumnElement[bool]],
        returning: Sequence[ColumnElement[Any]] | None = None,
        conditions: Mapping[str, Sequence[ColumnElement[Any]]] | None = None,
        writes: Mapping[str, Callable[[Any], ColumnElement[bool]]] | None = None,
        actor: str | None = None,
    ) -> None:
        self.table = table
        self.not_found = not_found
        self.stale = stale
        self.forbidden = forbidden
        self.can_see = can_see
        self.can_change = can_change
        self.returning = tuple(returning if returning is not None else table.c)
        self.conditions = dict(conditions or {})
        self.writes = dict(writes or {})
        self.actor = actor
        self._get = Query(select(*self.returning).where(*self.by_id()))
        self._locked = Query(
            select(table).where(*self.by_id(changing=True)).with_for_update(of=table)
        )
        self._access = Query(
            select(table.c.version, can_change().label("changeable")).where(*self.by_id())
        )
        self._update_query = functools.lru_cache(maxsize=512)(self._build_update)
        self._delete_query = functools.lru_cache(maxsize=16)(self._build_delete)

    def by_id(self, *, changing: bool = False) -> list[ColumnElement[bool]]:
        """The row named by the `id` parameter, if the caller (the `user_id` parameter) may
        see it, or with `changing`, change it."""
        return [
            self.table.c.id == bindparam("id"),
            (self.can_change if changing else self.can_see)(),
        ]

    # --- reading ------------------------------------------------------------------------

    async def find(self, conn: Connection, user_id: uuid.UUID, row_id: uuid.UUID) -> RowT | None:
        row = (await conn.execute(self._get, {"id": row_id, "user_id": user_id})).first()
        return row  # type: ignore[return-value]

    async def get(
        self, conn: Connection, user_id: uuid.UUID, row_id: uuid.UUID, *, changing: bool = False
    ) -> RowT:
        """The row; raises `not_found` when the user has none of that id, and with `changing`
        (a page that offers a write) `forbidden` when the write would be refused: the same
        `can_change` as the writes' own condition."""
        row = await self.find(conn, user_id, row_id)
        if row is None:
            raise self.not_found
        if changing:
            await self.explain_miss(conn, user_id, row_id, None)
        return row

    async def locked(self, conn: Connection, user_id: uuid.UUID, row_id: uuid.UUID) -> RowT | None:
        """The row (its table's columns), locked until the transaction ends (SQLite's
        transactions lock the file), for a write: raises `forbidden` when the caller may see
        it but not change it; None when they cannot see it."""
        row = (await conn.execute(self._locked, {"id": row_id, "user_id": user_id})).first()
        if row is None:
            await self.explain_miss(conn, user_id, row_id, None)
        return row  # type: ignore[return-value]

    async def current(
        self, conn: Connection, user_id: uuid.UUID, row_id: uuid.UUID, if_match: Versions
    ) -> RowT | None:
        """The row as it is, for a write that had nothing to change (still held to If-Match)."""
        row = await self.find(conn, user_id, row_id)
        if row is not None and if_match is not None and row["version"] not in if_match:
            raise self.stale
        return row

    # --- conditional writes -------------------------------------------------------------

    async def update(
        self,
        conn: Connection,
        user_id: uuid.UUID,
        row_id: uuid.UUID,
        values: Mapping[str, Any],
        if_match: Versions = None,
        *,
        only: str | None = None,
    ) -> RowT | None:
        """UPDATE ... RETURNING, the version moved on; None when no row matched. A row at
        another version than If-Match names raises `stale`; with `only`, a row outside that
        condition is None, not an error."""
        statement = self._update_query(frozenset(values), version_count(if_match), only)
        params = {
            "id": row_id,
            "user_id": user_id,
            **{f"new_{name}": value for name, value in values.items()},
            **versions_params(if_match),
        }
        if self.actor is not None:
            params["actor_id"] = user_id
        row = (await conn.execute(statement, params)).first()
        if row is None:
            await self.explain_miss(conn, user_id, row_id, if_match if only is None else None)
        return row  # type: ignore[return-value]

    async def delete(
        self,
        conn: Connection,
        user_id: uuid.UUID,
        row_id: uuid.UUID,
        if_match: Versions = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> bool:
        """DELETE (its tombstone is the database's, by trigger); False when there was none.
        `params`: the same parameters, already bound for the caller's own statements."""
        bound = params or {"id": row_id, "user_id": user_id, **versions_params(if_match)}
        if (await conn.execute(self._delete_query(version_count(if_match)), bound)).rowcount:
            return True
        await self.explain_miss(conn, user_id, row_id, if_match)
        return False

    async def explain_miss(
        self, conn: Connection, user_id: uuid.UUID, row_id: uuid.UUID, if_match: Versions
    ) -> None:
        """After a write matched nothing: `forbidden` if the caller may see the row but not
        change it, `stale` if it is at another version than `if_match` names; nothing if they
        cannot see it (not found) or another condition of the write left it out."""
        row = (await conn.execute(self._access, {"id": row_id, "user_id": user_id})).first()
        if row is None:
            return
        if not row.changeable:
            raise self.forbidden
        if if_match is not None and row.version not in if_match:
            raise self.stale

    def _build_update(
        self, columns: frozenset[str], versions: int | None, only: str | None
    ) -> Query:
        """UPDATE ... RETURNING for one set of changed columns (values bound as `new_<column>`)."""
        table = self.table
        values: dict[str, Any] = {name: bindparam(f"new_{name}") for name in sorted(columns)}
        if self.actor is not None:
            values[self.actor] = bindparam("actor_id", type_=table.c[self.actor].type)
        return Query(
            update(table)
            .where(
                *self.by_id(changing=True),
                *matching_versions(table.c.version, versions),
                *self.conditions.get(only or "", ()),
                *(
                    rule(bindparam(f"new_{name}", type_=table.c[name].type))
                    for name, rule in self.writes.items()
                    if name in columns
                ),
            )
            .values(**values, version=table.c.version + 1)
            .returning(*self.returning)
        )

    def _build_delete(self, versions: int | None) -> Query:
        table = self.table
        return Query(
            delete(table).where(
                *self.by_id(changing=True), *matching_versions(table.c.version, versions)
            )
        )
