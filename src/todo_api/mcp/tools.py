"""The tools: each reads its arguments with the REST API's models, calls the service function
the matching route calls, and gives what that route answers (as plain JSON values)."""

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from mcp_types import Tool, ToolAnnotations
from pydantic import BaseModel, ValidationError

from todo_api.auth import Caller
from todo_api.collaboration import comments as comments_service
from todo_api.collaboration.schemas import CommentCreate, CommentRead, comment_body
from todo_api.config import Settings
from todo_api.files import service as files_service
from todo_api.files.schemas import attachment_body
from todo_api.filters import service as filters_service
from todo_api.filters.errors import FilterNotFound
from todo_api.filters.schemas import filter_body
from todo_api.kit.deps import held
from todo_api.kit.errors import InvalidField, validation_failure
from todo_api.kit.ids import utcnow
from todo_api.kit.inputs import parse_id
from todo_api.kit.zones import LAST_INSTANT
from todo_api.lists import sections as sections_service
from todo_api.lists import service as lists_service
from todo_api.lists import sharing
from todo_api.lists.dependencies import parse_list_id
from todo_api.lists.schemas import ListCreate, ListRead, ListUpdate, list_body
from todo_api.lists.section_schemas import section_body
from todo_api.lists.sharing_schemas import InvitationCreate, InvitationCreated, member_body
from todo_api.mcp.schemas import (
    COMMENT_INPUT,
    COMMENTS_INPUT,
    DUE_ON_INPUT,
    FILTER_TASKS_INPUT,
    INVITE_INPUT,
    LIST_CHANGE_INPUT,
    LIST_REF_INPUT,
    LIST_TASKS_INPUT,
    NO_INPUT,
    REMINDERS_INPUT,
    TASK_CHANGE_INPUT,
    TASK_MOVE_INPUT,
    TASK_REF_INPUT,
    CommentsArguments,
    CommentsResult,
    Deleted,
    DeletedList,
    DueOnArguments,
    FiltersResult,
    FilterTasksArguments,
    FilterTasksResult,
    ListRef,
    ListsResult,
    ListTasksArguments,
    MembersResult,
    NoArguments,
    RemindersArguments,
    RemindersResult,
    SectionsResult,
    TaskPage,
    TaskRef,
    TaskWithFiles,
    output_schema,
    portable,
)
from todo_api.reminders import service as reminders_service
from todo_api.reminders.router import DEFAULT_SPAN
from todo_api.tasks import pages, quick, service, trash
from todo_api.tasks.dependencies import list_query, parse_task_id, with_filter
from todo_api.tasks.listing import MAX_LIMIT, CursorCodec, InvalidCursor, ListQuery
from todo_api.tasks.schemas import (
    QuickAdd,
    QuickAddRead,
    TaskCreate,
    TaskMove,
    TaskRead,
    TaskUpdate,
    task_body,
)

Model = TypeVar("Model", bound=BaseModel)


def _read(model: type[Model], arguments: Mapping[str, Any]) -> Model:
    """The arguments as `model`; a failure is the REST API's error for the same body."""
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        errors = exc.errors()
    raise validation_failure({**e, "loc": ("body", *e["loc"])} for e in errors)


def _task_id(arguments: Mapping[str, Any]) -> uuid.UUID:
    """The task named by arguments of `TaskRef`'s shape; an id that does not parse names no
    task (404), as in a path."""
    return parse_task_id(_read(TaskRef, arguments).task_id)


def _list_id(arguments: Mapping[str, Any]) -> uuid.UUID:
    """The list named by `list_id` (a 404 for one that does not parse, as in a path)."""
    return parse_list_id(_read(ListRef, {"list_id": arguments.get("list_id")}).list_id)


def _without(arguments: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != name}


async def list_tasks(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    parameters = _read(ListTasksArguments, arguments)
    return await _page(caller, dict(parameters))


async def _page(caller: Caller, parameters: dict[str, Any]) -> dict[str, Any]:
    return await _answer(caller, await list_query(**parameters), groups=False)


async def _answer(caller: Caller, query: ListQuery, *, groups: bool) -> dict[str, Any]:
    """A page of tasks (`{"tasks", "next_cursor"?}`), or (`groups`) a filter's groups."""
    cursors = held(caller.request.app, CursorCodec)
    if query.groups:
        if not groups:
            raise InvalidField("filter", "a query of several groups goes to filter_tasks")
        found = await caller.run(pages.list_groups, query=query, cursors=cursors)
        return {
            "groups": [
                {
                    "query": text,
                    "tasks": page.tasks,
                    "next_cursor": page.next_cursor,
                }
                for text, page in found
            ]
        }
    try:
        page = await caller.run(pages.list_tasks, query=query, cursors=cursors)
    except InvalidCursor as exc:
        raise InvalidField("cursor", str(exc)) from None
    result: dict[str, Any] = {"tasks": page.tasks}
    if page.next_cursor is not None:
        result["next_cursor"] = page.next_cursor
    return result


async def list_filters(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(NoArguments, arguments)
    rows = await caller.run(filters_service.list_filters)
    return {"filters": [filter_body(row) for row in rows]}


async def filter_tasks(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The tasks a query answers, given or saved (`filter_id`)."""
    parameters = _read(FilterTasksArguments, arguments)
    if (parameters.query is None) == (parameters.filter_id is None):
        raise InvalidField("query", "give either query or filter_id")
    text = parameters.query
    if parameters.filter_id is not None:
        filter_id = parse_id(parameters.filter_id, FilterNotFound)
        text = (await caller.run(filters_service.get_filter, filter_id))["query"]
    assert text is not None
    listing_parameters = parameters.model_dump(exclude={"query", "filter_id"})
    query = with_filter(await list_query(**listing_parameters), text, field="query")
    return await _answer(caller, query, groups=True)


async def get_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id(arguments)
    task = await caller.run(service.get_task, task_id=task_id)
    files = await caller.run(files_service.list_attachments, task_id)
    return task_body(task) | {"attachments": [attachment_body(row) for row in files]}


async def create_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    data = _read(TaskCreate, arguments)
    task = await caller.create(service.create_task, data=data)
    return task_body(task)


async def quick_add(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    data = _read(QuickAdd, arguments)
    task, spans = await caller.create(quick.quick_add, data=data, accept_language=None)
    return task_body(task) | {"parsed": [vars(span) for span in spans]}


async def update_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id({k: v for k, v in arguments.items() if k == "task_id"})
    data = _read(TaskUpdate, {k: v for k, v in arguments.items() if k != "task_id"})
    task = await caller.run(service.update_task, task_id=task_id, data=data)
    return task_body(task)


def _set_completed(completed: bool) -> Callable[[Caller, Mapping[str, Any]], Awaitable[Any]]:
    async def run(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
        task_id = _task_id(arguments)
        task = await caller.run(service.set_completed, task_id=task_id, completed=completed)
        return task_body(task)

    return run


async def delete_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id(arguments)
    await caller.run(service.delete_task, task_id=task_id)
    return {"deleted": task_id}


async def restore_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id(arguments)
    grace = held(caller.request.app, Settings).deleted_task_grace_seconds
    task = await caller.run(trash.restore, task_id=task_id, grace=timedelta(seconds=grace))
    return task_body(task)


async def list_lists(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(NoArguments, arguments)
    rows = await caller.run(lists_service.list_lists)
    return {"lists": [list_body(row) for row in rows]}


async def create_list(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    data = _read(ListCreate, arguments)
    row = await caller.create(lists_service.create_list, data)
    return list_body(row)


async def update_list(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    list_id = _list_id(arguments)
    data = _read(ListUpdate, _without(arguments, "list_id"))
    row = await caller.run(lists_service.update_list, list_id, data, caller.if_match)
    return list_body(row)


async def delete_list(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(ListRef, arguments)
    list_id = _list_id(arguments)
    await caller.run(lists_service.delete_list, list_id, caller.if_match)
    return {"deleted": list_id}


async def move_task(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id({"task_id": arguments.get("task_id")})
    data = _read(TaskMove, _without(arguments, "task_id"))
    task = await caller.run(service.move_task, task_id=task_id, move=data, if_match=caller.if_match)
    return task_body(task)


async def tasks_due_on(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/tasks?due_on=DATE&sort=due_at, a whole page at a time."""
    parameters = _read(DueOnArguments, arguments)
    return await _page(
        caller,
        {
            **dict(_read(ListTasksArguments, {})),
            "due_on": parameters.date,
            "sort": "due_at",
            "limit": MAX_LIMIT,
            "cursor": parameters.cursor,
        },
    )


async def list_reminders(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """GET /api/reminders?from=&to=, with the route's defaults."""
    span = _read(RemindersArguments, arguments)
    start = span.start or utcnow()
    end = span.end
    if end is None:
        end = start + DEFAULT_SPAN if LAST_INSTANT - start > DEFAULT_SPAN else LAST_INSTANT
    if end < start:
        raise InvalidField("to", "must not be before from")
    rows = await caller.run(reminders_service.between, start=start, end=end)
    fields = ("task_id", "reminder_id", "fires_at")
    return {"reminders": [{name: row[name] for name in fields} for row in rows]}


async def list_members(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(ListRef, arguments)
    rows = await caller.run(sharing.members, _list_id(arguments))
    return {"members": [member_body(row) for row in rows]}


async def list_sections(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    _read(ListRef, arguments)
    rows = await caller.run(sections_service.list_sections, _list_id(arguments))
    return {"sections": [section_body(row) for row in rows]}


async def invite_to_list(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    list_id = _list_id(arguments)
    data = _read(InvitationCreate, _without(arguments, "list_id"))
    created: dict[str, Any] = await caller.run(sharing.create_invitation, list_id, data)
    return created


async def add_comment(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    task_id = _task_id({"task_id": arguments.get("task_id")})
    data = _read(CommentCreate, _without(arguments, "task_id"))
    row = await caller.create(comments_service.create_comment, task_id, data)
    return comment_body(row)


async def list_comments(caller: Caller, arguments: Mapping[str, Any]) -> dict[str, Any]:
    parameters = _read(CommentsArguments, arguments)
    task_id = parse_task_id(parameters.task_id)
    rows, next_cursor = await caller.run(
        comments_service.list_comments,
        task_id,
        limit=parameters.limit,
        cursor=parameters.cursor,
    )
    result: dict[str, Any] = {"comments": [comment_body(row) for row in rows]}
    if next_cursor is not None:
        result["next_cursor"] = next_cursor
    return result


@dataclass(frozen=True)
class ToolSpec:
    tool: Tool
    run: Callable[[Caller, Mapping[str, Any]], Awaitable[Any]]

    @property
    def read_only(self) -> bool:
        """Whether the tool only reads (a `read` token may call it)."""
        annotations = self.tool.annotations
        return annotations is not None and annotations.read_only_hint is True


def _spec(
    run: Callable[[Caller, Mapping[str, Any]], Awaitable[Any]],
    *,
    name: str,
    title: str,
    description: str,
    input_schema: dict[str, Any],
    output: type[BaseModel],
    read_only: bool = False,
    destructive: bool = False,
    idempotent: bool = False,
) -> ToolSpec:
    annotations = ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )
    tool = Tool(
        name=name,
        title=title,
        description=description,
        input_schema=portable(input_schema),
        output_schema=output_schema(output),
        annotations=annotations,
    )
    return ToolSpec(tool=tool, run=run)


_TIMES = "Times are RFC 3339 date-times (2026-12-01T17:00:00Z); results give them in UTC."

TOOLS: dict[str, ToolSpec] = {
    spec.tool.name: spec
    for spec in (
        _spec(
            list_tasks,
            name="list_tasks",
            title="List tasks",
            description="List the user's tasks, newest first unless `sort` says otherwise, "
            "optionally filtered: open or completed, priorities, tags (all of them), text in "
            "the title or description (`q`), due before or after a time, overdue. Gives at "
            "most `limit` tasks (default 50, at most 200); when more match, the result "
            "carries `next_cursor` for the next page. Use it to find a task's id before "
            "changing the task. " + _TIMES,
            input_schema=LIST_TASKS_INPUT,
            output=TaskPage,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            get_task,
            name="get_task",
            title="Get a task",
            description="Get one task of the user's by its id, with its files (name, size, "
            "type and the URL of their content).",
            input_schema=TASK_REF_INPUT,
            output=TaskWithFiles,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            create_task,
            name="create_task",
            title="Create a task",
            description="Create a task for the user and give it back with its new id. Only "
            "`title` is required. `due_at` is when it is due, or `due_date` (2026-12-24) the day "
            "it is due, all day (not both); `start_at` or `start_date` likewise when work on it "
            "starts (not after it is due); `timezone` (an IANA name such as Europe/Berlin, by "
            "default the user's) is the zone its days and recurrence are read in; `recurrence` "
            "(an RRULE such as FREQ=WEEKLY;BYDAY=MO) makes it repeat on that zone's clock and "
            "needs a due time or date, or a start, which it follows (each next occurrence keeps "
            "the gap between start and due); `tags` are free-form labels. Each call creates "
            "another task, so call it once per task. " + _TIMES,
            input_schema=TaskCreate.model_json_schema(),
            output=TaskRead,
        ),
        _spec(
            quick_add,
            name="quick_add",
            title="Add a task from words",
            description="Create a task from the words a person would type, as Todoist's quick "
            "add reads them: `Pay rent every month on the 1st #Home p1`. Read out of `text`: a "
            "date or time (today, tomorrow 5pm, fri, next monday, in 3 days, jan 4, 24/12, end "
            "of month), a recurrence (every day, every 2 weeks on mon, thu, every last friday), "
            '`#List` (or `#"Two words"`, one of the user\'s lists), `@tag` and `p1`..`p4`; the '
            "rest is the title. `lang` (en, de, fr, es, it, pt, nl; default en) is the language "
            "of the dates. Text in double quotes is never read. The result is the task, with "
            "`parsed`: what was read. Each call creates another task. " + _TIMES,
            input_schema=QuickAdd.model_json_schema(),
            output=QuickAddRead,
        ),
        _spec(
            update_task,
            name="update_task",
            title="Change a task",
            description="Change some fields of a task: the fields given are set, those left "
            "out stay as they are, and null clears `description`, `due_at`, `due_date`, "
            "`start_at`, `start_date` or `recurrence`. Give `task_id` and at least one field. To "
            "mark a task done or not done, complete_task and reopen_task say so more plainly. "
            + _TIMES,
            input_schema=TASK_CHANGE_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            _set_completed(True),
            name="complete_task",
            title="Complete a task",
            description="Mark a task as done (a completed one stays as it is). A recurring task "
            "stays one task: completing it records the occurrence done and moves its due to "
            "the rule's next date (the last occurrence completes it).",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            _set_completed(False),
            name="reopen_task",
            title="Reopen a task",
            description="Mark a completed task as not done (doing it again changes nothing).",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            delete_task,
            name="delete_task",
            title="Delete a task",
            description="Delete a task; restore_task brings it back for a few minutes "
            "(DELETED_TASK_GRACE_SECONDS), then it is gone. When the user has finished a task, "
            "complete_task keeps it instead.",
            input_schema=TASK_REF_INPUT,
            output=Deleted,
            destructive=True,
            idempotent=True,
        ),
        _spec(
            restore_task,
            name="restore_task",
            title="Restore a deleted task",
            description="Bring back a task deleted a few minutes ago, as it was: its id, "
            "subtasks, comments and files (a task that is not deleted is given as it is).",
            input_schema=TASK_REF_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            list_lists,
            name="list_lists",
            title="List the lists",
            description='List the user\'s lists (such as "Groceries" or "Work") in their '
            "order, each with its id and `open_count`, the number of its open tasks. Use it to "
            "find a list's id for list_tasks' `list_id` filter or create_task's `list_id`; "
            'tasks in no list are the inbox (`list_id` "inbox" in list_tasks).',
            input_schema=NO_INPUT,
            output=ListsResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            list_filters,
            name="list_filters",
            title="List the saved filters",
            description="List the user's saved filters in their order, each with its id, "
            "name and query (in Todoist's filter language). Run one with filter_tasks' "
            "`filter_id`.",
            input_schema=NO_INPUT,
            output=FiltersResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            filter_tasks,
            name="filter_tasks",
            title="Tasks a filter query answers",
            description="The user's open tasks (or completed, with `completed`) that a query "
            "in Todoist's filter language answers: `today`, `tomorrow`, `overdue`, `no date`, "
            "`recurring`, `next 7 days`, `due before: 2026-12-24`, `due after: today`, "
            "`p1`..`p4` (high..none), `#List`, `@tag`, `no labels`, `assigned to: me`, "
            "`created by: me`, `shared`, `subtask`, `search: text`, combined with `&`, `|`, "
            "`!` and parentheses: `(today | overdue) & #Work`. Give `query`, or a saved "
            "filter's `filter_id` (list_filters). Groups apart by `,` (`today, overdue`) give "
            "each group's first page. " + _TIMES,
            input_schema=FILTER_TASKS_INPUT,
            output=FilterTasksResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            create_list,
            name="create_list",
            title="Create a list",
            description="Create a list for the user, last among their lists. `name` (1 to 100 "
            "characters) must differ from every other list's name, ignoring case: call "
            "list_lists first when the list may exist already. `color` is optional, "
            '"#rrggbb". `parent_id` (optional) puts it inside another of the user\'s own lists, '
            "at most 3 levels deep.",
            input_schema=ListCreate.model_json_schema(),
            output=ListRead,
        ),
        _spec(
            update_list,
            name="update_list",
            title="Change a list",
            description="Rename, recolour or move a list: give `list_id` and `name`, `color` or "
            "`parent_id` (the fields left out stay as they are; null clears `color`, and "
            "`parent_id` null puts the list at the top). A name must differ from the user's "
            "other lists' names, ignoring case; a parent is one of the user's own lists, at "
            "most 3 levels deep. Only the list's owner may.",
            input_schema=LIST_CHANGE_INPUT,
            output=ListRead,
            idempotent=True,
        ),
        _spec(
            delete_list,
            name="delete_list",
            title="Delete a list",
            description="Delete a list and every task in it, for good; it cannot be undone. "
            "Only the list's owner may. To keep the tasks, move them out first (move_task). "
            "The lists inside it move up a level and keep their tasks.",
            input_schema=LIST_REF_INPUT,
            output=DeletedList,
            destructive=True,
            idempotent=True,
        ),
        _spec(
            move_task,
            name="move_task",
            title="Move a task",
            description="Place a task: into another list (`list_id`, null for the inbox), "
            "under another task (`parent_id`, null for the top level), right `before` or "
            "`after` another task (its id), or, with neither, last. Fields left out stay as "
            "they are.",
            input_schema=TASK_MOVE_INPUT,
            output=TaskRead,
            idempotent=True,
        ),
        _spec(
            tasks_due_on,
            name="tasks_due_on",
            title="Tasks due on a day",
            description="The tasks due on a day (YYYY-MM-DD) in the user's time zone: timed "
            "tasks due at any time of that day, all-day tasks due on that date, soonest first. "
            "Open and completed ones alike (each says `is_completed`). " + _TIMES,
            input_schema=DUE_ON_INPUT,
            output=TaskPage,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            list_reminders,
            name="list_reminders",
            title="List reminders",
            description="The reminders of the user's open tasks between `from` (default: now) "
            "and `to` (default: 30 days later), soonest first, each with its task's id and "
            "when it fires. " + _TIMES,
            input_schema=REMINDERS_INPUT,
            output=RemindersResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            list_members,
            name="list_members",
            title="List a list's members",
            description="Everyone with access to a list: its owner first, then the members "
            "by when they joined, each with their role (owner, editor or viewer).",
            input_schema=LIST_REF_INPUT,
            output=MembersResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            list_sections,
            name="list_sections",
            title="List a list's sections",
            description="A list's sections in its order (a task's `section_id` names one; "
            "create_task, update_task and move_task take it).",
            input_schema=LIST_REF_INPUT,
            output=SectionsResult,
            read_only=True,
            idempotent=True,
        ),
        _spec(
            invite_to_list,
            name="invite_to_list",
            title="Invite someone to a list",
            description="Make an invitation link to a list (its owner only): `role` is editor "
            "(may change its tasks) or viewer (may read them); it works for `expires_in_days` "
            "days (default 7). Gives the link's token, shown this once: the person invited "
            "accepts it with POST /api/invitations/accept. Each call makes another link.",
            input_schema=INVITE_INPUT,
            output=InvitationCreated,
        ),
        _spec(
            add_comment,
            name="add_comment",
            title="Comment on a task",
            description="Add a comment to a task the user may change: `body` is Markdown (1 to "
            "10 000 characters), kept as written. `@` and a member's email (or `@[Name](user "
            "id)`) mentions someone who can see the task. Each call adds another comment.",
            input_schema=COMMENT_INPUT,
            output=CommentRead,
        ),
        _spec(
            list_comments,
            name="list_comments",
            title="List a task's comments",
            description="The comments on a task, oldest first, `limit` at a time (default 50, "
            "at most 100); when there are more, the result carries `next_cursor`. " + _TIMES,
            input_schema=COMMENTS_INPUT,
            output=CommentsResult,
            read_only=True,
            idempotent=True,
        ),
    )
}
