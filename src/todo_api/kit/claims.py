"""Claiming work in the database: up to N due rows of a table, each held by one claimant for a
lease, so that every worker of every instance can take from the same queue.

A table takes part by having two columns, `claimed_by` (text, null when free) and
`claimed_until` (a UTCDateTime, null when free), and a one-column primary key. A row is free
when its lease is null or has run out: a worker that dies holding rows holds them only until
then.

PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` picks the rows, so concurrent claimants take
different rows without waiting for each other, and the UPDATE marks them in the same statement.
SQLite: the transaction begins with `BEGIN IMMEDIATE` (the database's `transaction()`), so
claimants run one after the other and each sees the previous one's marks; the same conditional
UPDATE ... RETURNING then takes only rows whose lease has run out.

No queue library fits here: the rows are the service's own (webhook deliveries, reminders,
the jobs' schedule), written in the same transaction as the change that makes them.
"""

import functools
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    update,
)

from todo_api.db import Connection, Database, Query, Row
from todo_api.kit.ids import utcnow
from todo_api.tables.jobs import CLAIMANT_LENGTH


@dataclass(frozen=True, slots=True)
class Claim:
    """The rows one call took, and the claimant name they are held under (unique per call, so
    that a worker that claims a row again after its lease ran out holds it only once)."""

    claimant: str
    until: datetime
    rows: list[Row]


def new_claimant() -> str:
    """Which process made a claim (for whoever reads the table), and a part of its own."""
    claimant = f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"
    assert len(claimant) <= CLAIMANT_LENGTH
    return claimant


def _key(table: Table) -> Column[Any]:
    (key,) = table.primary_key.columns
    return key


def is_free(table: Table, now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
    """Nobody holds the row: never claimed, released, or its lease has run out (`now` may be
    a bound parameter, for a statement built once)."""
    until = table.c.claimed_until
    return or_(until.is_(None), until <= now)


def next_due(table: Table, column: Column[Any]) -> Select[Any]:
    """The earliest `column` (a due time, null when there is nothing to do) among the rows
    nobody holds, at the bound parameter `now`: the first entries of an index on `column`,
    for a job that sleeps until its next due time rather than polling."""
    return (
        select(column)
        .where(column.is_not(None), is_free(table, bindparam("now")))
        .order_by(column)
        .limit(1)
    )


async def sleep_before_due(
    db: Database, earliest: Query, idle: float
) -> tuple[datetime, float | None]:
    """Now, and how long a job that sleeps until its next due time may sleep: `earliest` is
    its `next_due` query; None when a row is due now, `idle` when none waits."""
    now = utcnow()
    async with db.connection() as conn:
        first: datetime | None = (await conn.execute(earliest, {"now": now})).scalar()
    if first is None:
        return now, idle
    if first > now:
        return now, (first - now).total_seconds()
    return now, None


async def claim(
    db: Database,
    table: Table,
    *,
    due: ColumnElement[bool],
    lease: timedelta,
    limit: int,
    order_by: ColumnElement[Any] | Column[Any] | None = None,
    per: tuple[Column[Any], int] | None = None,
) -> Claim:
    """Claim up to `limit` rows that are `due` and free (the first ones by `order_by`, by
    default the key), for `lease`; returns them as they are after the claim, in no particular
    order (none when there is nothing to take).

    With `per` (a column, a number n), the rows of each value of the column are taken in
    turns, and at most n of them are held at a time: the rows of a value that are due and held
    count first, then its free ones by `order_by`; the first of every value comes before the
    second of any (round robin), so that one value with many rows due cannot hold up the
    others."""
    now = utcnow()
    claimant = new_claimant()
    until = now + lease
    key = _key(table)
    order = order_by if order_by is not None else key
    if per is not None and not db.is_sqlite:
        chosen = _chosen_in_turns(table, due, now, order, limit, per)
    else:
        chosen = _chosen(table, due, now, order, limit, per)
    statement = (
        update(table)
        # The lease condition again, on the row as it is when it is updated: on PostgreSQL a
        # row claimed and committed by someone else since this statement began is left alone.
        .where(key.in_(chosen), is_free(table, now))
        .values(claimed_by=claimant, claimed_until=until)
        .returning(*table.c)
    )
    async with db.transaction() as conn:
        result = await conn.execute(statement)
    return Claim(claimant=claimant, until=until, rows=result.rows)


def _chosen(
    table: Table,
    due: ColumnElement[bool],
    now: datetime,
    order: ColumnElement[Any] | Column[Any],
    limit: int,
    per: tuple[Column[Any], int] | None,
) -> ScalarSelect[Any]:
    """The keys `claim` takes (see there), locked on PostgreSQL; SQLite has no row locks to
    skip, and takes the rows one claimant after the other."""
    key = _key(table)
    free = is_free(table, now)
    if per is None:
        chosen = select(key).where(due, free).order_by(order)
    else:
        column, most = per
        # Each row's place among its value's due rows: the held ones first, then the free ones.
        turn = func.row_number().over(
            partition_by=column, order_by=(case((free, 1), else_=0), order, key)
        )
        ranked = select(key.label("row_key"), turn.label("turn")).where(due).subquery("ranked")
        chosen = (
            select(key)
            .join(ranked, ranked.c.row_key == key)
            .where(free, ranked.c.turn <= most)
            .order_by(ranked.c.turn, order)
        )
    return chosen.limit(limit).with_for_update(of=table, skip_locked=True).scalar_subquery()


def _chosen_in_turns(
    table: Table,
    due: ColumnElement[bool],
    now: datetime,
    order: ColumnElement[Any] | Column[Any],
    limit: int,
    per: tuple[Column[Any], int],
) -> ScalarSelect[Any]:
    """`_chosen` with `per`, on PostgreSQL, in proportion to the values with due rows rather
    than to the due rows: the values are found one index probe each (a recursive CTE skipping
    from one value to the next), then each value's held rows are counted and its first free
    ones read (LATERAL, LIMIT n each). Needs an index on (column, order's column) and one on
    (column) of the held rows (`claimed_until` not null)."""
    column, most = per
    key = _key(table)
    first = select(column).where(due).order_by(column).limit(1).scalar_subquery()
    groups = select(first.label("value")).cte("groups", recursive=True)
    following = (
        select(column).where(due, column > groups.c.value).order_by(column).limit(1)
    ).scalar_subquery()
    groups = groups.union_all(select(following).where(groups.c.value.is_not(None)))
    held = (
        select(func.count().label("held"))
        .where(column == groups.c.value, due, table.c.claimed_until > now)
        .lateral("held")
    )
    free = (
        select(key.label("row_key"), order.label("row_order"))
        .where(column == groups.c.value, due, is_free(table, now))
        .order_by(order, key)
        .limit(most)
        .lateral("free")
    )
    # A value's held rows take its first turns; its free ones follow, in order.
    turn = (
        func.row_number().over(
            partition_by=groups.c.value, order_by=(free.c.row_order, free.c.row_key)
        )
        + held.c.held
    )
    ranked = (
        select(free.c.row_key, free.c.row_order, turn.label("turn"))
        .select_from(groups.join(held, true()).join(free, true()))
        .where(groups.c.value.is_not(None))
        .subquery("ranked")
    )
    return (
        select(key)
        .join(ranked, ranked.c.row_key == key)
        .where(ranked.c.turn <= most, is_free(table, now))
        .order_by(ranked.c.turn, ranked.c.row_order)
        .limit(limit)
        .with_for_update(of=table, skip_locked=True)
        .scalar_subquery()
    )


async def release(
    db: Database,
    table: Table,
    claim: Claim,
    keys: list[Any],
    values: dict[str, Any] | None = None,
) -> int:
    """Give back the rows of `keys` that this claim still holds, writing `values` in the same
    statement (e.g. a delivery's outcome); returns how many it still held. A row whose lease
    ran out stays this claim's until someone else claims it: work done late is not undone, and
    a row taken over is not touched."""
    if not keys:
        return 0
    statement = (
        update(table)
        .where(_key(table).in_(keys), table.c.claimed_by == claim.claimant)
        .values(**(values or {}), claimed_by=None, claimed_until=None)
    )
    async with db.transaction() as conn:
        result = await conn.execute(statement)
    return result.rowcount


@functools.cache
def _claim_one_query(table: Table) -> Query:
    """`claim_one`'s statement for `table`, built once."""
    return Query(
        update(table)
        .where(_key(table) == bindparam("row_key"), is_free(table, bindparam("now")))
        .values(claimed_by=bindparam("claimant"), claimed_until=bindparam("until"))
        .returning(*table.c)
    )


@functools.cache
def _cut_back_query(table: Table) -> Query:
    """`cut_back`'s statement for `table`, built once."""
    return Query(
        update(table)
        .where(
            _key(table) == bindparam("row_key"),
            table.c.claimed_by == bindparam("claimant"),
            table.c.claimed_until > bindparam("until"),
        )
        .values(claimed_until=bindparam("until"))
    )


async def claim_one(db: Database, table: Table, key: Any, lease: timedelta) -> Claim:
    """`claim` of the row of `key` alone, if free, by a statement built once (for a claim
    taken on every turn of a job: no statement to build and compile each time). One row
    needs no skipping of locked ones: a claimant that finds it being claimed waits for that
    statement, then finds it taken."""
    now = utcnow()
    until = now + lease
    claimant = new_claimant()
    params = {"row_key": key, "claimant": claimant, "now": now, "until": until}
    async with db.transaction() as conn:
        result = await conn.execute(_claim_one_query(table), params)
    return Claim(claimant=claimant, until=until, rows=result.rows)


async def cut_back(db: Database, table: Table, claim: Claim, key: Any, until: datetime) -> None:
    """End this claim's lease on the row of `key` at `until` (now: a release), where it still
    holds it and its lease would last longer (a lease is never lengthened)."""
    params = {"row_key": key, "claimant": claim.claimant, "until": until}
    async with db.transaction() as conn:
        await conn.execute(_cut_back_query(table), params)


# Prebuilt releases of one row, per table and set of columns written (see `release_each`).
_RELEASE_ONE: dict[tuple[str, tuple[str, ...]], Query] = {}
_KEY, _CLAIMANT = "claimed_key", "claimed_by_claimant"


def _release_one(table: Table, columns: tuple[str, ...]) -> Query:
    query = _RELEASE_ONE.get((table.name, columns))
    if query is None:
        statement = (
            update(table)
            .where(_key(table) == bindparam(_KEY), table.c.claimed_by == bindparam(_CLAIMANT))
            .values(
                {name: bindparam(name) for name in columns}
                | {"claimed_by": None, "claimed_until": None}
            )
        )
        query = _RELEASE_ONE[(table.name, columns)] = Query(statement)
    return query


async def release_each(
    conn: Connection, table: Table, claim: Claim, outcomes: dict[Any, dict[str, Any]]
) -> set[Any]:
    """`release` for many rows at once, each with values of its own (the same columns for
    all), in the caller's transaction: one statement built once, run per row, rather than a
    statement compiled and a transaction per row. Returns the keys this claim still held (the
    others were taken over and are left alone)."""
    if not outcomes:
        return set()
    columns = tuple(sorted(next(iter(outcomes.values()))))
    query = _release_one(table, columns)
    held = set()
    async with conn.transaction():
        for key, values in outcomes.items():
            params = {**values, _KEY: key, _CLAIMANT: claim.claimant}
            if (await conn.execute(query, params)).rowcount:
                held.add(key)
    return held
