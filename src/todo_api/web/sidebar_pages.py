"""The lists in the sidebar: made (`New list`), renamed, moved up or down among the person's
lists, and deleted after a page that asks to confirm; each a form that posts (JavaScript off
alike), answered by the page to show, or the page again with its message."""

import uuid

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, Forbidden, NotFound
from todo_api.lists import service as lists
from todo_api.lists.errors import ListForbidden
from todo_api.lists.schemas import ListCreate, ListUpdate
from todo_api.web.list_pages import ListPages, sidebar
from todo_api.web.site import APP, Site, back_to, parse_uuid, problem, redirect, user_id


def list_path(list_id: object) -> str:
    return f"/app/lists/{list_id}"


class SidebarPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lists = ListPages(site)  # a form's mistake shows the page it came from again

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        one = "/app/lists/{list_id}"
        return [
            Route("/app/lists", signed(self.create, writes=True), methods=["POST"]),
            Route(f"{one}/rename", signed(self.rename, writes=True), methods=["POST"]),
            Route(f"{one}/move", signed(self.move, writes=True), methods=["POST"]),
            Route(f"{one}/delete", signed(self.confirm_delete), methods=["GET"]),
            Route(f"{one}/delete", signed(self.delete, writes=True), methods=["POST"]),
        ]

    async def create(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        try:
            data = ListCreate.model_validate({"name": str(form.get("name") or "")})
            async with database(request).connection() as conn:
                made = await lists.create_list(conn, user_id(signed_in), data)
        except (ValidationError, ApiError) as exc:
            back = back_to(form.get("back"))
            view = await self.lists.view_at(request, signed_in, back)
            return await self.lists.list_page(
                request, signed_in, view, status=400, sidebar_message=problem(exc)
            )
        return redirect(list_path(made["id"]))

    async def rename(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        try:
            data = ListUpdate.model_validate({"name": str(form.get("name") or "")})
            async with database(request).connection() as conn:
                await lists.update_list(conn, user_id(signed_in), list_id, data)
        except NotFound:
            raise
        except Forbidden as exc:  # a member's list is its owner's to rename
            return await self._refused(request, signed_in, list_id, exc)
        except (ValidationError, ApiError) as exc:
            view = await self.lists.view_at(request, signed_in, list_path(list_id))
            return await self.lists.list_page(
                request, signed_in, view, status=400, list_message=problem(exc)
            )
        return redirect(list_path(list_id))

    async def move(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """One place up or down among the person's lists (at either end: stays)."""
        list_id = parse_uuid(request.path_params["list_id"])
        form = await request.form()
        step = -1 if form.get("direction") == "up" else 1
        owner = user_id(signed_in)
        async with database(request).connection() as conn:
            ids = [uuid.UUID(str(row["id"])) for row in await lists.list_lists(conn, owner)]
            if list_id not in ids:
                await lists.get_list(conn, owner, list_id)  # ListNotFound: not there
            here = ids.index(list_id)
            if 0 <= here + step < len(ids):
                anchor = ids[here + step]
                before, after = (anchor, None) if step < 0 else (None, anchor)
                await lists.move_list(conn, owner, list_id, before=before, after=after)
        return redirect(list_path(list_id))

    async def confirm_delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        owner = user_id(signed_in)
        async with database(request).connection() as conn:
            found = await lists.get_list(conn, owner, list_id)  # ListNotFound: not a member
            side = await sidebar(conn, signed_in)
        if found["role"] != "owner":  # a member sees the list; deleting it is its owner's
            return await self._refused(request, signed_in, list_id, ListForbidden())
        return self.site.render(
            request, "list_delete.html", user=signed_in.user, found=found, **side
        )

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        list_id = parse_uuid(request.path_params["list_id"])
        try:
            async with database(request).connection() as conn:
                await lists.delete_list(conn, user_id(signed_in), list_id)
        except NotFound:
            raise
        except ApiError as exc:  # a member's list is its owner's to delete
            return await self._refused(request, signed_in, list_id, exc)
        return redirect(APP)

    async def _refused(
        self, request: Request, signed_in: BrowserSignIn, list_id: uuid.UUID, exc: ApiError
    ) -> Response:
        """The list's page, which a member may see, saying what was refused (403: what only
        its owner may do)."""
        view = await self.lists.view_at(request, signed_in, list_path(list_id))
        return await self.lists.list_page(
            request, signed_in, view, status=exc.status, list_message=problem(exc)
        )
