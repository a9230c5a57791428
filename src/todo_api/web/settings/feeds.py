"""The calendar feeds of the settings' Calendar apps group (`/app/settings/calendar`): make one
(of a list, a saved filter or everything; its URL shown in the answer to the form that made it
and never again), see them and delete one, through the service /api/feeds uses. The group's
page is data.py's, which takes these forms in (`CalendarFeeds`) and shows what
`feeds_shown` gives."""

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.calendar_feeds import service as feeds
from todo_api.calendar_feeds.router import FeedCreate, feed_urls
from todo_api.db import Connection
from todo_api.filters import service as filters
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError
from todo_api.kit.http import public_base
from todo_api.lists import service as lists
from todo_api.web.common.site import Site, parse_uuid, problem, redirect, user_id

PAGE = "/app/settings/calendar"
DELETED = "feed-deleted"


async def feeds_shown(
    conn: Connection, owner: Any, when: Callable[[object], str], words: Callable[..., str]
) -> dict[str, Any]:
    """The page's feeds (what each shows, when it was made) and the choices of the form that
    makes one: the person's lists and saved filters."""
    _ = words
    mine = await lists.list_lists(conn, owner)
    saved = await filters.list_filters(conn, owner)
    names = {row["id"]: row["name"] for row in mine}
    filter_names = {row["id"]: row["name"] for row in saved}
    shown = []
    for row in await feeds.list_feeds(conn, owner):
        if row.list_id is not None:
            what = _("List: %(name)s") % {"name": names.get(row.list_id, "…")}
        elif row.filter_id is not None:
            what = _("Filter: %(name)s") % {"name": filter_names.get(row.filter_id, "…")}
        else:
            what = _("All your tasks")
        shown.append(
            {
                "id": row.id,
                "what": what,
                "undated": row.include == feeds.Include.all,
                "made": when(row.created_at),
            }
        )
    return {
        "feeds": shown,
        "feed_lists": [{"id": row["id"], "name": row["name"]} for row in mine],
        "feed_filters": [{"id": row["id"], "name": row["name"]} for row in saved],
        "feeds_max": feeds.MAX_FEEDS_PER_USER,
    }


class CalendarFeeds:
    """The feeds' forms, for the Calendar apps group, whose page (`calendar`) they answer
    with."""

    site: Site

    async def calendar(
        self, request: Request, signed_in: BrowserSignIn, **context: Any
    ) -> Response:
        raise NotImplementedError  # the group's page (data.py)

    def feed_routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route(PAGE + "/feeds", signed(self.make_feed, writes=True), methods=["POST"]),
            Route(
                PAGE + "/feeds/{feed_id}/delete",
                signed(self.delete_feed, writes=True),
                methods=["POST"],
            ),
        ]

    def feed_said(self, request: Request) -> Mapping[str, str]:
        _ = self.site.words(request)
        return {DELETED: _("The feed is deleted: its address shows nothing from now on.")}

    async def make_feed(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A new feed, its URL on this answer only (a page, not a redirect: the secret is not
        kept anywhere to show again)."""
        _ = self.site.words(request)
        form = await request.form()
        source = str(form.get("source") or "all")
        kind, _colon, chosen = source.partition(":")
        asked: dict[str, Any] = {"include": "all" if form.get("undated") else "dated"}
        if kind in {"list", "filter"}:
            asked[f"{kind}_id"] = chosen
        try:
            data = FeedCreate.model_validate(asked)
            async with database(request).connection() as conn:
                _row, secret = await feeds.create_feed(
                    conn,
                    user_id(signed_in),
                    list_id=data.list_id,
                    filter_id=data.filter_id,
                    include=data.include,
                )
        except (ValidationError, ApiError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            return await self.calendar(request, signed_in, status=status, message=problem(exc))
        made = feed_urls(public_base(request, self.site.settings.public_url), secret)
        done = _("The feed is made. Copy its address now: it is shown only this once.")
        return await self.calendar(request, signed_in, feed_made=made, done=done)

    async def delete_feed(self, request: Request, signed_in: BrowserSignIn) -> Response:
        feed = parse_uuid(request.path_params["feed_id"])
        try:
            async with database(request).connection() as conn:
                await feeds.delete_feed(conn, user_id(signed_in), feed)
        except ApiError as exc:
            return await self.calendar(request, signed_in, status=exc.status, message=problem(exc))
        return redirect(f"{PAGE}?done={DELETED}")
