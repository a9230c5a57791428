"""The notification bell in every signed-in page's header (the unread count), the list of
notifications (`/app/notifications`), and opening one (`/app/notifications/{id}`: marked read,
then its task)."""

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import service as accounts
from todo_api.accounts.browser import BrowserSignIn
from todo_api.db import Connection, Row
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError, NotFound
from todo_api.lists import service as lists
from todo_api.notifications import service as notifications
from todo_api.notifications.schemas import MarkRead
from todo_api.tasks import service as tasks
from todo_api.web.messages import Gettext
from todo_api.web.site import APP, Site, parse_uuid, redirect, user_id

PAGE_SIZE = 50


class NotificationPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        site.page_context.append(self.bell)

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route("/app/notifications", signed(self.listed), methods=["GET"]),
            Route("/app/notifications/{notification_id}", signed(self.opened), methods=["GET"]),
        ]

    async def bell(self, request: Request, signed_in: BrowserSignIn) -> dict[str, Any]:
        """The header's bell: how many notifications are unread."""
        async with database(request).connection() as conn:
            found = await notifications.inbox(conn, user_id(signed_in), unread=True, limit=1)
        return {"unread": found["unread_count"]}

    async def listed(self, request: Request, signed_in: BrowserSignIn) -> Response:
        _ = self.site.words(request)
        owner = user_id(signed_in)
        cursor = request.query_params.get("cursor")
        async with database(request).connection() as conn:
            try:
                found = await notifications.inbox(conn, owner, limit=PAGE_SIZE, cursor=cursor)
            except ApiError:  # an unreadable cursor
                raise NotFound from None
            shown = [await _shown(conn, owner, row, _) for row in found["items"]]
            sidebar = await lists.list_lists(conn, owner)
        more = found["next"] and f"/app/notifications?cursor={found['next']}"
        return self.site.render(
            request,
            "notifications.html",
            user=signed_in.user,
            lists=sidebar,
            active="notifications",
            notifications=shown,
            more=more,
        )

    async def opened(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """Marked read, then what it is about: its task (else the list, else the list of
        notifications)."""
        owner = user_id(signed_in)
        notification_id = parse_uuid(request.path_params["notification_id"])
        async with database(request).connection() as conn:
            found = await notifications.inbox(conn, owner, limit=PAGE_SIZE)
            row = _among(found["items"], notification_id)
            if row is None:  # an older one: look further
                row = await _find(conn, owner, notification_id, found["next"])
            await notifications.mark_read(conn, owner, MarkRead(ids=[notification_id]))
        if row is None:
            raise NotFound
        if row["task_id"] is not None:
            return redirect(f"/app/tasks/{row['task_id']}")
        if row["list_id"] is not None:
            return redirect(f"/app/lists/{row['list_id']}")
        return redirect(f"{APP}notifications")


async def _find(
    conn: Connection, owner: uuid.UUID, notification_id: uuid.UUID, cursor: str | None
) -> Row | None:
    while cursor is not None:
        found = await notifications.inbox(conn, owner, limit=PAGE_SIZE, cursor=cursor)
        if (row := _among(found["items"], notification_id)) is not None:
            return row
        cursor = found["next"]
    return None


def _among(rows: list[Row], notification_id: uuid.UUID) -> Row | None:
    wanted = str(notification_id)  # asyncpg gives ids a type of its own
    return next((row for row in rows if str(row["id"]) == wanted), None)


async def _shown(conn: Connection, owner: uuid.UUID, row: Row, _: Gettext) -> dict[str, Any]:
    """A notification in words: who did what to which task."""
    actor = None
    if row["actor_id"] is not None:
        person = await accounts.get_user(conn=conn, user_id=row["actor_id"])
        actor = person and (person.name or person.email)
    actor = actor or _("Someone")
    about = ""
    if row["task_id"] is not None:
        try:
            about = (await tasks.get_task(conn, owner, task_id=row["task_id"]))["title"]
        except ApiError:
            about = ""
    elif row["list_id"] is not None:
        try:
            about = (await lists.get_list(conn, owner, row["list_id"]))["name"]
        except ApiError:
            about = ""
    sentences = {
        "assigned": _("%(actor)s assigned you “%(about)s”"),
        "mentioned": _("%(actor)s mentioned you on “%(about)s”"),
        "commented": _("%(actor)s commented on “%(about)s”"),
        "completed": _("%(actor)s completed “%(about)s”"),
        "member_joined": _("%(actor)s joined “%(about)s”"),
    }
    text = sentences.get(row["kind"], _("%(actor)s: “%(about)s”")) % {
        "actor": actor,
        "about": about,
    }
    return {"id": row["id"], "text": text, "read": row["read"], "at": row["at"]}
