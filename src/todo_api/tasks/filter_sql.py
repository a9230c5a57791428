"""A filter query's tree (todo_api.tasks.filter_query) as one SQL condition of the listing's
statement (the values it binds: todo_api.tasks.listing.filter_parameters).

The statement is built from the tree without its values (`filter_query.skeleton`), its
conditions bound as `filter_<n>` in the tree's order, so that `#Work` and `#Home` share one
statement. A condition that the listing has a parameter for is that parameter's condition
(`overdue`, `subtask`, `search:` as `q`, a day as `due_on` reads it, on the caller's clock).
Every condition is true or false, never null (a negation of null would drop the row).
"""

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
    union_all,
)

from todo_api.db import UTCDateTime
from todo_api.kit import access
from todo_api.tables.lists import MAX_DEPTH, lists
from todo_api.tables.sections import sections
from todo_api.tables.tasks import task_tags, tasks
from todo_api.tables.users import users
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


def _with_lists_inside(named: Any) -> Any:
    """The lists `named` selects and those inside them, as deep as lists go, that the caller
    sees (sharing is per list: a list inside one shared with them may not be)."""
    level, every = named, [named]
    for _ in range(MAX_DEPTH - 1):
        inside = lists.alias()
        level = select(inside.c.id).where(
            inside.c.parent_id.in_(level), access.member_of(inside.c.id)
        )
        every.append(level)
    return union_all(*every)


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
        # Subtasks are always in their parent's list; `##List` holds the lists inside it too.
        named: Any = select(lists.c.id).where(
            lists.c.name_key == bindparam(name, type_=String()), access.can_see_list()
        )
        if kind == "list_deep":
            named = _with_lists_inside(named)
        inbox = and_(tasks.c.list_id.is_(None), bindparam(f"{name}_inbox", type_=Boolean()))
        return or_(and_(tasks.c.list_id.is_not(None), tasks.c.list_id.in_(named)), inbox)
    if kind == "section":  # a section of that name in a list the caller sees
        named = select(sections.c.id).where(
            sections.c.name_key == bindparam(name, type_=String()),
            access.member_of(sections.c.list_id),
        )
        return and_(tasks.c.section_id.is_not(None), tasks.c.section_id.in_(named))
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
            access.shared_with_others(tasks.c.list_id, tasks.c.user_id),
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
