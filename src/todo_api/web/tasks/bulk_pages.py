"""Many tasks at once (the list's selection bar, static/select.js): complete, move to a list,
set the due day or the priority of, or delete the chosen tasks, each as one bulk (tasks/bulk.py:
all or nothing), answered by the list again with a line offering `Undo`. The task page's
`Delete` posts here too (one task), and so does `Undo` after moving a task to another list.

`Undo` is the bulk that puts back what changed (reopen, the old list, due or priority),
written into the line's form when the change is made: the page carries it, and applying it is
the same as the person making those changes themselves (each operation checked as any other).
Deleted tasks are restored (`POST /api/tasks/{id}/restore`'s work, within
DELETED_TASK_GRACE_SECONDS): the same tasks come back, with their subtasks, comments and files."""

import json
import uuid
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.config import Settings
from todo_api.db import Connection
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, NotFound
from todo_api.lists import service as lists
from todo_api.tasks import bulk, trash
from todo_api.tasks import service as tasks
from todo_api.tasks.schemas import BulkCreate, BulkRequest, BulkUpdate, task_body
from todo_api.web.common.messages import Gettext, translations
from todo_api.web.common.site import Site, back_to, is_htmx, parse_uuid, problem, redirect, user_id
from todo_api.web.tasks.action_pages import undo_completion
from todo_api.web.tasks.list_pages import ListPages

MOVED_FROM = "moved_from"  # the task page's parameter: the list a task was just moved from
INBOX = "inbox"
ACTIONS = ("complete", "move", "due", "priority", "delete")
# An Undo's own operation (not the API's): a repeating task's latest completion put back.
UNDO_COMPLETION = "undo_completion"
# `No date` (its own button: without JavaScript the date box may hold a date).
NO_DATE = "no-due"
CLEARED_DUE = {"due_at": None, "due_date": None}


def _plain(value: Any) -> Any:
    """A value of a task as JSON has it (ids and dates as text)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _encoded(operations: list[dict[str, Any]]) -> str:
    return json.dumps(operations, default=_plain, separators=(",", ":"))


def undone(action: str, before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The operations that put the tasks back as they were `before` the action (deleted ones:
    restored, a repeating task's occurrence put back, `apply_undo`)."""
    if action == "complete":
        return [
            {"op": UNDO_COMPLETION if t["recurrence"] else "reopen", "id": t["id"]}
            for t in before
            if not t["is_completed"]
        ]
    if action == "delete":
        return [{"op": "restore", "id": t["id"]} for t in before]
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


async def apply_undo(
    conn: Connection, owner: uuid.UUID, operations: list[dict[str, Any]], grace: timedelta
) -> None:
    """An `Undo`'s operations: the deleted tasks restored, repeating tasks' latest occurrences
    put back, the others as one bulk; all or nothing."""
    async with conn.transaction():
        for op in operations:
            if op.get("op") == "restore":
                await trash.restore(conn, owner, task_id=uuid.UUID(str(op["id"])), grace=grace)
            elif op.get("op") == UNDO_COMPLETION:
                await undo_completion(conn, owner, uuid.UUID(str(op["id"])))
        changes = [op for op in operations if op.get("op") not in ("restore", UNDO_COMPLETION)]
        if changes:
            await apply(conn, owner, changes)


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
                    grace = held(request.app, Settings).deleted_task_grace_seconds
                    undo = json.loads(str(form["undo"]))
                    await apply_undo(conn, owner, undo, timedelta(seconds=grace))
                    return redirect(back)
                ids = dict.fromkeys(parse_uuid(str(value)) for value in form.getlist("task"))
                found = [dict(await tasks.get_task(conn, owner, task_id=i)) for i in ids]
                if action in ("move", "delete"):  # a subtask goes with its parent
                    found = [t for t in found if t["parent_id"] not in ids]
                before = [task_body(t) for t in found]
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
        line = done_line(text, undone(action, before), back)
        view = await self.lists.view_at(request, signed_in, back)
        return await self.lists.list_page(request, signed_in, view, done=line)

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
