"""Saved filters from the page: the filter box's `Save filter` (the query typed, under a name:
then in the sidebar under `Filters`), and on a saved filter's page renaming it, changing its
query and deleting it. Each a form that posts (JavaScript off alike), through the saved filters'
own service (filters/service.py, as `/api/filters`), answered by the page to show next, or the
page it came from again with its message."""

import functools
import uuid
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.filters import service as saved_filters
from todo_api.filters.schemas import FilterCreate, FilterUpdate
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, NotFound
from todo_api.web.common.site import APP, Site, back_to, parse_uuid, problem, redirect, user_id
from todo_api.web.tasks.list_pages import ListPages


def filter_path(filter_id: object) -> str:
    return f"/app/filters/{filter_id}"


def asking(request: Request, path: str) -> Request:
    """The request as if it had asked for `path` (its query: what the filter box held), to
    show that page again with a form's message."""
    query = urlsplit(path).query.encode()
    return Request({**request.scope, "query_string": query}, request.receive)


class FilterPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.lists = ListPages(site)

    def routes(self) -> list[BaseRoute]:
        # A form's mistake shows a list page, whose sidebar reads the bell's count too.
        form = functools.partial(self.site.signed_in, writes=True, shared=False)
        one = "/app/filters/{filter_id}"
        return [
            Route("/app/filters", form(self.create), methods=["POST"]),
            Route(f"{one}/rename", form(self.change), methods=["POST"]),
            Route(f"{one}/edit", form(self.change), methods=["POST"]),
            Route(f"{one}/delete", self.site.signed_in(self.delete, writes=True), methods=["POST"]),
        ]

    async def create(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The filter box's query saved under the name given; its page next."""
        form = await request.form()
        name, query = str(form.get("name") or ""), str(form.get("query") or "")
        try:
            data = FilterCreate.model_validate({"name": name, "query": query})
            async with database(request).connection() as conn:
                made = await saved_filters.create_filter(conn, user_id(signed_in), data)
        except (ValidationError, ApiError) as exc:
            back = back_to(form.get("back"))
            view = await self.lists.view_at(request, signed_in, back)
            return await self.lists.list_page(
                asking(request, back),
                signed_in,
                view,
                status=400,
                save_message=problem(exc),
                save_name=name,
            )
        return redirect(filter_path(made["id"]))

    async def change(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A new name (`rename`) or a new query (`edit`) for the filter."""
        filter_id = parse_uuid(request.path_params["filter_id"])
        form = await request.form()
        field = "name" if request.url.path.endswith("/rename") else "query"
        value = str(form.get(field) or "")
        try:
            data = FilterUpdate.model_validate({field: value})
            async with database(request).connection() as conn:
                await saved_filters.update_filter(conn, user_id(signed_in), filter_id, data)
        except NotFound:
            raise
        except (ValidationError, ApiError) as exc:
            path = filter_path(filter_id)
            view = await self.lists.view_at(request, signed_in, path)
            return await self.lists.list_page(
                request,
                signed_in,
                view,
                status=400,
                saved_message=problem(exc),
                **{f"saved_{field}": value},
            )
        return redirect(filter_path(filter_id))

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        filter_id: uuid.UUID = parse_uuid(request.path_params["filter_id"])
        async with database(request).connection() as conn:
            await saved_filters.delete_filter(conn, user_id(signed_in), filter_id)
        return redirect(APP)
