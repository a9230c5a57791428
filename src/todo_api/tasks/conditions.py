"""A list statement's filters and order in SQL, for a shape (todo_api.tasks.listing), each
for the caller's own tasks or those of the lists shared with them."""

import operator
from collections.abc import Callable
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    String,
    Uuid,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import BindParameter, UnaryExpression

from todo_api.db import SQLITE_UNICODE_LOWER, UTCDateTime
from todo_api.kit import access
from todo_api.tables.tasks import task_tags, tasks
from todo_api.tasks import filter_sql
from todo_api.tasks.listing import DATED_SORTS, Shape, Sort, SortField, field_of


def lower(text: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Lower case for every letter, not only ASCII (SQLite's own lower() stops there)."""
    if dialect == "sqlite":
        return getattr(func, SQLITE_UNICODE_LOWER)(text)  # type: ignore[no-any-return]
    return func.lower(text)


def sort_key(sort_field: SortField, dialect: str) -> ColumnElement[Any]:
    """The expression a sort orders by. Titles order case-insensitively, by code point."""
    if sort_field == "title":
        lowered = lower(tasks.c.title, dialect)
        return lowered.collate("C") if dialect == "postgresql" else lowered
    column: ColumnElement[Any] = tasks.c[DATED_SORTS.get(sort_field, sort_field)]
    return column


def order_by(sort: Sort, dialect: str) -> list[UnaryExpression[Any]]:
    return ordered(sort, (sort_key(field_of(sort), dialect), tasks.c.id))


def ordered(sort: Sort, row: tuple[Any, Any]) -> list[UnaryExpression[Any]]:
    """`sort`'s order of rows by `row`: a sort value and an id."""
    value, row_id = row
    if sort.startswith("-"):
        ordered, by_id = value.desc(), row_id.desc()
    else:
        ordered, by_id = value.asc(), row_id.asc()
    if field_of(sort) in DATED_SORTS:
        ordered = ordered.nulls_last()  # tasks without a due date (a start) come last either way
    return [ordered, by_id]


# Every listing reads two parts: the caller's own tasks (their inbox and lists: one equality
# on user_id, which leads every sort's index) and the tasks of the lists shared with them
# (their memberships, then each list's tasks). A user with no shared lists reads the first
# part as before; the second finds no membership and stops there.
Part = Literal["own", "shared"]
SEEN_SHARED = (access.Role.editor, access.Role.viewer)


def _in_part(part: Part) -> ColumnElement[bool]:
    if part == "own":
        owned: ColumnElement[bool] = tasks.c.user_id == bindparam("user_id")
        return owned
    return tasks.c.list_id.in_(access.shared_lists(*SEEN_SHARED))


def conditions_of(s: Shape, part: Part = "own", scoped: bool = True) -> list[ColumnElement[bool]]:
    """The shape's filters for `part`, and (`scoped`) that a row is in it."""
    now = bindparam("now", type_=UTCDateTime())
    conditions: list[ColumnElement[bool]] = [_in_part(part)] if scoped else []
    if s.completed:
        conditions.append(tasks.c.is_completed == bindparam("completed"))
    if s.priorities:
        names = [bindparam(f"priority_{i}", type_=Integer()) for i in range(s.priorities)]
        conditions.append(tasks.c.priority.in_(names))
    if s.tags:
        conditions.append(_has_all_tags(s, part))
    if s.q:
        conditions.append(_matches())
    if s.due_before:
        conditions.append(tasks.c.due_at < bindparam("due_before", type_=UTCDateTime()))
    if s.due_after:
        conditions.append(tasks.c.due_at >= bindparam("due_after", type_=UTCDateTime()))
    if s.start_before:
        conditions.append(tasks.c.start_at < bindparam("start_before", type_=UTCDateTime()))
    if s.start_after:
        conditions.append(tasks.c.start_at >= bindparam("start_after", type_=UTCDateTime()))
    if s.overdue is True:
        conditions.append(and_(tasks.c.due_at < now, tasks.c.is_completed == false()))
    elif s.overdue is False:
        conditions.append(
            or_(tasks.c.due_at.is_(None), tasks.c.due_at >= now, tasks.c.is_completed == true())
        )
    if s.in_list == "inbox":
        conditions.append(tasks.c.list_id.is_(None))
    elif s.in_list == "one":
        conditions.append(tasks.c.list_id == bindparam("list_id", type_=Uuid()))
    if s.section == "none":
        conditions.append(tasks.c.section_id.is_(None))
    elif s.section == "one":
        conditions.append(tasks.c.section_id == bindparam("section_id", type_=Uuid()))
    if s.parent:
        conditions.append(tasks.c.parent_id == bindparam("parent_id", type_=Uuid()))
    if s.top_level is True:
        conditions.append(tasks.c.parent_id.is_(None))
    elif s.top_level is False:
        conditions.append(tasks.c.parent_id.is_not(None))
    if s.assignee == "none":
        conditions.append(tasks.c.assignee_id.is_(None))
    elif s.assignee == "one":
        conditions.append(tasks.c.assignee_id == bindparam("assignee_id", type_=Uuid()))
    if s.due_on:
        conditions.extend(_due_on())
    if s.filter is not None:
        conditions.append(filter_sql.condition(s.filter, part, s.dialect))
    return conditions


def _due_on() -> list[ColumnElement[bool]]:
    """Due on a day: a timed task whose due_at falls on it on the caller's clock, an all-day
    task whose due_date is it. Both lie in a span of due_at around the day, which the sort's
    index reads like a due_before/due_after (an all-day task's due_at is the instant its
    date starts in its zone, within hours of the day's start in UTC)."""
    at = tasks.c.due_at
    timed = and_(
        tasks.c.due_date.is_(None),
        at >= bindparam("due_on_start", type_=UTCDateTime()),
        at < bindparam("due_on_end", type_=UTCDateTime()),
    )
    return [
        at >= bindparam("due_on_from", type_=UTCDateTime()),
        at < bindparam("due_on_to", type_=UTCDateTime()),
        or_(timed, tasks.c.due_date == bindparam("due_on", type_=Date())),
    ]


def after(s: Shape, row: tuple[Any, Any] | None = None) -> ColumnElement[bool]:
    """The tasks that come after the cursor's last task in the shape's order, by `row` (a sort
    value and an id; a task's own by default)."""
    field_name = field_of(s.sort)
    value_type: Any = {"title": String(), "priority": Integer(), "position": BigInteger()}.get(
        field_name, UTCDateTime()
    )
    return beyond(
        s,
        row or (sort_key(field_name, s.dialect), tasks.c.id),
        (bindparam("after_value", type_=value_type), bindparam("after_id", type_=Uuid())),
        last_undated=s.cursor == "undated",
    )


def beyond(
    s: Shape, row: tuple[Any, Any], last: tuple[Any, Any], last_undated: bool | None
) -> ColumnElement[bool]:
    """`row` (a sort value and an id) comes after `last` in the shape's order. Undated tasks
    come last in both directions: `last_undated` says whether `last` is one (None: the
    statement finds out)."""
    (value, row_id), (last_value, last_id) = row, last
    beyond: Callable[[Any, Any], ColumnElement[bool]] = (
        operator.lt if s.sort.startswith("-") else operator.gt
    )
    dated = beyond(tuple_(value, row_id), tuple_(last_value, last_id))
    if field_of(s.sort) not in DATED_SORTS:
        return dated
    among_undated = and_(value.is_(None), beyond(row_id, last_id))
    after_dated = or_(dated, value.is_(None))
    if last_undated is None:
        return or_(
            and_(last_value.is_(None), among_undated), and_(last_value.is_not(None), after_dated)
        )
    return among_undated if last_undated else after_dated


def between(row: tuple[Any, Any], first: tuple[Any, Any], last: tuple[Any, Any], sort: Sort) -> Any:
    """`row` comes after `first`, and its sort value not after `last`'s, in `sort`'s order,
    neither of them an undated task: the range of an index in the sort's order. The end is
    the value alone (its ties may come too): a B-tree stops at the end of a row comparison
    only where its first column decides, so among many equal values (a priority) it would
    walk them all."""
    after_first, up_to_last = (
        (operator.lt, operator.ge) if sort.startswith("-") else (operator.gt, operator.le)
    )
    return and_(after_first(tuple_(*row), tuple_(*first)), up_to_last(row[0], last[0]))


def _matches() -> ColumnElement[bool]:
    """Title or description contains the query, both keyed alike (keys.search_key: case and
    accents aside). A filter on the walk along the sort's index, which stops once
    the page is full: no index serves `LIKE '%...%'` on the keys, so the planner cannot trade
    the walk for a bitmap of every match of the user (which grows with the user's tasks, and
    then has to be sorted)."""
    pattern = bindparam("search_pattern", type_=String())
    return or_(
        tasks.c.title_key.like(pattern, escape="\\"),
        tasks.c.description_key.like(pattern, escape="\\"),
    )


def tag_param(i: int) -> BindParameter[str]:
    return bindparam(f"tag_{i}", type_=String())


def tag_entries(i: int) -> list[ColumnElement[bool]]:
    return [task_tags.c.user_id == bindparam("user_id"), task_tags.c.tag == tag_param(i)]


def _has_all_tags(s: Shape, part: Part) -> ColumnElement[bool]:
    """Every one of the tags. The first tag's count decides how. A rare tag starts from its
    few `task_tags` entries (then sorts them; on PostgreSQL a page and its count lead with
    them, `pages._by_tag_entries`, and check the tags as a common one's are). A common one is
    checked on each task the sort's index walks to, in the row's own `tags`, until the page
    is full; no index serves that check, so the planner cannot trade the walk for reading and
    sorting every tagged task.
    Shared lists' tasks (their owners' tags) are checked on each row, in their own part."""
    if not s.common_tag and part == "own":
        return and_(
            *(
                tasks.c.id.in_(select(task_tags.c.task_id).where(*tag_entries(i)))
                for i in range(s.tags)
            )
        )
    if s.dialect == "postgresql":
        return tasks.c.tags.op("@>")(bindparam("tags", type_=JSONB()))
    return and_(*(_sqlite_has_tag(i) for i in range(s.tags)))


def _sqlite_has_tag(i: int) -> ColumnElement[bool]:
    element = func.json_each(tasks.c.tags).table_valued("value")
    return exists(select(true()).select_from(element).where(element.c.value == tag_param(i)))
