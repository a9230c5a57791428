"""Listing tasks: filters, a total order for every sort, and opaque keyset cursors.

A cursor carries the sort values of the last task on a page, so the next page starts right
after it whatever was created or deleted meanwhile (no offsets). It is signed, and bound to the
user, the sort and the filters that made it: a tampered or foreign cursor is refused.
"""

import dataclasses
import functools
import hashlib
import json
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import BindParameter, UnaryExpression

from todo_api.db import SQLITE_UNICODE_LOWER, Query, UTCDateTime
from todo_api.kit import access, zones
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables import keys
from todo_api.tables.lists import list_members
from todo_api.tables.tasks import Priority, task_tags, tasks

SortField = Literal["created_at", "updated_at", "due_at", "priority", "title", "position"]
Sort = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "priority",
    "-priority",
    "title",
    "-title",
    "position",
    "-position",
]
DEFAULT_SORT: Sort = "-created_at"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The total is counted up to here: beyond, X-Total-Count says "1000+" and counting stops, so
# that a list costs the same for a user with a thousand tasks as for one with a million.
# A search (`q`) is not counted beyond its page at all: counting its matches means reading
# every task of the user, where a page of a common term stops after a few hundred.
TOTAL_COUNT_CAP = 1000


class InvalidCursor(ValueError):
    pass


# The assignee filter: the caller ("me"), nobody ("none"), or a user's id.
Assignee = Literal["me", "none"] | uuid.UUID | None


@dataclass(frozen=True)
class TaskFilters:
    """Filters in canonical form: repeated values sorted, without duplicates."""

    completed: bool | None = None
    priorities: tuple[Priority, ...] = ()
    tags: tuple[str, ...] = ()  # every one of them
    q: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    list_id: uuid.UUID | None = None
    inbox: bool = False  # only tasks in no list (list_id=inbox)
    parent_id: uuid.UUID | None = None
    top_level: bool | None = None
    assignee: Assignee = None
    due_on: date | None = None  # due that day: timed tasks on the caller's clock

    def fingerprint(self) -> str:
        """What a cursor remembers of the filters (every field), to refuse it under others."""
        canonical = json.dumps(dataclasses.astuple(self), default=_json_value)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ListQuery:
    filters: TaskFilters = field(default_factory=TaskFilters)
    sort: Sort = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    @property
    def sort_field(self) -> SortField:
        return self.sort.removeprefix("-")  # type: ignore[return-value]

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


class CursorCodec:
    """Signs and reads cursors. A cursor holds the last task's sort values and how many tasks
    the pages so far held; its signature also covers the user, the sort and the filters, so
    under any others it fails to verify."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "todo-api task cursor")

    def _context(self, user_id: uuid.UUID, query: ListQuery) -> str:
        return f"{user_id.hex}|{query.sort}|{query.filters.fingerprint()}"

    def encode(self, user_id: uuid.UUID, query: ListQuery, last: list[Any], seen: int) -> str:
        values = [*(_json_value(value) for value in last), seen]
        return self._signer.dumps(values, self._context(user_id, query))

    def decode(self, user_id: uuid.UUID, query: ListQuery, token: str) -> tuple[list[Any], int]:
        """The sort values of the last task of the previous page, and the tasks seen so far."""
        try:
            value, task_id, seen = self._signer.loads(token, self._context(user_id, query))
            if type(seen) is not int or seen < 0:
                raise ValueError(seen)
            return _parse_last(query.sort_field, [value, task_id]), seen
        except InvalidToken as exc:
            raise InvalidCursor(str(exc)) from None
        except (ValueError, TypeError):
            raise InvalidCursor("is not a cursor") from None


def _json_value(value: Any) -> Any:
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    return value


def _parse_last(sort_field: SortField, last: Any) -> list[Any]:
    value, task_id = last
    if value is not None and sort_field in {"created_at", "updated_at", "due_at"}:
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # the first or last instant, as asyncpg gives them (UTC)
            value = value.replace(tzinfo=UTC)
    return [value, uuid.UUID(task_id)]


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
    column: ColumnElement[Any] = tasks.c[sort_field]
    return column


def order_by(sort: Sort, dialect: str) -> list[UnaryExpression[Any]]:
    return _ordered(sort, (sort_key(_field(sort), dialect), tasks.c.id))


def _ordered(sort: Sort, row: tuple[Any, Any]) -> list[UnaryExpression[Any]]:
    """`sort`'s order of rows by `row`: a sort value and an id."""
    value, row_id = row
    if sort.startswith("-"):
        ordered, by_id = value.desc(), row_id.desc()
    else:
        ordered, by_id = value.asc(), row_id.asc()
    if _field(sort) == "due_at":
        ordered = ordered.nulls_last()  # tasks without a due date come last either way
    return [ordered, by_id]


def _field(sort: Sort) -> SortField:
    return sort.removeprefix("-")  # type: ignore[return-value]


# A list statement has one shape per combination of sort, cursor and filters in use; each
# shape is built and compiled once, and a request only binds its values.


class Shape(NamedTuple):
    dialect: str
    sort: Sort
    cursor: Literal["none", "value", "undated"]
    completed: bool
    priorities: int
    tags: int
    common_tag: bool  # the first tag is on more than TOTAL_COUNT_CAP of the user's tasks
    q: bool
    due_before: bool
    due_after: bool
    overdue: bool | None
    in_list: Literal["any", "inbox", "one"]
    parent: bool
    top_level: bool | None
    assignee: Literal["any", "none", "one"]
    due_on: bool = False


def shape(
    query: ListQuery, dialect: str, last: list[Any] | None, tagged: int | None = None
) -> Shape:
    """The statement's shape. `tagged`: TAGGED's count for the first tag, when there is one."""
    f = query.filters
    cursor: Literal["none", "value", "undated"] = "none"
    if last is not None:
        cursor = "undated" if last[0] is None else "value"
    return Shape(
        dialect,
        query.sort,
        cursor,
        f.completed is not None,
        len(f.priorities),
        len(f.tags),
        tagged is not None and tagged > TOTAL_COUNT_CAP,
        f.q is not None,
        f.due_before is not None,
        f.due_after is not None,
        f.overdue,
        "inbox" if f.inbox else "one" if f.list_id is not None else "any",
        f.parent_id is not None,
        f.top_level,
        "any" if f.assignee is None else "none" if f.assignee == "none" else "one",
        f.due_on is not None,
    )


def parameters(
    query: ListQuery,
    user_id: uuid.UUID,
    now: datetime,
    last: list[Any] | None,
    zone: str = zones.DEFAULT_ZONE,
) -> dict[str, Any]:
    """The values for the bind parameters `_conditions` and `_after` name; `zone` is the
    caller's, whose clock `due_on` reads."""
    f = query.filters
    params: dict[str, Any] = {"user_id": user_id, "limit": query.limit + 1, "now": now}
    if f.completed is not None:
        params["completed"] = f.completed
    for i, priority in enumerate(f.priorities):
        params[f"priority_{i}"] = int(priority)
    params.update({f"tag_{i}": tag for i, tag in enumerate(f.tags)})
    if f.tags:
        params["tags"] = list(f.tags)
    if f.q is not None:
        params["search_pattern"] = f"%{escape_like(keys.search_key(f.q))}%"
    if f.due_before is not None:
        params["due_before"] = f.due_before
    if f.due_after is not None:
        params["due_after"] = f.due_after
    if f.due_on is not None:
        params.update(due_on_parameters(f.due_on, zone))
    if f.list_id is not None:
        params["list_id"] = f.list_id
    if f.parent_id is not None:
        params["parent_id"] = f.parent_id
    if f.assignee not in (None, "none"):
        params["assignee_id"] = user_id if f.assignee == "me" else f.assignee
    if last is not None:
        params["after_value"], params["after_id"] = last
    return params


# Every listing reads two parts: the caller's own tasks (their inbox and lists: one equality
# on user_id, which leads every sort's index) and the tasks of the lists shared with them
# (their memberships, then each list's tasks). A user with no shared lists reads the first
# part as before; the second finds no membership and stops there.
Part = Literal["own", "shared"]
_SEEN_SHARED = (access.Role.editor, access.Role.viewer)


def _in_part(part: Part) -> ColumnElement[bool]:
    if part == "own":
        owned: ColumnElement[bool] = tasks.c.user_id == bindparam("user_id")
        return owned
    return tasks.c.list_id.in_(access.shared_lists(*_SEEN_SHARED))


def _conditions(s: Shape, part: Part = "own", scoped: bool = True) -> list[ColumnElement[bool]]:
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


# Farther than any zone's offset from UTC (the farthest, local mean times of the 19th century
# included, are under 16 hours) and a gap at midnight: a day starts in every zone within this
# of the day's start in UTC.
_FARTHEST_OFFSET = timedelta(hours=18)


def due_on_parameters(day: date, zone: str) -> dict[str, Any]:
    """The values `_due_on` binds, for the day on the clock of the caller's zone."""
    start, end = zones.day_bounds(day, zone)
    utc_start = zones.start_of(day, "UTC")
    return {
        "due_on": day,
        "due_on_start": start,
        "due_on_end": end,
        "due_on_from": min(start, _plus(utc_start, -_FARTHEST_OFFSET)),
        "due_on_to": max(end, _plus(utc_start, _FARTHEST_OFFSET + timedelta(microseconds=1))),
    }


def _plus(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return zones.FIRST_INSTANT if delta < timedelta(0) else zones.LAST_INSTANT


def _after(s: Shape, row: tuple[Any, Any] | None = None) -> ColumnElement[bool]:
    """The tasks that come after the cursor's last task in the shape's order, by `row` (a sort
    value and an id; a task's own by default)."""
    field_name = _field(s.sort)
    value_type: Any = {"title": String(), "priority": Integer(), "position": BigInteger()}.get(
        field_name, UTCDateTime()
    )
    return _beyond(
        s,
        row or (sort_key(field_name, s.dialect), tasks.c.id),
        (bindparam("after_value", type_=value_type), bindparam("after_id", type_=Uuid())),
        last_undated=s.cursor == "undated",
    )


def _beyond(
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
    if _field(s.sort) != "due_at":
        return dated
    among_undated = and_(value.is_(None), beyond(row_id, last_id))
    after_dated = or_(dated, value.is_(None))
    if last_undated is None:
        return or_(
            and_(last_value.is_(None), among_undated), and_(last_value.is_not(None), after_dated)
        )
    return among_undated if last_undated else after_dated


def _pinned_group(s: Shape) -> list[Any]:
    """With sort=position among one list's (or the inbox's) tasks of one parent (or the top
    level), the list and parent are the same on every row: ordering by them too changes
    nothing but lets PostgreSQL read the group's index in order instead of sorting."""
    pinned = s.in_list != "any" and (s.parent or s.top_level is True)
    if _field(s.sort) != "position" or not pinned:
        return []
    columns = (tasks.c.user_id, tasks.c.list_id, tasks.c.parent_id)
    return [c.desc() if s.sort.startswith("-") else c.asc() for c in columns]


@functools.lru_cache(maxsize=1024)
def page_query(s: Shape) -> Query:
    """One page (limit + 1 rows, to tell whether another follows) with the capped total: the
    first rows of each part in the shape's order, then the first of both."""
    limit = bindparam("limit", type_=Integer())
    sort_value = sort_key(_field(s.sort), s.dialect).label("sort_value")
    parts = []
    for part in _parts(s):
        if part == "shared" and s.dialect == "postgresql":
            parts.append(_first_of_each_shared_list(s, sort_value))
            continue
        conditions = _conditions(s, part)
        if s.cursor != "none":
            conditions.append(_after(s))
        first = (
            select(tasks, sort_value)
            .where(*conditions)
            .order_by(*_pinned_group(s), *order_by(s.sort, s.dialect))
            .limit(limit)
        )
        parts.append(select(first.subquery()))  # SQLite: a compound's parts are plain SELECTs
    page = union_all(*parts).subquery("page") if len(parts) > 1 else parts[0].subquery("page")
    columns: list[Any] = [page]
    if not s.q:
        columns.append(_capped_total(s).label("total_count"))
    return Query(
        select(*columns).order_by(*_by_sort_value(s, page)).limit(limit),
        custom_plans=planned_per_call(s),
    )


def _by_sort_value(s: Shape, rows: Any) -> list[UnaryExpression[Any]]:
    """The shape's order on rows that carry `sort_value` and `id` (a page's parts)."""
    key: ColumnElement[Any] = rows.c.sort_value
    if _field(s.sort) == "title" and s.dialect == "postgresql":
        key = key.collate("C")
    return _ordered(s.sort, (key, rows.c.id))


# How deep a filtered page reads each shared list first: about DEPTH_SPREAD times its even
# share of the page, and DEPTH_SLACK more (at most the page).
DEPTH_SPREAD = 2
DEPTH_SLACK = 4


def _first_of_each_shared_list(s: Shape, sort_value: Any) -> Select[Any]:
    """The shared part on PostgreSQL: each list shared with the caller read from the
    list-led index of the sort (migration 0012), in order, and stopped early; then whole rows
    for the first `limit` of them. The lists' tasks in one scan (`list_id IN (...)`) would
    come in no order, to be sorted whole: a member of 20 lists of 5 000 tasks would sort
    100 000 rows a page. SQLite, embedded and small, keeps that simpler form.

    Unfiltered, each list's first `limit` entries come from its index alone, as do a tag's
    in creation order (`task_tags`, migration 0016). Otherwise filtered, each row walked to is
    read to be checked, and a list's first `limit` matches can be far down: each list is
    first read only as deep as its share of the page (`_read_shallow_first`)."""
    limit = bindparam("limit", type_=Integer())
    memberships = [list_members.c.user_id == access.caller(), access.in_role(_SEEN_SHARED)]
    if s.in_list == "one":
        memberships.append(list_members.c.list_id == bindparam("list_id", type_=Uuid()))
    mine = select(list_members.c.list_id).where(*memberships).cte("memberships")

    by_tag_entries = counts_by_tag(s) and _field(s.sort) == "created_at"

    def first_of_each_list(depth: Any) -> Select[Any]:
        """Each list's first `depth` rows: (list_id, id, sort_value)."""
        if by_tag_entries:
            row = (task_tags.c.created_at, task_tags.c.task_id)
            conditions = [task_tags.c.list_id == mine.c.list_id, task_tags.c.tag == _tag(0)]
        else:
            row = (sort_value.element, tasks.c.id)
            conditions = [tasks.c.list_id == mine.c.list_id, *_conditions(s, "shared", False)]
        if s.cursor != "none":
            conditions.append(_after(s, row))
        walked = (
            select(row[1].label("id"), row[0].label("sort_value"))
            .where(*conditions)
            .order_by(*_ordered(s.sort, row))
            .limit(depth)
            .lateral("first_of_list")
        )
        return select(mine.c.list_id, walked.c.id, walked.c.sort_value).join_from(
            mine, walked, true()
        )

    candidates = (
        _read_shallow_first(s, mine, first_of_each_list)
        if filtered(s) and not by_tag_entries
        else first_of_each_list(limit).subquery("candidates")
    )
    chosen = (
        select(candidates.c.id, candidates.c.sort_value)
        .order_by(*_by_sort_value(s, candidates))
        .limit(limit)
        .subquery("first_shared")
    )
    return select(tasks, chosen.c.sort_value).join_from(chosen, tasks, tasks.c.id == chosen.c.id)


def _read_shallow_first(
    s: Shape, mine: Any, first_of_each_list: Callable[[Any], Select[Any]]
) -> Any:
    """Each list's first `depth` matches, then all of the first `limit` only if they are not
    enough. What was read is exact up to the frontier: the last row read of a list that had
    `depth` rows, whichever comes first in the order (a list that had fewer was read whole).
    Every row up to there was read, from every list; if that is a page, it is the page, else
    each list is read again to `limit`. On a member of 20 lists and a search that one task in
    30 matches, about 6 000 rows are read instead of 30 000."""
    limit = bindparam("limit", type_=Integer())
    lists_count = select(func.count()).select_from(mine).scalar_subquery()
    depth = select(
        func.least(
            limit,
            DEPTH_SLACK + cast(func.ceil(DEPTH_SPREAD * limit / (lists_count + 1.0)), Integer()),
        ).label("rows")
    ).cte("depth")
    shallow = first_of_each_list(select(depth.c.rows).scalar_subquery()).subquery("shallow")
    read = select(
        shallow,
        func.row_number()
        .over(partition_by=shallow.c.list_id, order_by=_by_sort_value(s, shallow))
        .label("nth"),
    ).cte("read")
    frontier = (
        select(read.c.sort_value, read.c.id)
        .where(read.c.nth == select(depth.c.rows).scalar_subquery())
        .order_by(*_by_sort_value(s, read))
        .limit(1)
        .cte("frontier")
    )
    past_frontier = _beyond(
        s, (read.c.sort_value, read.c.id), (frontier.c.sort_value, frontier.c.id), None
    )
    exact = (
        select(read.c.id, read.c.sort_value)
        .where(~exists(select(literal(1)).select_from(frontier).where(past_frontier)))
        .cte("exact")
    )
    enough = or_(
        ~exists(select(literal(1)).select_from(frontier)),
        select(func.count()).select_from(exact).scalar_subquery() >= limit,
    )
    deep = first_of_each_list(limit).subquery("deep")
    return union_all(
        select(exact.c.id, exact.c.sort_value).where(enough),
        select(deep.c.id, deep.c.sort_value).where(~enough),
    ).subquery("candidates")


@functools.lru_cache(maxsize=1024)
def total_query(s: Shape) -> Query:
    """The capped total alone, for a page with no row to carry it."""
    return Query(select(_capped_total(s)), custom_plans=planned_per_call(s))


def _parts(s: Shape) -> list[Part]:
    # The inbox is nobody's but its user's.
    return ["own"] if s.in_list == "inbox" else ["own", "shared"]


def _capped_total(s: Shape) -> Any:
    """What the page's filters match, each part counted up to the cap (the own part not at
    all where TAGGED's count stands for it)."""
    counts = [
        _capped(_matching(s, part)) for part in _parts(s) if part == "shared" or counts_in_page(s)
    ]
    return functools.reduce(operator.add, counts) if counts else literal_column("0", Integer())


def _matching(s: Shape, part: Part) -> Select[Any]:
    """A row for each task of `part` the filters match. Filtered by one tag alone, the shared
    lists' tasks are their `task_tags` entries, read from the (list_id, tag) index alone."""
    if part == "shared" and counts_by_tag(s):
        return _tagged_in_shared_lists(s.dialect)
    return select(literal(1)).select_from(tasks).where(*_conditions(s, part))


def _tagged_in_shared_lists(dialect: str) -> Select[Any]:
    """The `task_tags` entries of the first tag in the lists shared with the caller. On
    PostgreSQL list by list (a LATERAL from the memberships): as one `list_id IN (...)`, the
    planner may walk the tag's entries of every list in the table to find the caller's."""
    tagged = task_tags.c.tag == _tag(0)
    if dialect != "postgresql":
        in_shared_lists = task_tags.c.list_id.in_(access.shared_lists(*_SEEN_SHARED))
        return select(literal(1)).where(in_shared_lists, tagged)
    mine = access.shared_lists(*_SEEN_SHARED).subquery("memberships")
    of_each_list = (
        select(literal(1).label("entry"))
        .where(task_tags.c.list_id == mine.c.list_id, tagged)
        .limit(_CAP)
        .lateral("tagged")
    )
    return select(literal(1)).select_from(mine).join(of_each_list, true())


# A shape's filters other than tags, each as it is when it filters nothing.
_NO_FILTER_BUT_TAGS: dict[str, Any] = {
    "completed": False,
    "priorities": 0,
    "q": False,
    "due_before": False,
    "due_after": False,
    "overdue": None,
    "in_list": "any",
    "parent": False,
    "top_level": None,
    "assignee": "any",
    "due_on": False,
}


def filtered(s: Shape) -> bool:
    """Whether a filter narrows the user's tasks. Unfiltered, every sort has one good plan for
    any user (walk the sort's index, count 1 001 index entries at most), reused from call to
    call. Filtered, the best plan depends on how many of this user's tasks match: each call
    is planned for its own values."""
    return s != s._replace(tags=0, common_tag=False, **_NO_FILTER_BUT_TAGS)


def planned_per_call(s: Shape) -> bool:
    """Whether each call is planned for its own values: filtered, but for the due-date
    filters that read the due-date index whatever the user and values. One day (`due_on`) is
    a short range of that index, read then sorted in any order; sorted by due date, a bound
    (`due_before`, `due_after`) is where the walk along it starts or stops. One plan, made
    once per session, then serves every call (planning was most of such a page's cost)."""
    by_due_date_alone = not filtered(s._replace(due_on=False, due_before=False, due_after=False))
    along_the_index = s.due_on or _field(s.sort) == "due_at"
    return filtered(s) and not (by_due_date_alone and along_the_index)


def counts_in_page(s: Shape) -> bool:
    """Whether the page statement counts the caller's own tasks. A search is not counted
    past its page; a list filtered by one tag alone has that count in TAGGED's (and the
    page counts the shared part)."""
    return not s.q and not counts_by_tag(s)


def counts_by_tag(s: Shape) -> bool:
    return s.tags == 1 and s == s._replace(**_NO_FILTER_BUT_TAGS)


# The cap is written in the SQL, not sent as a parameter, so that a reused (generic) plan is
# costed for it.
_CAP = literal_column(str(TOTAL_COUNT_CAP + 1), Integer())


def _capped(matching: Select[Any]) -> Any:
    counted = matching.limit(_CAP).subquery()
    return select(func.count()).select_from(counted).scalar_subquery()


def last_values(sort: Sort, row: Any) -> list[Any]:
    if _field(sort) == "title":
        return [row["sort_value"], row["id"]]
    return [row[_field(sort)], row["id"]]


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


def escape_like(text: str) -> str:
    """`%` and `_` in a search are the characters themselves, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tag(i: int) -> BindParameter[str]:
    return bindparam(f"tag_{i}", type_=String())


def _tagged(i: int) -> list[ColumnElement[bool]]:
    return [task_tags.c.user_id == bindparam("user_id"), task_tags.c.tag == _tag(i)]


# The user's tasks with the first tag (`tag_0`), counted up to the cap from `task_tags` alone.
TAGGED = Query(select(_capped(select(literal(1)).where(*_tagged(0)))))


def _has_all_tags(s: Shape, part: Part) -> ColumnElement[bool]:
    """Every one of the tags. The first tag's count decides how. A rare tag starts from its
    few `task_tags` entries (then sorts them). A common one is checked on each task the sort's
    index walks to, in the row's own `tags`, until the page is full; no index serves that
    check, so the planner cannot trade the walk for reading and sorting every tagged task.
    Shared lists' tasks (their owners' tags) are checked on each row, in their own part."""
    if not s.common_tag and part == "own":
        return and_(
            *(tasks.c.id.in_(select(task_tags.c.task_id).where(*_tagged(i))) for i in range(s.tags))
        )
    if s.dialect == "postgresql":
        return tasks.c.tags.op("@>")(bindparam("tags", type_=JSONB()))
    return and_(*(_sqlite_has_tag(i) for i in range(s.tags)))


def _sqlite_has_tag(i: int) -> ColumnElement[bool]:
    element = func.json_each(tasks.c.tags).table_valued("value")
    return exists(select(true()).select_from(element).where(element.c.value == _tag(i)))
