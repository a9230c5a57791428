"""Many tasks at once (the list's selection bar, static/select.js): complete, move to a list,
set the due day or the priority of, or delete the chosen tasks, each as one bulk (tasks/bulk.py:
all or nothing), answered by the list again with a line offering `Undo`. The task page's
`Delete` posts here too (one task), and so does `Undo` after moving a task to another list.

`Undo` is the bulk that puts back what changed (reopen, the old list, due or priority, the
deleted tasks made again), written into the line's form when the change is made: the page
carries it, and applying it is the same as the person making those changes themselves (each
operation checked as any other), so nothing is kept on the server for it."""

import json
import uuid
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, NotFound
from todo_api.lists import service as lists
from todo_api.tasks import bulk, pages
from todo_api.tasks import service as tasks
from todo_api.tasks.listing import CursorCodec, ListQuery, TaskFilters
from todo_api.tasks.schemas import BulkCreate, BulkRequest, BulkUpdate, task_body
from todo_api.web.action_pages import undo_completion
from todo_api.web.list_pages import ListPages
from todo_api.web.messages import Gettext, translations
from todo_api.web.site import Site, back_to, is_htmx, parse_uuid, problem, redirect, user_id

MOVED_FROM = "moved_from"  # the task page's parameter: the list a task was just moved from
INBOX = "inbox"
PLACE = ("list_id", "parent_id")  # a subtask's: its parent's (made again first)
SUBTASKS_MAX = 100  # a deleted task's subtasks made again by Undo (a page of the listing)
ACTIONS = ("complete", "move", "due", "priority", "delete")
# An Undo's own operation (not the API's): a repeating task's latest completion put back.
UNDO_COMPLETION = "undo_completion"
# `No date` (its own button: without JavaScript the date box may hold a date).
NO_DATE = "no-due"
CLEARED_DUE = {"due_at": None, "due_date": None}
# What a deleted task is made again with (its id, comments and activity are not kept).
RESTORED = (
    "list_id",
    "parent_id",
    "title",
    "is_completed",
    "description",
    "priority",
    "due_at",
    "due_date",
    "start_at",
    "start_date",
    "timezone",
    "tags",
    "recurrence",
    "assignee_id",
)


def _plain(value: Any) -> Any:
    """A value of a task as JSON has it (ids and dates as text)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _encoded(operations: list[dict[str, Any]]) -> str:
    return json.dumps(operations, default=_plain, separators=(",", ":"))


def undone(
    action: str, before: list[dict[str, Any]], subtasks: list[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """The operations that put the tasks back as they were `before` the action. A deleted
    task's `subtasks` (deleted with it: each with the index of its parent in `before`) are
    made again under it: `under` names the operation that makes their parent (`apply_undo`)."""
    if action == "complete":  # a repeating task's occurrence is put back, the others reopened
        return [
            {"op": UNDO_COMPLETION if t["recurrence"] else "reopen", "id": t["id"]}
            for t in before
            if not t["is_completed"]
        ]
    if action == "delete":
        made = [{"op": "create", "data": {k: t[k] for k in RESTORED}} for t in before]
        return made + [
            {"op": "create", "data": {k: t[k] for k in RESTORED if k not in PLACE}, "under": index}
            for index, t in subtasks
        ]
    kept = {"move": ("list_id",), "due": ("due_at", "due_date"), "priority": ("priority",)}
    return [
        {"op": "update", "id": t["id"], "data": {k: t[k] for k in kept[action]}} for t in before
    ]


def change_of(action: str, form: FormData) -> dict[str, Any] | None:
    """What an `update` action sets in each task (None: not an update)."""
    if action == "move":
        return {"list_id": form.get("list_id") or None}
    if action == "due":
        return {"due_at": None, "due_date": form.get("due") or None}
    if action == "priority":
        return {"priority": form.get("priority") or "none"}
    return None


def said(_: Gettext, ngettext: Any, action: str, before: list[dict[str, Any]], where: str) -> str:
    """The line saying what was done: one task by its title, several by their number."""
    count = len(before)
    if count == 1:
        one = {
            "complete": _("Completed %(title)s"),
            "move": _("Moved %(title)s to %(list)s"),
            "due": _("Changed the due date of %(title)s"),
            "priority": _("Changed the priority of %(title)s"),
            "delete": _("Deleted %(title)s"),
        }[action]
        return str(one % {"title": before[0]["title"], "list": where})
    many = {
        "complete": ngettext("Completed %(num)d task", "Completed %(num)d tasks", count),
        "move": ngettext(
            "Moved %(num)d task to %(list)s", "Moved %(num)d tasks to %(list)s", count
        ),
        "due": ngettext(
            "Changed the due date of %(num)d task", "Changed the due date of %(num)d tasks", count
        ),
        "priority": ngettext(
            "Changed the priority of %(num)d task", "Changed the priority of %(num)d tasks", count
        ),
        "delete": ngettext("Deleted %(num)d task", "Deleted %(num)d tasks", count),
    }[action]
    return str(many % {"num": count, "list": where})


def done_line(text: str, operations: list[dict[str, Any]], back: str) -> dict[str, str]:
    """What `_bulk_undo.html` shows: the sentence, and the form that undoes it."""
    return {"said": text, "undo": _encoded(operations), "back": back}


def moved_back(
    request: Request, task: Any, list_names: dict[str, str], language: str
) -> dict[str, str] | None:
    """On a task's page just after moving it to another list (`moved_from` in the address):
    the line offering to move it back."""
    origin = request.query_params.get(MOVED_FROM)
    if not origin:
        return None
    try:
        home = None if origin == INBOX else uuid.UUID(origin)
    except ValueError:
        return None
    if task["list_id"] == home:  # back where it was
        return None
    _ = translations(language).gettext
    where = list_names.get(str(task["list_id"])) or _("Inbox")
    text = _("Moved %(title)s to %(list)s") % {"title": task["title"], "list": where}
    operations = [{"op": "update", "id": task["id"], "data": {"list_id": home}}]
    return done_line(text, operations, f"/app/tasks/{task['id']}")


async def apply_undo(conn: Connection, owner: uuid.UUID, operations: list[dict[str, Any]]) -> None:
    """An `Undo`'s operations: as one bulk, then the subtasks of the tasks it made again
    (`under`: the index of the operation that made their parent) as another."""
    for op in operations:
        if op.get("op") == UNDO_COMPLETION:
            await undo_completion(conn, owner, uuid.UUID(str(op["id"])))
    first = [op for op in operations if "under" not in op and op.get("op") != UNDO_COMPLETION]
    made = [result.id for result in await apply(conn, owner, first)] if first else []
    later = [
        {"op": "create", "data": {**op["data"], "parent_id": made[op["under"]]}}
        for op in operations
        if "under" in op
    ]
    if later:
        await apply(conn, owner, later)


async def apply(
    conn: Connection, owner: uuid.UUID, operations: list[dict[str, Any]]
) -> list[bulk.OperationResult]:
    """The operations as one bulk, read as the API reads its body."""
    data = BulkRequest.model_validate({"operations": operations})
    return await bulk.apply_all(
        conn,
        owner,
        operations=[
            bulk.Operation(
                op=item.op,
                id=None if isinstance(item, BulkCreate) else item.id,
                data=item.data if isinstance(item, BulkCreate | BulkUpdate) else None,
            )
            for item in data.operations
        ],
    )


class BulkPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lists = ListPages(site)

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [Route("/app/bulk", signed(self.bulk, writes=True, shared=False), methods=["POST"])]

    async def bulk(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        back = back_to(form.get("back"))
        owner = user_id(signed_in)
        action = str(form.get("action") or "")
        no_date = action == NO_DATE
        if no_date:
            action = "due"
        if "undo" not in form and action not in ACTIONS:  # not a form of ours
            raise NotFound
        try:
            async with database(request).connection() as conn:
                if "undo" in form:
                    await apply_undo(conn, owner, json.loads(str(form["undo"])))
                    return redirect(back)
                ids = dict.fromkeys(parse_uuid(str(value)) for value in form.getlist("task"))
                found = [dict(await tasks.get_task(conn, owner, task_id=i)) for i in ids]
                if action in ("move", "delete"):  # a subtask goes with its parent
                    found = [t for t in found if t["parent_id"] not in ids]
                before = [task_body(t) for t in found]
                subtasks = await self._subtasks(request, conn, owner, before, action)
                where = await self._list_name(request, conn, owner, form.get("list_id"))
                change = change_of(action, form) if not no_date else CLEARED_DUE
                await apply(
                    conn,
                    owner,
                    [
                        {"op": "update", "id": t["id"], "data": change}
                        if change is not None
                        else {"op": action, "id": t["id"]}
                        for t in before
                    ],
                )
        except (ValueError, LookupError, TypeError, ValidationError, ApiError) as exc:
            # (a task gone meanwhile too, or an Undo's operations not as they were written)
            return await self._again(request, signed_in, back, exc)
        words = translations(self.site.language(request))
        text = said(words.gettext, words.ngettext, action, before, where)
        line = done_line(text, undone(action, before, subtasks), back)
        view = await self.lists.view_at(request, signed_in, back)
        return await self.lists.list_page(request, signed_in, view, done=line)

    async def _subtasks(
        self,
        request: Request,
        conn: Connection,
        owner: uuid.UUID,
        before: list[dict[str, Any]],
        action: str,
    ) -> list[tuple[int, dict[str, Any]]]:
        """The subtasks a deletion takes with the tasks (each with its parent's index)."""
        if action != "delete":
            return []
        cursors = held(request.app, CursorCodec)
        found = []
        for index, parent in enumerate(before):
            query = ListQuery(filters=TaskFilters(parent_id=parent["id"]), limit=SUBTASKS_MAX)
            page = await pages.list_tasks(conn, owner, query=query, cursors=cursors)
            found += [(index, task) for task in page.tasks]  # (as the API shows them)
        return found

    async def _list_name(
        self, request: Request, conn: Connection, owner: uuid.UUID, list_id: object
    ) -> str:
        """The name of the list tasks were moved to (the inbox's, for none)."""
        if not list_id:
            return str(self.site.words(request)("Inbox"))
        found = await lists.get_list(conn, owner, parse_uuid(str(list_id)))
        return str(found["name"])

    async def _again(
        self, request: Request, signed_in: BrowserSignIn, back: str, exc: Exception
    ) -> Response:
        """The page the form came from, saying why nothing was done (400; to htmx, which puts
        in only a success, 200)."""
        view = await self.lists.view_at(request, signed_in, back)
        status = 200 if is_htmx(request) else 400
        return await self.lists.list_page(
            request, signed_in, view, status=status, message=problem(exc)
        )
