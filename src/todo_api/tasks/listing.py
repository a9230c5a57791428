"""Listing tasks: what a request asks (filters, a total order for every sort, opaque keyset
cursors), and the shape of the statement that answers it.

A cursor carries the sort values of the last task on a page, so the next page starts right
after it whatever was created or deleted meanwhile (no offsets). It is signed, and bound to the
user, the sort and the filters that made it: a tampered or foreign cursor is refused.

The statement itself is built below this module: `conditions` turns a shape's filters and
order into SQL, `pages` puts them together into the page, its total and the tag count.
"""

import dataclasses
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from todo_api import words
from todo_api.kit import zones
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables import keys
from todo_api.tables.tasks import Priority
from todo_api.tasks import filter_query

SortField = Literal["created_at", "updated_at", "due_at", "start", "priority", "title", "position"]
Sort = Literal[
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "due_at",
    "-due_at",
    "start",
    "-start",
    "priority",
    "-priority",
    "title",
    "-title",
    "position",
    "-position",
]
DEFAULT_SORT: Sort = "-created_at"
# The sorts by a moment some tasks lack (they come last either way), and the column each reads:
# an all-day task's instant its date starts in its zone.
DATED_SORTS: dict[SortField, str] = {"due_at": "due_at", "start": "start_at"}
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
    section_id: uuid.UUID | None = None
    no_section: bool = False  # only tasks in no section (section_id=none)
    parent_id: uuid.UUID | None = None
    top_level: bool | None = None
    assignee: Assignee = None
    due_on: date | None = None  # due that day: timed tasks on the caller's clock
    start_before: datetime | None = None
    start_after: datetime | None = None
    filter: filter_query.Node | None = None  # a query in the filter language (one group)

    def fingerprint(self) -> str:
        """What a cursor remembers of the filters (every field), to refuse it under others."""
        if self == NO_FILTERS:  # the plain listing's, every page of it: worked out once
            return _NO_FILTERS_FINGERPRINT
        return self._fingerprint()

    def _fingerprint(self) -> str:
        canonical = json.dumps(
            [getattr(self, name) for name in _PLAIN_FILTERS], default=_json_value
        )
        if self.filter is not None:  # its repr tells `a & b` from `a | b`
            canonical += repr(self.filter)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# The fields a fingerprint writes as JSON, in their order (the filter language's query is
# written by its repr after them).
_PLAIN_FILTERS = tuple(f.name for f in dataclasses.fields(TaskFilters) if f.name != "filter")


@dataclass(frozen=True)
class ListQuery:
    filters: TaskFilters = field(default_factory=TaskFilters)
    sort: Sort = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    # A filter of several groups (`today, overdue`): each answered as its own first page.
    groups: tuple[filter_query.Group, ...] = ()

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


NO_FILTERS = TaskFilters()
_NO_FILTERS_FINGERPRINT = NO_FILTERS._fingerprint()


def _parse_last(sort_field: SortField, last: Any) -> list[Any]:
    value, task_id = last
    if value is not None and sort_field in {"created_at", "updated_at", *DATED_SORTS}:
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # the first or last instant, as asyncpg gives them (UTC)
            value = value.replace(tzinfo=UTC)
    return [value, uuid.UUID(task_id)]


def field_of(sort: Sort) -> SortField:
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
    start_before: bool = False
    start_after: bool = False
    filter: filter_query.Node | None = None  # the query's skeleton (its values are bound)
    section: Literal["any", "none", "one"] = "any"


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
        f.start_before is not None,
        f.start_after is not None,
        None if f.filter is None else filter_query.skeleton(f.filter),
        "none" if f.no_section else "one" if f.section_id is not None else "any",
    )


def parameters(
    query: ListQuery,
    user_id: uuid.UUID,
    now: datetime,
    last: list[Any] | None,
    zone: str = zones.DEFAULT_ZONE,
) -> dict[str, Any]:
    """The values for the bind parameters `conditions_of` and `after` name; `zone` is the
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
    if f.start_before is not None:
        params["start_before"] = f.start_before
    if f.start_after is not None:
        params["start_after"] = f.start_after
    if f.list_id is not None:
        params["list_id"] = f.list_id
    if f.parent_id is not None:
        params["parent_id"] = f.parent_id
    if f.section_id is not None:
        params["section_id"] = f.section_id
    if f.assignee not in (None, "none"):
        params["assignee_id"] = user_id if f.assignee == "me" else f.assignee
    if f.filter is not None:
        params.update(filter_parameters(f.filter, now, zone))
    if last is not None:
        params["after_value"], params["after_id"] = last
    return params


# Farther than any zone's offset from UTC (the farthest, local mean times of the 19th century
# included, are under 16 hours) and a gap at midnight: a day starts in every zone within this
# of the day's start in UTC.
_FARTHEST_OFFSET = timedelta(hours=18)


def escape_like(text: str) -> str:
    """`%` and `_` in a search are the characters themselves, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
    "start_before": False,
    "start_after": False,
    "filter": None,
}


def filtered(s: Shape) -> bool:
    """Whether a filter narrows the user's tasks. Unfiltered, every sort has one good plan for
    any user (walk the sort's index, count 1 001 index entries at most), reused from call to
    call. Filtered, the best plan depends on how many of this user's tasks match: each call
    is planned for its own values."""
    return s != s._replace(tags=0, common_tag=False, **_NO_FILTER_BUT_TAGS)


# Filters that leave most of a user's tasks in, and that no index of theirs leads.
_BROAD_FILTERS = ("completed", "priorities", "top_level", "assignee")


def counted_by_tag_entries(s: Shape) -> bool:
    """Whether the total counts the first tag's entries, each task then read by its key and
    checked (PostgreSQL): a tag beside filters that leave most tasks in (beside a state alone,
    the entries are enough: `counted_by_tag_state`). Its entries find the matches among the
    tagged tasks alone; walked, `tag=groceries&completed=false` read every open task of a
    user's (45 ms for 100 000) to count a few hundred."""
    others = {k: v for k, v in _NO_FILTER_BUT_TAGS.items() if k not in _BROAD_FILTERS}
    return (
        s.dialect == "postgresql"
        and s.tags > 0
        and not counts_by_tag(s)
        and s == s._replace(**others)
    )


def counted_by_tag_state(s: Shape) -> bool:
    """Whether the total counts the first tag's entries in the asked state, from the entries
    alone (PostgreSQL): one tag and a state, no other filter (`task_tags` keeps each task's
    state, migration 0021). Read by key, each task's state cost a lookup: 1 545 of them (3
    ms) to tell that a user with 100 000 tasks has over 1 000 open with a tag."""
    return s.dialect == "postgresql" and s.completed and counts_by_tag(s._replace(completed=False))


def planned_per_call(s: Shape) -> bool:
    """Whether each call is planned for its own values: filtered, but for the due-date
    filters that read the due-date index whatever the user and values. One day (`due_on`) is
    a short range of that index, read then sorted in any order; sorted by due date, a bound
    (`due_before`, `due_after`) is where the walk along it starts or stops. One plan, made
    once per session, then serves every call (planning was most of such a page's cost). The
    start's bounds, sorted by start, likewise. And a list's (or the inbox's) open or done
    tasks in their manual order (the web app's list pages): no index leads with completion,
    so every plan reads the group's tasks (or the user's, in order) until the page is full,
    whatever the values; planning each call cost more than reading the page (bench/README.md,
    "The web app's inbox")."""
    by_due_date_alone = not filtered(s._replace(due_on=False, due_before=False, due_after=False))
    along_the_index = s.due_on or field_of(s.sort) == "due_at"
    by_start_alone = not filtered(s._replace(start_before=False, start_after=False))
    along_the_start = field_of(s.sort) == "start"
    one_group_in_order = (
        s.in_list != "any"
        and field_of(s.sort) == "position"
        and not filtered(s._replace(completed=False, in_list="any"))
    )
    return filtered(s) and not (
        (by_due_date_alone and along_the_index)
        or (by_start_alone and along_the_start)
        or one_group_in_order
    )


def counted_per_call(s: Shape) -> bool:
    """Whether a total alone (`pages.total_column`: no page, so no order) is planned for each
    call's values: as its page is, but for the kept counts (`counts_kept`: a few rows by key)
    and a count by the due date, the start and completion alone, which reads the due date's
    (or the start's) range of the user's index, and of each shared list's, whatever the values
    (the sidebar's Today and Upcoming)."""
    by_dates_alone = not filtered(
        s._replace(
            completed=False,
            due_on=False,
            due_before=False,
            due_after=False,
            start_before=False,
            start_after=False,
        )
    )
    return planned_per_call(s) and not (counts_kept(s) or by_dates_alone)


def counts_kept(s: Shape) -> bool:
    """Whether the total is read from the counts the writes keep (`task_counts`): on
    PostgreSQL, filtered by completion and by list alone, or not at all. SQLite counts up to
    the cap as fast as it reads the kept rows (`bench/sqlite_routes.py`)."""
    return s.dialect == "postgresql" and not filtered(s._replace(completed=False, in_list="any"))


def counts_in_page(s: Shape) -> bool:
    """Whether the page statement counts the caller's own tasks. A search is not counted
    past its page; a list filtered by one tag alone has that count in TAGGED's (and the
    page counts the shared part)."""
    return not searches(s) and not counts_by_tag(s)


def searches(s: Shape) -> bool:
    """Whether the shape searches text (`q`, or a filter's `search:`): its total is not
    counted past its pages (see TOTAL_COUNT_CAP)."""
    return s.q or (s.filter is not None and filter_query.searches(s.filter))


def counts_by_tag(s: Shape) -> bool:
    return s.tags == 1 and s == s._replace(**_NO_FILTER_BUT_TAGS)


def last_values(sort: Sort, row: Any) -> list[Any]:
    if field_of(sort) == "title":
        return [row["sort_value"], row["id"]]
    return [row[DATED_SORTS.get(field_of(sort), field_of(sort))], row["id"]]


def filter_parameters(tree: filter_query.Node, now: datetime, zone: str) -> dict[str, Any]:
    """The values `filter_sql.condition` binds for the tree (with its values), on the clock
    of the caller's zone at `now`."""
    today = now.astimezone(zones.zone(zone)).date()
    params: dict[str, Any] = {}
    leaves = _leaves(tree)
    for i, leaf in enumerate(leaves):
        name = f"filter_{i}"
        kind, value = leaf.kind, leaf.value
        if kind == "today":
            params.update(_day_span(name, today, today, zone))
        elif kind == "tomorrow":
            tomorrow = today + timedelta(days=1)
            params.update(_day_span(name, tomorrow, tomorrow, zone))
        elif kind == "next_7_days":
            params.update(_day_span(name, today, today + timedelta(days=6), zone))
        elif kind in ("due_before", "due_after"):
            named = _iso_day(str(value)) or words.read_date(str(value), now, zone, leaf.lang)
            assert named is not None  # read when the query was
            params.update(_bound_span(name, kind == "due_before", named, zone))
        elif kind == "priority":
            params[name] = 4 - int(value or 4)  # p1 high (3) .. p4 none (0)
        elif kind in ("list", "list_deep"):
            params[name] = keys.name_key(str(value))
            params[f"{name}_inbox"] = params[name] == "inbox"
        elif kind == "section":
            params[name] = keys.name_key(str(value))
        elif kind == "tag":
            params[name] = keys.tag_form(str(value))
        elif kind in ("assigned_to", "created_by"):
            params[name] = str(value).casefold()
        elif kind == "search":
            params[name] = f"%{escape_like(keys.search_key(str(value)))}%"
    return params


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(text: str) -> date | None:
    """A date written `YYYY-MM-DD` (what a page's own bounds are), read without the words'
    reader (which reads it the same, at a hundred times the cost); else None."""
    if not _ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _bound_span(name: str, before: bool, named: date, zone: str) -> dict[str, Any]:
    """The values `filter_sql._days` binds for every day before (`before`) or after the day
    named, that day excluded; with a time named, every moment before or after it (and the
    all-day tasks of the days that start before it, or of the days after its own)."""
    local = named.astimezone(zones.zone(zone)) if isinstance(named, datetime) else None
    day = local.date() if local is not None else named
    try:
        if before:
            last = day if local is not None and local.time() != time.min else day - _DAY
            first = date.min
        else:
            first, last = day + _DAY, date.max
    except OverflowError:  # before the first day or after the last: no day at all
        first, last = date.max, date.min
    span = _day_span(name, first, last, zone)
    if local is not None and first <= last:
        moment = local.astimezone(UTC)
        if before:
            span[f"{name}_end"] = moment
        else:
            span[f"{name}_start"] = _plus(moment, timedelta(microseconds=1))
            span[f"{name}_from"] = min(span[f"{name}_from"], moment)
    return span


_DAY = timedelta(days=1)


def _day_span(name: str, first: date, last: date, zone: str) -> dict[str, Any]:
    """The values `filter_sql._days` binds: the days from `first` to `last` on the zone's
    clock."""
    if last < first:  # before the first day there is: none
        return {
            f"{name}_first": date.max,
            f"{name}_last": date.min,
            f"{name}_start": zones.LAST_INSTANT,
            f"{name}_end": zones.FIRST_INSTANT,
            f"{name}_from": zones.LAST_INSTANT,
            f"{name}_to": zones.FIRST_INSTANT,
        }
    start = zones.FIRST_INSTANT if first == date.min else zones.start_of(first, zone)
    end = zones.day_bounds(last, zone)[1]
    utc_start = zones.start_of(first, "UTC")
    utc_end = zones.day_bounds(last, "UTC")[1]
    return {
        f"{name}_first": first,
        f"{name}_last": last,
        f"{name}_start": start,
        f"{name}_end": end,
        f"{name}_from": min(start, _plus(utc_start, -_FARTHEST_OFFSET)),
        f"{name}_to": max(end, _plus(utc_end, _FARTHEST_OFFSET)),
    }


def _leaves(node: filter_query.Node) -> list[filter_query.Condition]:
    if isinstance(node, filter_query.Condition):
        return [node]
    if isinstance(node, filter_query.Not):
        return _leaves(node.operand)
    return [leaf for operand in node.operands for leaf in _leaves(operand)]
