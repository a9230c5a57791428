"""What task routes take from a request: the task id in the path and the listing's query."""

import dataclasses
import uuid
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator

from todo_api.kit.errors import InvalidField, TaskNotFound
from todo_api.kit.inputs import UUID_EXAMPLE, id_in_path, parse_id
from todo_api.kit.text import NO_NUL_PATTERN, storable
from todo_api.tables import keys
from todo_api.tables.tasks import TAG_MAX_LENGTH, TAGS_MAX_COUNT, Priority
from todo_api.tasks import filter_query
from todo_api.tasks.listing import (
    DEFAULT_LIMIT,
    DEFAULT_SORT,
    MAX_LIMIT,
    Assignee,
    ListQuery,
    Sort,
    TaskFilters,
)
from todo_api.tasks.schemas import DateText, DateTimeText, PriorityName

# Text a query compares with stored text: NUL, which PostgreSQL refuses, is a 400 naming it.
QueryText = Annotated[str, AfterValidator(storable)]

TaskIdPath = Annotated[str, id_in_path("The task's id")]


def parse_task_id(text: str) -> uuid.UUID:
    return parse_id(text, TaskNotFound)


INBOX = "inbox"


def _list_filter(value: str | None) -> uuid.UUID | None:
    """The list a `list_id` filter names (None for none, or the inbox)."""
    if value is None or value == INBOX:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidField("list_id", "must be a list id or inbox") from None


NO_SECTION = "none"


def _section_filter(value: str | None) -> uuid.UUID | None:
    """The section a `section_id` filter names (None for none, or no section)."""
    if value is None or value == NO_SECTION:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidField("section_id", "must be a section id or none") from None


def _assignee_filter(value: str | None) -> Assignee:
    """Whom an `assignee` filter names: you (`me`), nobody (`none`), or a user's id."""
    if value is None or value in ("me", "none"):
        return value  # type: ignore[return-value]
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidField("assignee", "must be me, none or a user id") from None


async def list_query(
    completed: Annotated[
        bool | None,
        Query(description="Only completed (true) or open (false) tasks", examples=[False]),
    ] = None,
    priority: Annotated[
        list[PriorityName] | None,
        Query(description="Any of these priorities (repeat the parameter)", examples=["high"]),
    ] = None,
    tag: Annotated[
        list[
            Annotated[
                QueryText,
                Query(
                    min_length=1,
                    max_length=TAG_MAX_LENGTH,
                    json_schema_extra={"pattern": NO_NUL_PATTERN},
                ),
            ]
        ]
        | None,
        Query(
            description="All of these tags (repeat the parameter)",
            max_length=TAGS_MAX_COUNT,
            examples=["errands"],
        ),
    ] = None,
    q: Annotated[
        QueryText | None,
        Query(
            min_length=1,
            max_length=200,
            description="Search in title and description, ignoring case and accents (`cafe` "
            "finds `Café`); % and _ are literal",
            examples=["milk"],
            json_schema_extra={"pattern": NO_NUL_PATTERN},
        ),
    ] = None,
    due_before: Annotated[
        DateTimeText | None,
        Query(
            description="Due strictly before this time (RFC 3339); an all-day task is due at "
            "the start of its date in its time zone",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ] = None,
    due_after: Annotated[
        DateTimeText | None,
        Query(
            description="Due at or after this time (RFC 3339); an all-day task is due at the "
            "start of its date in its time zone",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    due_on: Annotated[
        DateText | None,
        Query(
            description="Due on this day (YYYY-MM-DD): a timed task whose due_at falls on it "
            "in your time zone (GET /api/auth/me), an all-day task whose due_date is it",
            examples=["2026-12-24"],
        ),
    ] = None,
    start_before: Annotated[
        DateTimeText | None,
        Query(
            description="Starts strictly before this time (RFC 3339); a task that starts on a "
            "day starts at the start of its date in its time zone",
            examples=["2026-12-01T00:00:00Z"],
        ),
    ] = None,
    start_after: Annotated[
        DateTimeText | None,
        Query(
            description="Starts at or after this time (RFC 3339); a task that starts on a day "
            "starts at the start of its date in its time zone",
            examples=["2026-11-01T00:00:00Z"],
        ),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(
            description="Open tasks whose due time has passed (true), or all others (false)",
            examples=[True],
        ),
    ] = None,
    list_id: Annotated[
        str | None,
        Query(
            max_length=36,
            description="Only the tasks of this list, or of no list (inbox)",
            examples=["inbox"],
            json_schema_extra={
                "anyOf": [
                    {"type": "string", "format": "uuid"},
                    {"type": "string", "enum": [INBOX]},
                ]
            },
        ),
    ] = None,
    section_id: Annotated[
        str | None,
        Query(
            max_length=36,
            description="Only the tasks of this section, or of no section (none)",
            examples=["none"],
            json_schema_extra={
                "anyOf": [
                    {"type": "string", "format": "uuid"},
                    {"type": "string", "enum": [NO_SECTION]},
                ]
            },
        ),
    ] = None,
    parent_id: Annotated[
        uuid.UUID | None,
        Query(description="Only the subtasks of this task", examples=[UUID_EXAMPLE]),
    ] = None,
    top_level: Annotated[
        bool | None,
        Query(description="Only top-level tasks (true), or only subtasks (false)", examples=[True]),
    ] = None,
    assignee: Annotated[
        str | None,
        Query(
            max_length=36,
            description="Only the tasks assigned to you (me), to nobody (none), or to this user",
            examples=["me"],
            json_schema_extra={
                "anyOf": [
                    {"type": "string", "format": "uuid"},
                    {"type": "string", "enum": ["me", "none"]},
                ]
            },
        ),
    ] = None,
    filter: Annotated[
        QueryText | None,
        Query(
            min_length=1,
            max_length=filter_query.MAX_LENGTH,
            description="A query in Todoist's filter language, with the other parameters: "
            "`(today | overdue) & #Work`, `p1 & @work`, `no date & !subtask`; groups apart "
            'by `,` answer `{"groups": [{"query", "tasks"}, ...]}`, each its first page. '
            "Open tasks unless `completed` says otherwise. See docs/quick-add-and-filters.md",
            examples=["(today | overdue) & #Work"],
            json_schema_extra={"pattern": NO_NUL_PATTERN},
        ),
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="Order; a leading - for descending. Ties are broken by id. Tasks "
            "without a due date come last when sorting by due date, and an all-day task sorts at "
            "the start of its date in its time zone; start sorts by when tasks start likewise "
            "(those without a start last). position is the manual "
            "order (of one list and parent: filter by list_id and parent_id or top_level).",
            examples=["-priority"],
        ),
    ] = DEFAULT_SORT,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Tasks per page", examples=[20])
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=1024,
            description="Where the previous page ended: the X-Next-Cursor it carried (a cursor "
            "is good only for the user, sort and filters that made it)",
        ),
    ] = None,
) -> ListQuery:
    tags = sorted({keys.tag_form(t) for t in tag or []} - {""})
    filters = TaskFilters(
        completed=completed,
        priorities=tuple(sorted({Priority[p] for p in priority or []})),
        tags=tuple(tags),
        q=q,
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        list_id=_list_filter(list_id),
        inbox=list_id == INBOX,
        section_id=_section_filter(section_id),
        no_section=section_id == NO_SECTION,
        parent_id=parent_id,
        top_level=top_level,
        assignee=_assignee_filter(assignee),
        due_on=due_on,
        start_before=start_before,
        start_after=start_after,
    )
    query = ListQuery(filters=filters, sort=sort, limit=limit, cursor=cursor)
    return query if filter is None else with_filter(query, filter)


def with_filter(query: ListQuery, text: str, field: str = "filter") -> ListQuery:
    """The listing with a query in the filter language too: one group's tree among its
    filters, or the groups apart (each then its own first page). A filter answers open tasks
    unless `completed` says otherwise. A query of one group the listing has already (a
    `filter` beside a saved filter's) narrows each group. Raises InvalidField naming `field`
    (where the query came from) for a query it cannot read."""
    try:
        groups = filter_query.parse(text)
    except filter_query.FilterError as exc:
        raise InvalidField(field, str(exc)) from None
    if query.groups:
        raise InvalidField("filter", "narrows a saved filter as one group (no ,)")
    narrowing = query.filters.filter
    if narrowing is not None:
        groups = [filter_query.Group(g.text, filter_query.And((g.node, narrowing))) for g in groups]
    completed = False if query.filters.completed is None else query.filters.completed
    if len(groups) > 1:
        if query.cursor is not None:
            raise InvalidField("cursor", "pages one group of a filter at a time (filter=<it>)")
        filters = dataclasses.replace(query.filters, completed=completed)
        return dataclasses.replace(query, filters=filters, groups=tuple(groups))
    filters = dataclasses.replace(query.filters, completed=completed, filter=groups[0].node)
    return dataclasses.replace(query, filters=filters)
