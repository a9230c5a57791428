"""The list statements: one page of the caller's own and shared tasks with its total (kept by
the writes, or counted up to a cap), the total alone, and the count of a tag
(todo_api.tasks.listing says which shape a request takes; todo_api.tasks.conditions gives each
filter and order)."""

import dataclasses
import functools
import operator
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Select,
    Uuid,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.sql.expression import UnaryExpression

from todo_api.db import Connection, Query, Result, UTCDateTime
from todo_api.kit import access, zones
from todo_api.kit.ids import utcnow
from todo_api.tables.tasks import task_counts, task_tags, tasks
from todo_api.tasks import counts, filter_query, listing, schedule
from todo_api.tasks.conditions import (
    SEEN_SHARED,
    Part,
    after,
    between,
    beyond,
    conditions_of,
    order_by,
    ordered,
    sort_key,
    tag_entries,
    tag_param,
)
from todo_api.tasks.listing import (
    TOTAL_COUNT_CAP,
    Shape,
    counted_by_tag_entries,
    counted_by_tag_state,
    counts_by_tag,
    counts_in_page,
    counts_kept,
    field_of,
    filtered,
    planned_per_call,
)
from todo_api.tasks.schemas import TASK_FIELDS, shown_tasks


def _pinned_group(s: Shape) -> list[Any]:
    """With sort=position among one list's (or the inbox's) tasks of one parent (or the top
    level), the list and parent are the same on every row: ordering by them too changes
    nothing but lets PostgreSQL read the group's index in order instead of sorting."""
    pinned = s.in_list != "any" and (s.parent or s.top_level is True)
    if field_of(s.sort) != "position" or not pinned:
        return []
    columns = (tasks.c.user_id, tasks.c.list_id, tasks.c.parent_id)
    return [c.desc() if s.sort.startswith("-") else c.asc() for c in columns]


SUBTASK_FIELDS = ("id", "subtasks")
FILE_FIELDS = ("id", "files")


@functools.lru_cache(maxsize=1024)
def page_query(s: Shape, *, subtasks: bool = False) -> Query:
    """One page (limit + 1 rows, to tell whether another follows) with the capped total: the
    first rows of each part in the shape's order, then the first of both. With `subtasks`,
    each row's subtasks counted too (the web app's list shows `2/5` beside each)."""
    limit = bindparam("limit", type_=Integer())
    sort_value = sort_key(field_of(s.sort), s.dialect).label("sort_value")
    parts = []
    for part in _parts(s):
        if part == "shared" and s.dialect == "postgresql":
            parts.append(_first_of_each_shared_list(s, sort_value))
            continue
        if part == "own" and _led_by_tag_entries(s):
            task = _by_tag_entries(s, sort_value)
            first = select(task).order_by(*page_order(s, task)).limit(limit)
            parts.append(select(first.subquery()))
            continue
        conditions = conditions_of(s, part)
        if s.cursor != "none":
            conditions.append(after(s))
        first = (
            select(tasks, sort_value)
            .where(*conditions)
            .order_by(*_pinned_group(s), *order_by(s.sort, s.dialect))
            .limit(limit)
        )
        parts.append(select(first.subquery()))  # SQLite: a compound's parts are plain SELECTs
    page = union_all(*parts).subquery("page") if len(parts) > 1 else parts[0].subquery("page")
    columns: list[Any] = [page]
    if not listing.searches(s):
        columns.append(_total(s).label("total_count"))
    if subtasks:
        columns.append(counts.subtasks_column(page.c.id).label("subtasks"))
        columns.append(counts.files_column(page.c.id).label("files"))
    return Query(
        select(*columns).order_by(*page_order(s, page)).limit(limit),
        custom_plans=planned_per_call(s),
    )


def _led_by_tag_entries(s: Shape) -> bool:
    """Whether the caller's own tasks are read from a rare first tag's entries (PostgreSQL)."""
    return s.dialect == "postgresql" and s.tags > 0 and not s.common_tag


def _by_tag_entries(s: Shape, *columns: Any) -> Any:
    """The caller's own tasks with a rare first tag (at most the cap of them, which is what
    makes it rare), led by its `task_tags` entries, each task then read by its key and checked
    against the filters (every tag in its own `tags`): a thousand lookups at most. Left to
    choose, a planner that knows nothing yet of this user's rows (a fresh import, not yet
    analysed) read every tag entry again for each task (80 ms a page for 20 000 tasks)."""
    entries = select(task_tags.c.task_id).where(*tag_entries(0)).subquery("tag_entries")
    # Entries keyed by the caller are the caller's tasks: the lookup is by `id` alone, which
    # no index but the primary key leads.
    conditions = conditions_of(s._replace(common_tag=True), "own", scoped=False)
    if s.cursor != "none":
        conditions.append(after(s))
    # LIMIT 1 keeps the lateral a lookup per entry: flattened, the planner could join again.
    task = (
        select(tasks, *columns)
        .where(tasks.c.id == entries.c.task_id, *conditions)
        .limit(1)
        .lateral("tagged_task")
    )
    return select(task).select_from(entries).join(task, true()).subquery("tagged")


def page_order(s: Shape, rows: Any) -> list[UnaryExpression[Any]]:
    """The shape's order on rows that carry `sort_value` and `id` (a page's parts, or a
    statement that reads page_query's rows beside its own)."""
    key: ColumnElement[Any] = rows.c.sort_value
    if field_of(s.sort) == "title" and s.dialect == "postgresql":
        key = key.collate("C")
    return ordered(s.sort, (key, rows.c.id))


# Which rows of a list a walk keeps, given the walk's row (a sort value and an id).
Within = Callable[[tuple[Any, Any]], ColumnElement[bool]]


def _first_of_each_shared_list(s: Shape, sort_value: Any) -> Select[Any]:
    """The shared part on PostgreSQL: each list shared with the caller read from the
    list-led index of the sort (migration 0012), in order, and stopped early; then whole rows
    for the first `limit` of them. The lists' tasks in one scan (`list_id IN (...)`) would
    come in no order, to be sorted whole: a member of 20 lists of 5 000 tasks would sort
    100 000 rows a page. SQLite, embedded and small, keeps that simpler form.

    Unfiltered, each list's first `limit` entries come from its index alone, as do a tag's
    in creation order (`task_tags`, migration 0016), and a tag's in a state (the entry's own
    state, 0021); a tag beside other filters walks the tag's entries too, each task read by
    its key to be checked, rather than the list's tasks for the few with the tag. Otherwise
    filtered, each row walked to is read to be checked, and a list's first `limit` matches
    can be far down: each list is first read only as deep as its share of the page
    (`_read_shallow_first`)."""
    limit = bindparam("limit", type_=Integer())
    one_list = bindparam("list_id", type_=Uuid()) if s.in_list == "one" else None
    mine = access.shared_lists(*SEEN_SHARED, list_id=one_list).cte("memberships")

    in_creation_order = field_of(s.sort) == "created_at"
    by_tag_entries = counts_by_tag(s) and in_creation_order
    # A tag beside broad filters: the tag's entries walked, each task checked by its key.
    led_by_tag = by_tag_entries or (counted_by_tag_entries(s) and in_creation_order)

    def first_of_each_list(lists: Any, depth: Any, within: Within | None = None) -> Select[Any]:
        """The first `depth` rows of each of `lists` after the cursor, or `within` (given the
        walk's row): (list_id, id, sort_value)."""
        if led_by_tag:
            row = (task_tags.c.created_at, task_tags.c.task_id)
            conditions = [task_tags.c.list_id == lists.c.list_id, task_tags.c.tag == tag_param(0)]
            if counted_by_tag_state(s):  # the state is the entry's own (migration 0021)
                conditions.append(_entry_in_state())
            elif not by_tag_entries:
                checked = conditions_of(s._replace(common_tag=True), "shared", scoped=False)
                conditions.append(exists().where(tasks.c.id == task_tags.c.task_id, *checked))
        else:
            row = (sort_value.element, tasks.c.id)
            conditions = [tasks.c.list_id == lists.c.list_id, *conditions_of(s, "shared", False)]
        if within:  # past a row read after the cursor: past the cursor too
            conditions.append(within(row))
        elif s.cursor != "none":
            conditions.append(after(s, row))
        walked = (
            select(row[1].label("id"), row[0].label("sort_value"))
            .where(*conditions)
            .order_by(*ordered(s.sort, row))
            .limit(depth)
            .lateral("first_of_list")
        )
        return select(lists.c.list_id, walked.c.id, walked.c.sort_value).join_from(
            lists, walked, true()
        )

    candidates = (
        _read_shallow_first(s, mine, first_of_each_list)
        if filtered(s) and not by_tag_entries
        else first_of_each_list(mine, limit).subquery("candidates")
    )
    chosen = (
        select(candidates.c.id, candidates.c.sort_value)
        .order_by(*page_order(s, candidates))
        .limit(limit)
        .subquery("first_shared")
    )
    return select(tasks, chosen.c.sort_value).join_from(chosen, tasks, tasks.c.id == chosen.c.id)


def _read_shallow_first(s: Shape, mine: Any, first_of_each_list: Callable[..., Select[Any]]) -> Any:
    """Each list's first `depth` matches (its even share of the page), then further those
    that had `depth` and stopped short of `bound`, the `limit`-th of every row read: the
    page's last shared row can come no later than that (they are matches all), so each list
    need be read only to there, and to no more rows than can still be on the page after the
    rows read before its last (`limit - place`; with fewer than `limit` read, no bound).
    A statement cannot merge a number of ordered walks known only when it runs; this reads
    about what a merge would. On a member of 20 lists and a search that one task in 37
    matches: 3 050 rows, where a merge would read 1 900 and each list read to the page 38 000."""
    limit = bindparam("limit", type_=Integer())
    lists_count = select(func.count()).select_from(mine).scalar_subquery()
    share = cast(func.ceil(limit / func.greatest(lists_count, 1.0)), Integer())
    depth = select(share.label("rows")).cte("depth")
    shallow = first_of_each_list(mine, select(depth.c.rows).scalar_subquery()).subquery("shallow")
    order = page_order(s, shallow)
    read = select(
        shallow,
        func.row_number().over(partition_by=shallow.c.list_id, order_by=order).label("nth"),
        func.row_number().over(order_by=order).label("place"),
    ).cte("read")
    bound = select(read.c.sort_value, read.c.id).where(read.c.place == limit).cte("bound")
    bound_row = (
        select(bound.c.sort_value).scalar_subquery(),
        select(bound.c.id).scalar_subquery(),
    )
    # A list's last row read, when it had `depth` and its next may still be on the page: at
    # most `limit - place` more of it can be, after the rows read before it.
    short = (
        select(read.c.list_id, read.c.sort_value, read.c.id, (limit - read.c.place).label("room"))
        .where(read.c.nth == select(depth.c.rows).scalar_subquery(), read.c.place < limit)
        .cte("short_of_bound")
    )
    last_read = (short.c.sort_value, short.c.id)
    # Between a list's last row read and a dated bound (a task before a dated one is dated
    # too), an index range; else past the last row. Rows past the bound may come too: the
    # page's rows are before it all the same.
    to_bound: ColumnElement[bool] = exists(select(literal(1)).select_from(bound))
    if field_of(s.sort) in listing.DATED_SORTS:
        to_bound = to_bound & bound_row[0].is_not(None)
    up_to_bound = first_of_each_list(
        short, short.c.room, lambda row: between(row, last_read, bound_row, s.sort)
    ).where(to_bound)
    past_last = (
        first_of_each_list(short, short.c.room, lambda row: beyond(s, row, last_read, None))
        .where(~to_bound)
        .subquery("past_last")
    )
    further = up_to_bound.subquery("up_to_bound")
    return union_all(
        select(read.c.id, read.c.sort_value),
        select(further.c.id, further.c.sort_value),
        select(past_last.c.id, past_last.c.sort_value),
    ).subquery("candidates")


@functools.lru_cache(maxsize=1024)
def total_query(s: Shape) -> Query:
    """The total alone, for a page with no row to carry it."""
    return Query(select(_total(s)), custom_plans=planned_per_call(s))


def _parts(s: Shape, shared: bool = True) -> list[Part]:
    # The inbox is nobody's but its user's.
    return ["own"] if s.in_list == "inbox" or not shared else ["own", "shared"]


def _total(s: Shape, shared: bool = True) -> Any:
    return _kept_total(s, shared) if counts_kept(s) else _capped_total(s, shared)


def _kept_total(s: Shape, shared: bool = True) -> Any:
    """The total from the rows of `task_counts`: the caller's inbox and lists (or the one
    list, or the inbox alone), and the lists shared with them; a few rows, whatever the
    number of tasks. The shared lists' rows are read list by list from the memberships, by
    key: as one `scope_id IN (...)`, a table not yet analysed is read whole."""
    counts = task_counts.c
    counted: Any = counts.open_count + counts.done_count
    if s.completed:
        completed = bindparam("completed", type_=Boolean())
        counted = case((completed, counts.done_count), else_=counts.open_count)

    def summed(*where: ColumnElement[bool]) -> Any:
        return select(func.coalesce(func.sum(counted), 0)).where(*where).scalar_subquery()

    if s.in_list == "inbox":
        return summed(counts.scope_id == access.caller())
    one = [counts.scope_id == bindparam("list_id", type_=Uuid())] if s.in_list == "one" else []
    own = summed(counts.user_id == access.caller(), *one)
    if not shared:
        return own
    mine = access.shared_lists(*SEEN_SHARED).subquery("memberships")
    of_each_list = summed(counts.scope_id == mine.c.list_id, *one)
    theirs = select(func.coalesce(func.sum(of_each_list), 0)).select_from(mine)
    return own + theirs.scalar_subquery()


def _capped_total(s: Shape, shared: bool = True) -> Any:
    """What the page's filters match, each part counted up to the cap (the own part not at
    all where TAGGED's count stands for it)."""
    counts = [
        _capped(_matching(s, part))
        for part in _parts(s, shared)
        if part == "shared" or counts_in_page(s)
    ]
    return functools.reduce(operator.add, counts) if counts else literal_column("0", Integer())


def _matching(s: Shape, part: Part) -> Select[Any]:
    """A row for each task of `part` the filters match. Filtered by one tag alone (or one tag
    and a state), the tasks are their `task_tags` entries, read from an index alone."""
    if part == "shared" and counts_by_tag(s):
        return _tagged_in_shared_lists(s.dialect)
    if part == "shared" and counted_by_tag_state(s):
        return _tagged_in_shared_lists(s.dialect, _entry_in_state())
    if part == "own" and counted_by_tag_state(s):
        return select(literal(1)).where(*tag_entries(0), _entry_in_state())
    if part == "shared" and counted_by_tag_entries(s):
        return _tag_entries_in_shared_lists(s)
    if part == "own" and (_led_by_tag_entries(s) or counted_by_tag_entries(s)):
        return select(literal(1)).select_from(_by_tag_entries(s._replace(cursor="none")))
    return select(literal(1)).select_from(tasks).where(*conditions_of(s, part))


def _tag_entries_in_shared_lists(s: Shape) -> Select[Any]:
    """The tasks of the lists shared with the caller that the filters match, found from each
    list's entries of the first tag (the (list_id, tag) index), each task read by its key."""
    mine = access.shared_lists(*SEEN_SHARED).subquery("memberships")
    entries = (
        select(task_tags.c.task_id)
        .where(task_tags.c.list_id == mine.c.list_id, task_tags.c.tag == tag_param(0))
        .lateral("tag_entries")
    )
    conditions = conditions_of(s._replace(common_tag=True), "shared", scoped=False)
    # LIMIT 1 keeps the lateral a lookup per entry (see _by_tag_entries).
    task = (
        select(literal(1).label("found"))
        .where(tasks.c.id == entries.c.task_id, *conditions)
        .limit(1)
        .lateral("tagged_task")
    )
    return select(literal(1)).select_from(mine).join(entries, true()).join(task, true())


def _entry_in_state() -> ColumnElement[bool]:
    return task_tags.c.is_completed == bindparam("completed")


def _tagged_in_shared_lists(dialect: str, *also: ColumnElement[bool]) -> Select[Any]:
    """The `task_tags` entries of the first tag in the lists shared with the caller (that
    match `also`, of the entry alone). On PostgreSQL list by list (a LATERAL from the
    memberships): as one `list_id IN (...)`, the planner may walk the tag's entries of every
    list in the table to find the caller's."""
    tagged = and_(task_tags.c.tag == tag_param(0), *also)
    if dialect != "postgresql":
        in_shared_lists = task_tags.c.list_id.in_(access.shared_lists(*SEEN_SHARED))
        return select(literal(1)).where(in_shared_lists, tagged)
    mine = access.shared_lists(*SEEN_SHARED).subquery("memberships")
    of_each_list = (
        select(literal(1).label("entry"))
        .where(task_tags.c.list_id == mine.c.list_id, tagged)
        .limit(_CAP)
        .lateral("tagged")
    )
    return select(literal(1)).select_from(mine).join(of_each_list, true())


# The cap is written in the SQL, not sent as a parameter, so that a reused (generic) plan is
# costed for it.
_CAP = literal_column(str(TOTAL_COUNT_CAP + 1), Integer())


def _capped(matching: Select[Any]) -> Any:
    counted = matching.limit(_CAP).subquery()
    return select(func.count()).select_from(counted).scalar_subquery()


# The user's tasks with the first tag (`tag_0`), counted up to the cap from `task_tags` alone.
TAGGED = Query(select(_capped(select(literal(1)).where(*tag_entries(0)))))


class RangeTask(NamedTuple):
    """What a calendar shows of a task (web.tasks.calendar): no tags, reminders, subtasks or total;
    the priority as stored (3 high .. 0 none). What only a repeating task's occurrences read
    is None for a task due once: `due_at` when it is due on a day (its `due_date`; `due_at`
    is then the start of that date), `timezone` and `series_start` (each value read costs
    the month's page: a time a row is the dearest to decode)."""

    id: uuid.UUID
    title: str
    priority: int
    due_at: datetime | None
    due_date: date | None
    recurrence: str | None
    timezone: str | None
    series_start: datetime | None


RANGE_FIELDS = RangeTask._fields


def _range_columns(rows: Any) -> list[Any]:
    """RANGE_FIELDS of `rows` (the tasks table, or a subquery of its columns), those a task
    due once does not need as None (RangeTask)."""
    repeats = rows.c.recurrence.is_not(None)
    timed_or_repeating = or_(rows.c.due_date.is_(None), repeats)
    return [
        *(rows.c[name] for name in RANGE_FIELDS[:3]),
        case((timed_or_repeating, rows.c.due_at)).label("due_at"),
        rows.c.due_date,
        rows.c.recurrence,
        case((repeats, rows.c.timezone)).label("timezone"),
        case((repeats, rows.c.series_start)).label("series_start"),
    ]


@functools.lru_cache(maxsize=256)
def range_query(s: Shape, *, per_day: bool = False) -> Query:
    """The tasks the shape's filters match (the own part, then the shared) that a range of days
    may show: undated, or due from `window_start` to before `window_end`, or repeating and due
    before its end (an occurrence may fall in it). `limit` at most, RANGE_FIELDS alone, no
    order (the calendar places them by day), no total. An all-day task's `due_at` is the start
    of its date in its zone, so one window of instants holds both kinds. Planned in whichever
    mode the session is in (no round trip to switch): with no order to walk, every plan reads
    the group's (or the user's) tasks by its index and checks each.

    With `per_day` (PostgreSQL), a task due once is read only when it is among the first
    `per_day` of its day on the person's clock (timed first, by time) or on the day `whole`,
    and each row says its day (`slot`: 1 for the range's first day, by `day_starts`, the
    instants its days start) and how many tasks are due once that day (`slot_total`): a month
    counts the tasks its full days leave out rather than reading them. Repeating and undated
    tasks are all read (their occurrences are placed in Python)."""
    at, instant = tasks.c.due_at, UTCDateTime()
    in_window = or_(
        at.is_(None),
        and_(
            at < bindparam("window_end", type_=instant),
            or_(at >= bindparam("window_start", type_=instant), tasks.c.recurrence.is_not(None)),
        ),
    )
    columns = [tasks.c[name] for name in RANGE_FIELDS]
    parts = [select(*columns).where(*conditions_of(s, part), in_window) for part in _parts(s)]
    found = union_all(*parts) if len(parts) > 1 else parts[0]
    limit = bindparam("limit", type_=Integer())
    f = found.subquery("found")
    if not per_day:
        return Query(select(*_range_columns(f)).limit(limit), any_plan=True)
    slot = case(
        (or_(f.c.recurrence.is_not(None), f.c.due_at.is_(None)), None),
        (
            f.c.due_date.is_not(None),
            f.c.due_date - bindparam("first_day", type_=Date()) + 1,
        ),
        else_=func.width_bucket(
            f.c.due_at, bindparam("day_starts", type_=ARRAY(DateTime(timezone=True)))
        ),
    )
    ranked = select(
        f,
        slot.label("slot"),
        func.row_number()
        .over(partition_by=slot, order_by=(f.c.due_date.is_not(None), f.c.due_at, f.c.id))
        .label("place"),
        func.count().over(partition_by=slot).label("slot_total"),
    ).subquery("ranked")
    kept = or_(
        ranked.c.slot.is_(None),
        ranked.c.place <= bindparam("per_day", type_=Integer()),
        ranked.c.slot == bindparam("whole_slot", type_=Integer()),
    )
    shown = [*_range_columns(ranked), ranked.c.slot, ranked.c.slot_total]
    return Query(select(*shown).where(kept).limit(limit), any_plan=True)


class Days(NamedTuple):
    """The days a range shows, from `first` to before `end` on the person's clock, each with at
    most `per_day` of its tasks due once, except the day `whole` with all of its own."""

    first: date
    end: date
    per_day: int
    whole: date


@dataclass(frozen=True)
class Range:
    tasks: list[RangeTask]
    # The tasks due once on each day that were counted and not read (with `days`).
    left_out: dict[date, int] = dataclasses.field(default_factory=dict)


async def range_tasks(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    query: listing.ListQuery,
    window: tuple[datetime, datetime],
    zone: str,
    days: Days | None = None,
) -> Range:
    """The tasks `query`'s filters find that the `window` of instants may show (range_query),
    its limit at most, in one statement; `zone` is the caller's, whose days the filters read.
    The caller places them on its days: the window may hold a few more. With `days`, on
    PostgreSQL, the tasks a full day leaves out are counted, not read (SQLite reads them all:
    it has no zones to find a day with)."""
    params = listing.parameters(query, user_id, utcnow(), None, zone)
    params["window_start"], params["window_end"] = window
    shape = listing.shape(query, conn.name, None)
    if days is None or conn.name != "postgresql":
        rows = await conn.execute(range_query(shape), params)
        return Range(list(map(RangeTask._make, rows.picked(RANGE_FIELDS, query.limit))))
    count = (days.end - days.first).days
    params["first_day"], params["per_day"] = days.first, days.per_day
    params["whole_slot"] = (days.whole - days.first).days + 1
    params["day_starts"] = list(_day_starts(days.first, count, zone))
    rows = await conn.execute(range_query(shape, per_day=True), params)
    found = list(map(RangeTask._make, rows.picked(RANGE_FIELDS, query.limit)))
    totals, read = {}, Counter[int]()
    for slot, total in rows.picked(("slot", "slot_total"), query.limit):
        if slot is not None and 0 < slot <= count:
            totals[slot] = total
            read[slot] += 1
    left_out = {
        days.first + timedelta(days=slot - 1): total - read[slot]
        for slot, total in totals.items()
        if total > read[slot]
    }
    return Range(found, left_out)


@functools.lru_cache(maxsize=256)  # a month shown again, or another person's in that zone
def _day_starts(first: date, count: int, zone: str) -> tuple[datetime, ...]:
    """The instants the `count` days from `first` and the day after them start in `zone`."""
    return tuple(zones.start_of(first + timedelta(days=n), zone) for n in range(count + 1))


@dataclass(frozen=True)
class Page:
    tasks: list[dict[str, Any]]  # as the API shows them (schemas.task_body)
    total: int  # the tasks matching on every page, or at least this many when `total_is_minimum`
    total_is_minimum: bool
    next_cursor: str | None
    # With `list_tasks(subtasks=True)`: each task's (done, total) subtasks, for tasks with any.
    subtasks: dict[uuid.UUID, tuple[int, int]] = dataclasses.field(default_factory=dict)
    # And each task's number of files, for tasks with any (the list's rows show it).
    files: dict[uuid.UUID, int] = dataclasses.field(default_factory=dict)


async def list_tasks(
    conn: Connection,
    user_id: uuid.UUID,
    *,
    query: listing.ListQuery,
    cursors: listing.CursorCodec,
    subtasks: bool = False,
) -> Page:
    """One page of the user's tasks, and the filtered total, in one round trip; with
    `subtasks`, their subtasks counted in it too.

    Raises listing.InvalidCursor for a cursor this user, sort and filters did not get.
    """
    last, seen = _left_off(user_id, query, cursors)
    zone = zones.DEFAULT_ZONE
    if _on_their_clock(query):
        zone = await schedule.user_zone(conn, user_id)  # the day on the caller's clock
    params = listing.parameters(query, user_id, utcnow(), last, zone)
    tagged = None
    if query.filters.tags:  # how common the first tag is decides the statement
        tagged = (await conn.execute(TAGGED, params)).scalar()
    shape = listing.shape(query, conn.name, last, tagged)
    rows = await conn.execute(page_query(shape, subtasks=subtasks), params)
    asked = Asked(query, shape, params, seen)
    page = await page_of(conn, user_id, asked, rows, cursors, tagged=tagged)
    if not subtasks:
        return page
    counted = counts.subtasks_of_rows(rows.picked(SUBTASK_FIELDS, query.limit))
    files = counts.files_of_rows(rows.picked(FILE_FIELDS, query.limit))
    return dataclasses.replace(page, subtasks=counted, files=files)


@dataclass(frozen=True, slots=True)
class Asked:
    """A page of tasks as its statement reads it: the query, the statement's shape, the values
    it binds, and how many tasks the pages before it showed (a cursor's)."""

    query: listing.ListQuery
    shape: Shape
    params: dict[str, Any]
    seen: int


def planned_once(
    user_id: uuid.UUID, query: listing.ListQuery, dialect: str, cursors: listing.CursorCodec
) -> Asked | None:
    """The page `query` asks for, when its statement needs nothing read first (no tag's count,
    no clock of the caller's) and is planned once (not per call), on PostgreSQL: a page another
    statement may read in the same round trip (page_query's, as `page_of` reads its rows). None
    otherwise, and on SQLite (no round trip: the database is in the process): `list_tasks`
    reads it.

    Raises listing.InvalidCursor as `list_tasks` does."""
    if dialect != "postgresql" or query.filters.tags or _on_their_clock(query):
        return None
    last, seen = _left_off(user_id, query, cursors)
    shape = listing.shape(query, dialect, last)
    if planned_per_call(shape):
        return None
    return Asked(query, shape, listing.parameters(query, user_id, utcnow(), last), seen)


def _left_off(
    user_id: uuid.UUID, query: listing.ListQuery, cursors: listing.CursorCodec
) -> tuple[list[Any] | None, int]:
    """Where the query's cursor left off (its last row's values) and the tasks shown before."""
    if query.cursor is None:
        return None, 0
    return cursors.decode(user_id, query, query.cursor)


def _on_their_clock(query: listing.ListQuery) -> bool:
    """Whether the query's days are the caller's (a day, or a filter's dates): their zone read."""
    tree = query.filters.filter
    return query.filters.due_on is not None or (tree is not None and filter_query.dates(tree))


async def page_of(
    conn: Connection,
    user_id: uuid.UUID,
    asked: Asked,
    rows: Result,
    cursors: listing.CursorCodec,
    *,
    tagged: int | None = None,
) -> Page:
    """The page `rows` (page_query's for `asked`) show, without its subtasks and files."""
    query, shape, params, seen = asked.query, asked.shape, asked.params, asked.seen
    # The page's tasks written from their columns in one pass (no row of every column).
    page = shown_tasks(rows.picked(TASK_FIELDS, query.limit))
    more = len(rows) > query.limit
    if listing.searches(shape):  # a search counts what its pages have shown: exact on the last one
        total, total_is_minimum = seen + len(page), more
    else:
        if len(rows):  # the total rides along with the rows
            total = rows.row(0)["total_count"]
        else:  # a page past the end has no row to carry it
            total = (await conn.execute(total_query(shape), params)).scalar()
        if tagged is not None and listing.counts_by_tag(shape):
            total += tagged
        total_is_minimum = total > listing.TOTAL_COUNT_CAP
        total = min(total, listing.TOTAL_COUNT_CAP)
    next_cursor = None
    if more:
        last_values = listing.last_values(query.sort, rows.row(len(page) - 1))
        next_cursor = cursors.encode(user_id, query, last_values, seen + len(page))
    return Page(page, total, total_is_minimum, next_cursor)


async def list_groups(
    conn: Connection, user_id: uuid.UUID, *, query: listing.ListQuery, cursors: listing.CursorCodec
) -> list[tuple[str, Page]]:
    """The first page of each group of a filter (`today, overdue`), one statement each: the
    group's query as written and its page (its cursor pages on with `filter=<that query>`)."""
    found = []
    for group in query.groups:
        filters = dataclasses.replace(query.filters, filter=group.node)
        one = dataclasses.replace(query, filters=filters, groups=(), cursor=None)
        found.append((group.text, await list_tasks(conn, user_id, query=one, cursors=cursors)))
    return found


def counting(
    query: listing.ListQuery, user_id: uuid.UUID, dialect: str, zone: str
) -> tuple[Shape, dict[str, Any]]:
    """The shape of what `query` finds and the values its total binds, for a statement that
    counts several lists at once (`total_column`); `zone` is the caller's (read by a filter's
    days). Filtered by tags (`tags=`), the total needs TAGGED first: not for this."""
    if query.filters.tags:
        raise ValueError("a listing by tags is counted by list_tasks")
    shape = listing.shape(query, dialect, None)
    return shape, listing.parameters(query, user_id, utcnow(), None, zone)


def total_column(s: Shape, shared: bool = True) -> Any:
    """The total `list_tasks` gives for the shape (kept, or counted up to the cap), as a
    column of another statement; without `shared`, with no part for the lists shared with the
    caller: the same for a caller in no such list (a member, not its owner)."""
    return _total(s, shared)
