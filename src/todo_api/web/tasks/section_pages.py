"""A list's sections from its page: adding one (`Add section`), renaming, deleting (its tasks
with it, or kept in the list) and moving one (a board's columns: dragged by their heading,
`Alt+Shift+←`/`→`, or a button each way), and a task's `Move to…` form (a section and a
position in it), which works without JavaScript; the board's scripts move a card through
action_pages.py's move, which takes a section too."""

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
from todo_api.kit.errors import ApiError, InvalidField, NotFound
from todo_api.lists import sections
from todo_api.lists.section_schemas import SectionCreate, SectionUpdate
from todo_api.tasks import service as tasks
from todo_api.tasks.listing import MAX_LIMIT, CursorCodec, ListQuery, TaskFilters
from todo_api.tasks.pages import list_tasks
from todo_api.tasks.schemas import TaskMove
from todo_api.web.common.site import (
    Site,
    back_to,
    is_htmx,
    no_content,
    parse_uuid,
    problem,
    redirect,
    refused,
    user_id,
)
from todo_api.web.tasks.action_pages import an_id, section_field
from todo_api.web.tasks.list_pages import ListPages


class SectionPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lists = ListPages(site)  # a form's mistake shows the list's page again

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        one = "/app/sections/{section_id}"
        return [
            Route(one, signed(self.page), methods=["GET"]),
            Route(
                "/app/lists/{list_id}/sections",
                signed(self.create, writes=True, shared=False),
                methods=["POST"],
            ),
            Route(
                f"{one}/rename", signed(self.rename, writes=True, shared=False), methods=["POST"]
            ),
            Route(
                f"{one}/delete", signed(self.delete, writes=True, shared=False), methods=["POST"]
            ),
            Route(f"{one}/move", signed(self.move, writes=True), methods=["POST"]),
            Route(
                "/app/tasks/{task_id}/move-to",
                signed(self.move_task, writes=True, shared=False),
                methods=["POST"],
            ),
        ]

    async def page(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The section's own page: `Rename section`, `Move left`/`Move right`, `Delete
        section`, each back to the list's page (`back`, the page that linked here). For whoever
        may change the list's sections (a viewer's is 403, as those posts)."""
        section_id = parse_uuid(request.path_params["section_id"])
        async with database(request).connection() as conn:
            found = await sections.get_section(conn, user_id(signed_in), section_id, changing=True)
        back = request.query_params.get("back") or f"/app/lists/{found['list_id']}"
        return self.site.render(
            request, "section.html", user=signed_in.user, section=found, back=back_to(back)
        )

    async def create(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        back = back_to(form.get("back"))
        try:
            data = SectionCreate.model_validate({"name": str(form.get("name") or "")})
            async with database(request).connection() as conn:
                await sections.create_section(conn, user_id(signed_in), list_id, data)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return await self.again(request, signed_in, back, exc, section_name=form.get("name"))
        return redirect(back)

    async def rename(self, request: Request, signed_in: BrowserSignIn) -> Response:
        section_id = parse_uuid(request.path_params["section_id"])
        form = await request.form()
        back = back_to(form.get("back"))
        try:
            data = SectionUpdate.model_validate({"name": str(form.get("name") or "")})
            async with database(request).connection() as conn:
                await sections.update_section(conn, user_id(signed_in), section_id, data)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return await self.again(request, signed_in, back, exc, renamed=section_id)
        return redirect(back)

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Delete the section and its tasks, or (`keep_tasks` ticked) keep them in the list."""
        section_id = parse_uuid(request.path_params["section_id"])
        form = await request.form()
        back = back_to(form.get("back"))
        keep = form.get("keep_tasks") == "1"
        try:
            async with database(request).connection() as conn:
                await sections.delete_section(conn, user_id(signed_in), section_id, keep_tasks=keep)
        except NotFound:
            raise
        except ApiError as exc:
            return await self.again(request, signed_in, back, exc)
        return redirect(back)

    async def move(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Place the section right before or after another (the board's script: 204), or one
        place `left` or `right` (`direction`, a form: back to the page; at either end it
        stays)."""
        section_id = parse_uuid(request.path_params["section_id"])
        owner = user_id(signed_in)
        form = await request.form()
        try:
            async with database(request).connection() as conn:
                place = await self.anchors(conn, owner, section_id, form)
                if place is not None:
                    before, after = place
                    await sections.move_section(conn, owner, section_id, before=before, after=after)
        except NotFound:
            raise
        except ApiError as exc:
            if "direction" in form:
                return await self.again(request, signed_in, back_to(form.get("back")), exc)
            return refused(problem(exc))
        if "direction" in form:
            return redirect(back_to(form.get("back")))
        return no_content()

    @staticmethod
    async def anchors(
        conn: Connection, owner: uuid.UUID, section_id: uuid.UUID, form: FormData
    ) -> tuple[uuid.UUID | None, uuid.UUID | None] | None:
        """Where the form places the section: its `before` or `after`, or the section next to
        it on the side `direction` names (None at that end: it stays)."""
        if "direction" not in form:
            before, after = form.get("before"), form.get("after")
            return (
                an_id("before", before) if before else None,
                an_id("after", after) if after else None,
            )
        found = await sections.get_section(conn, owner, section_id)
        ids = [row["id"] for row in await sections.list_sections(conn, owner, found["list_id"])]
        here = ids.index(section_id)
        step = -1 if form.get("direction") == "left" else 1
        if not 0 <= here + step < len(ids):
            return None
        return (ids[here + step], None) if step < 0 else (None, ids[here + step])

    async def move_task(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """`Move to…`: the task into a section of its list (or none) at a position there (1
        is the top; past the last, the end), among the section's tasks as its page shows them
        in the list's own order."""
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_id(signed_in)
        form = await request.form()
        back = back_to(form.get("back"))
        try:
            section_id = section_field(form.get("section_id"))
            try:
                position = max(1, int(str(form.get("position") or "1")))
            except ValueError:
                raise InvalidField("position", "is not a whole number") from None
            async with database(request).connection() as conn:
                task = await tasks.get_task(conn, owner, task_id=task_id)
                filters = TaskFilters(
                    list_id=task["list_id"],
                    section_id=section_id,
                    no_section=section_id is None,
                    top_level=True,
                    completed=False,
                )
                query = ListQuery(filters=filters, sort="position", limit=MAX_LIMIT)
                page = await list_tasks(
                    conn, owner, query=query, cursors=held(request.app, CursorCodec)
                )
                others = [row["id"] for row in page.tasks if row["id"] != task_id]
                before = others[position - 1] if position <= len(others) else None
                after = others[-1] if before is None and others else None
                move = TaskMove.model_validate(
                    {"section_id": section_id, "before": before, "after": after}
                )
                await tasks.move_task(conn, owner, task_id=task_id, move=move)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            if is_htmx(request):
                return refused(problem(exc))
            return await self.again(request, signed_in, back, exc)
        return redirect(back)

    async def again(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        back: str,
        exc: Exception,
        **context: Any,
    ) -> Response:
        """The page the form came from, saying what was wrong (400, or the error's status)."""
        status = exc.status if isinstance(exc, ApiError) else 400
        said = problem(exc)
        view = await self.lists.view_at(request, signed_in, back)
        return await self.lists.list_page(
            request, signed_in, view, status=status, section_message=said, **context
        )
