"""A filter query's tree (todo_api.tasks.filter_query) as one SQL condition of the listing's
statement, and the values it binds.

The statement is built from the tree without its values (`filter_query.skeleton`), its
conditions bound as `filter_<n>` in the tree's order, so that `#Work` and `#Home` share one
statement. A condition that the listing has a parameter for is that parameter's condition
(`overdue`, `subtask`, `search:` as `q`, a day as `due_on` reads it, on the caller's clock).
Every condition is true or false, never null (a negation of null would drop the row).
"""

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Date,
    Integer,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)

from todo_api.db import UTCDateTime
from todo_api.kit import access, zones
from todo_api.tables import keys
from todo_api.tables.lists import list_members, lists
from todo_api.tables.tasks import task_tags, tasks
from todo_api.tables.users import users
from todo_api.tasks import filter_query, listing
from todo_api.tasks.filter_query import And, Condition, Node, Not


def condition(tree: Node, part: str, dialect: str) -> ColumnElement[bool]:
    """The tree (a skeleton) as a condition on `tasks`, for the caller's own tasks or the
    lists shared with them (`part`, as `conditions.Part`)."""
    counter = iter(range(10_000))

    def compiled(node: Node) -> ColumnElement[bool]:
        if isinstance(node, Condition):
            return _leaf(node.kind, f"filter_{next(counter)}", part, dialect)
        if isinstance(node, Not):
            return not_(func.coalesce(compiled(node.operand), false(), type_=Boolean()))
        combined = [compiled(operand) for operand in node.operands]
        return and_(*combined) if isinstance(node, And) else or_(*combined)

    return compiled(tree)


def _days(name: str) -> ColumnElement[bool]:
    """Due on a day from `<name>_first` to `<name>_last` on the caller's clock: a timed task
    in that span of instants, an all-day task on one of those dates (as `due_on`)."""
    at, day = tasks.c.due_at, tasks.c.due_date
    instant = UTCDateTime()
    timed = and_(
        day.is_(None),
        at >= bindparam(f"{name}_start", type_=instant),
        at < bindparam(f"{name}_end", type_=instant),
    )
    all_day = and_(
        day >= bindparam(f"{name}_first", type_=Date()),
        day <= bindparam(f"{name}_last", type_=Date()),
    )
    return and_(
        at >= bindparam(f"{name}_from", type_=instant),
        at < bindparam(f"{name}_to", type_=instant),
        or_(timed, all_day),
    )


def _user_by_email(name: str) -> Any:
    return select(users.c.id).where(func.lower(users.c.email) == bindparam(name, type_=String()))


def _leaf(kind: str, name: str, part: str, dialect: str) -> ColumnElement[bool]:
    caller = access.caller()
    if kind in ("today", "tomorrow", "next_7_days", "due_before", "due_after"):
        return _days(name)
    if kind == "overdue":  # as overdue=true
        return and_(
            tasks.c.due_at < bindparam("now", type_=UTCDateTime()), tasks.c.is_completed == false()
        )
    if kind == "no_date":
        return tasks.c.due_at.is_(None)
    if kind == "recurring":
        return tasks.c.recurrence.is_not(None)
    if kind == "priority":
        return tasks.c.priority == bindparam(name, type_=Integer())
    if kind in ("list", "list_deep"):
        # Subtasks are always in their parent's list: `##List` holds the same tasks.
        named = select(lists.c.id).join(list_members, access.membership(lists.c.id))
        named = named.where(lists.c.name_key == bindparam(name, type_=String()))
        inbox = and_(tasks.c.list_id.is_(None), bindparam(f"{name}_inbox", type_=Boolean()))
        return or_(and_(tasks.c.list_id.is_not(None), tasks.c.list_id.in_(named)), inbox)
    if kind == "tag":
        tag = bindparam(name, type_=String())
        if part == "own":  # the user's own tags' entries
            entries = select(task_tags.c.task_id).where(
                task_tags.c.user_id == caller, task_tags.c.tag == tag
            )
            return tasks.c.id.in_(entries)
        if dialect == "postgresql":
            return tasks.c.tags.op("@>")(func.jsonb_build_array(tag))
        element = func.json_each(tasks.c.tags).table_valued("value")
        return exists(select(true()).select_from(element).where(element.c.value == tag))
    if kind == "no_labels":
        if dialect == "postgresql":
            return tasks.c.tags == literal_column("'[]'::jsonb")
        return func.json_array_length(tasks.c.tags, type_=Integer()) == 0
    if kind == "assigned_to_me":
        return and_(tasks.c.assignee_id.is_not(None), tasks.c.assignee_id == caller)
    if kind == "assigned_to_others":
        return and_(tasks.c.assignee_id.is_not(None), tasks.c.assignee_id != caller)
    if kind == "assigned_to":
        return and_(tasks.c.assignee_id.is_not(None), tasks.c.assignee_id.in_(_user_by_email(name)))
    if kind == "created_by_me":
        return and_(tasks.c.created_by.is_not(None), tasks.c.created_by == caller)
    if kind == "created_by":
        return and_(tasks.c.created_by.is_not(None), tasks.c.created_by.in_(_user_by_email(name)))
    if kind == "shared":  # in a list someone besides its owner (the task's user_id) sees
        return and_(
            tasks.c.list_id.is_not(None),
            exists().where(
                list_members.c.list_id == tasks.c.list_id, list_members.c.user_id != tasks.c.user_id
            ),
        )
    if kind == "subtask":  # as top_level=false
        return tasks.c.parent_id.is_not(None)
    if kind == "search":  # as q
        pattern = bindparam(name, type_=String())
        return or_(
            tasks.c.title_key.like(pattern, escape="\\"),
            and_(
                tasks.c.description_key.is_not(None),
                tasks.c.description_key.like(pattern, escape="\\"),
            ),
        )
    raise AssertionError(kind)


def parameters(tree: Node, now: datetime, zone: str) -> dict[str, Any]:
    """The values `condition` binds for the tree (with its values), on the clock of the
    caller's zone at `now`."""
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
            day = filter_query.read_filter_date(str(value), today)
            assert day is not None  # read when the query was
            try:  # the day named excluded
                first, last = (
                    (date.min, day - timedelta(days=1))
                    if kind == "due_before"
                    else (day + timedelta(days=1), date.max)
                )
            except OverflowError:  # before the first day or after the last: no day at all
                first, last = date.max, date.min
            params.update(_day_span(name, first, last, zone))
        elif kind == "priority":
            params[name] = 4 - int(value or 4)  # p1 high (3) .. p4 none (0)
        elif kind in ("list", "list_deep"):
            params[name] = keys.name_key(str(value))
            params[f"{name}_inbox"] = params[name] == "inbox"
        elif kind == "tag":
            params[name] = keys.tag_form(str(value))
        elif kind in ("assigned_to", "created_by"):
            params[name] = str(value).casefold()
        elif kind == "search":
            params[name] = f"%{listing.escape_like(keys.search_key(str(value)))}%"
    return params


def _day_span(name: str, first: date, last: date, zone: str) -> dict[str, Any]:
    """The values `_days` binds for the days from `first` to `last` on the zone's clock."""
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
        f"{name}_from": min(start, listing.plus(utc_start, -listing.FARTHEST_OFFSET)),
        f"{name}_to": max(end, listing.plus(utc_end, listing.FARTHEST_OFFSET)),
    }


def _leaves(node: Node) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    if isinstance(node, Not):
        return _leaves(node.operand)
    return [leaf for operand in node.operands for leaf in _leaves(operand)]
