"""What the list's scripts call, each also a form that works without them: moving a task among
its siblings (drag and drop, `Alt+↑`/`Alt+↓`) and quick add's preview (what the words will be
read as, highlighted while one types); and the `Undo` line after completing a task (whose
button reopens it through list_pages.py's reopen)."""

import uuid
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, InvalidField, NotFound
from todo_api.tasks import completions, quick
from todo_api.tasks import service as tasks
from todo_api.tasks.schemas import QuickAdd, TaskMove
from todo_api.web.common.site import Site, no_content, parse_uuid, problem, refused
from todo_api.web.common.site import user_id as user_of

UNDO = "undo"  # the query parameter naming the task just completed (JavaScript off)

NO_SECTION = "none"  # a form's section_id for the list without a section


def section_field(value: Any) -> uuid.UUID | None:
    """A form's `section_id`: a section's id, or `none` (raises InvalidField otherwise)."""
    return None if value == NO_SECTION else an_id("section_id", value)


def an_id(field: str, value: Any) -> uuid.UUID:
    """The id a form's `field` holds (raises InvalidField naming it when it is none)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidField(field, "is not an id") from None


class ActionPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route("/app/tasks/{task_id}/move", signed(self.move, writes=True), methods=["POST"]),
            Route("/app/quick/preview", signed(self.preview, writes=True), methods=["POST"]),
        ]

    async def move(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Place the task right before or right after a sibling (the form's `before` or
        `after`), through the tasks' own move: it stays in its list and under its parent; in
        the section the form's `section_id` names (`none`: no section; a board's card moved
        to another column), else in its own."""
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_of(signed_in)
        form = await request.form()
        async with database(request).connection() as conn:
            task = await tasks.get_task(conn, owner, task_id=task_id)
            try:
                place = {"list_id": task["list_id"], "parent_id": task["parent_id"]}
                if "section_id" in form:
                    place["section_id"] = section_field(form.get("section_id"))
                move = TaskMove.model_validate(
                    {
                        **place,
                        "before": form.get("before") or None,
                        "after": form.get("after") or None,
                    }
                )
                await tasks.move_task(conn, owner, task_id=task_id, move=move)
            except NotFound:
                raise
            except (ValidationError, ApiError) as exc:
                return refused(problem(exc))
        return no_content()

    async def preview(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The typed text with what quick add reads in it marked (nothing is written): the
        same reading as `POST /api/tasks/quick/preview`, as a part of the page."""
        form = await request.form()
        text = str(form.get("text") or "")
        if not text.strip():
            return self.site.render(request, "_preview.html", parts=[], error=None)
        accepted = request.headers.get("accept-language")  # after the person's own language
        try:
            async with database(request).connection() as conn:
                if form.get("dates") == "1":  # a title edited in place: its date words only
                    *_, spans = await quick.read_dates(
                        conn, user_of(signed_in), text=text, accept_language=accepted
                    )
                else:
                    data = QuickAdd.model_validate(
                        {"text": text, "list_id": form.get("list_id") or None}
                    )
                    _, spans = await quick.read(
                        conn, user_of(signed_in), data=data, accept_language=accepted
                    )
        except (ValidationError, ApiError) as exc:
            return self.site.render(request, "_preview.html", parts=[], error=problem(exc))
        parts: list[tuple[str, str | None]] = []  # (text, the kind read there or None)
        at = 0
        for span in sorted(spans, key=lambda span: span.start):
            if span.start < at:  # overlapping: the first read wins
                continue
            parts += [(text[at : span.start], None), (text[span.start : span.end], span.kind)]
            at = span.end
        parts.append((text[at:], None))
        return self.site.render(
            request, "_preview.html", parts=[p for p in parts if p[0]], error=None
        )


def undo_path(back: str, task_id: uuid.UUID) -> str:
    """The page to show after completing a task with JavaScript off: `back`, offering `Undo`."""
    return f"{back}{'&' if '?' in back else '?'}{UNDO}={task_id}"


async def just_completed(
    request: Request, conn: Connection, owner: uuid.UUID
) -> dict[str, Any] | None:
    """The task the page's address says was just completed (for its `Undo`), if it still is,
    or (a repeating task, open at its next occurrence) has an occurrence completed to undo."""
    try:
        task_id = uuid.UUID(request.query_params.get(UNDO, ""))
        task = await tasks.get_task(conn, owner, task_id=task_id)
    except (ValueError, NotFound):
        return None
    if task["is_completed"]:
        return dict(task)
    done, _ = await completions.list_completions(conn, owner, task_id, limit=1)
    return dict(task) if done else None


async def undo_completion(conn: Connection, owner: uuid.UUID, task_id: uuid.UUID) -> Any:
    """`Undo` of completing a repeating task: its latest occurrence put back (one the task's
    last occurrence completed for good reopens it too); a task with none recorded (a copy an
    earlier release completed) is reopened."""
    try:
        return await completions.undo_latest(conn, owner, task_id=task_id)
    except completions.NothingToUndo:
        return await tasks.set_completed(conn, owner, task_id=task_id, completed=False)


def undo_line(site: Site, request: Request, task: dict[str, Any], back: str) -> Response:
    """What takes a task's row after completing it with htmx: a line saying so, with `Undo`
    (a script takes the line away after 5 s)."""
    return site.render(request, "_undo.html", undo=task, back=back, inline=True)
