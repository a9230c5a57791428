"""A task's own page (`/app/tasks/{id}`): its fields to change and save, and delete."""

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, NotFound
from todo_api.lists import service as lists
from todo_api.tasks import schedule
from todo_api.tasks import service as tasks
from todo_api.tasks.schemas import TaskUpdate, task_body
from todo_api.web.shown import task_row
from todo_api.web.site import APP, Site, parse_uuid, problem, redirect, user_id

PRIORITIES = ("none", "low", "medium", "high")


class TaskPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route("/app/tasks/{task_id}", signed(self.task), methods=["GET"]),
            Route("/app/tasks/{task_id}", signed(self.save, writes=True), methods=["POST"]),
            Route(
                "/app/tasks/{task_id}/delete", signed(self.delete, writes=True), methods=["POST"]
            ),
        ]

    async def task(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        owner = user_id(signed_in)
        async with database(request).connection() as conn:
            zone = await schedule.user_zone(conn, owner)
            found = await tasks.get_task(conn, owner, task_id=task_id)
            sidebar = await lists.list_lists(conn, owner)
        return self.site.render(
            request,
            "task.html",
            context.pop("status", 200),
            user=signed_in.user,
            lists=sidebar,
            task=task_row(task_body(found), zone, self.site.language(request)),
            priorities=PRIORITIES,
            **context,
        )

    async def save(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        form = await request.form()
        changes: dict[str, Any] = {
            "title": str(form.get("title") or ""),
            "description": str(form.get("description") or "") or None,
            "priority": form.get("priority"),
        }
        due = str(form.get("due") or "")
        if due != str(form.get("due_shown") or ""):  # a timed due stays as it is unless changed
            changes.update(due_date=due or None, due_at=None)
        try:
            data = TaskUpdate.model_validate(changes)
            async with database(request).connection() as conn:
                await tasks.update_task(conn, user_id(signed_in), task_id=task_id, data=data)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            return await self.task(request, signed_in, status=400, message=problem(exc))
        return redirect(f"/app/tasks/{task_id}")

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        task_id = parse_uuid(request.path_params["task_id"])
        async with database(request).connection() as conn:
            found = await tasks.get_task(conn, user_id(signed_in), task_id=task_id)
            await tasks.delete_task(conn, user_id(signed_in), task_id=task_id)
        list_id = found["list_id"]
        return redirect(APP if list_id is None else f"/app/lists/{list_id}")
