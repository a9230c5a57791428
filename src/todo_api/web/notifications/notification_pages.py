"""The list of notifications (`/app/notifications`, each with when it happened, and `Mark all
as read`; the bell in every signed-in page's header has its unread count from the sidebar's
statement: sidebar_pages), and opening one (`/app/notifications/{id}`: marked read, then its
task)."""

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
from todo_api.web.common.messages import Gettext
from todo_api.web.common.shown import moment_text
from todo_api.web.common.site import APP, Site, parse_uuid, redirect, user_id, zone_of

PAGE_SIZE = 50


class NotificationPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route("/app/notifications", signed(self.listed), methods=["GET"]),
            Route("/app/notifications/read", signed(self.all_read, writes=True), methods=["POST"]),
            Route("/app/notifications/{notification_id}", signed(self.opened), methods=["GET"]),
        ]

    async def listed(self, request: Request, signed_in: BrowserSignIn) -> Response:
        _ = self.site.words(request)
        owner = user_id(signed_in)
        cursor = request.query_params.get("cursor")
        async with database(request).connection() as conn:
            try:
                found = await notifications.inbox(conn, owner, limit=PAGE_SIZE, cursor=cursor)
            except ApiError:  # an unreadable cursor
                raise NotFound from None
            told = _Told(conn, owner, _, zone_of(signed_in), self.site.language(request))
            shown = [await told(row) for row in found["items"]]
        more = found["next"] and f"/app/notifications?cursor={found['next']}"
        return self.site.render(
            request,
            "notifications.html",
            user=signed_in.user,
            active="notifications",
            notifications=shown,
            more=more,
        )

    async def all_read(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """`Mark all as read` (a form: it works without JavaScript), back to the list."""
        async with database(request).connection() as conn:
            await notifications.mark_read(conn, user_id(signed_in), MarkRead(all=True))
        return redirect(f"{APP}notifications")

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


class _Told:
    """Notifications in words (who did what to which task), each person and task read once a
    page."""

    def __init__(
        self, conn: Connection, owner: uuid.UUID, _: Gettext, zone: str, language: str
    ) -> None:
        self._conn, self._owner, self._ = conn, owner, _
        self._zone, self._language = zone, language
        self._people: dict[Any, str] = {}
        self._about: dict[Any, str] = {}

    async def _person(self, person_id: Any) -> str:
        if person_id not in self._people:
            person = await accounts.get_user(conn=self._conn, user_id=person_id)
            self._people[person_id] = (person and (person.name or person.email)) or ""
        return self._people[person_id] or self._("Someone")

    async def _title(self, row: Row) -> str:
        key = (row["task_id"], row["list_id"])
        if key not in self._about:
            try:
                if row["task_id"] is not None:
                    task = await tasks.get_task(self._conn, self._owner, task_id=row["task_id"])
                    self._about[key] = task["title"]
                else:
                    found = await lists.get_list(self._conn, self._owner, row["list_id"])
                    self._about[key] = found["name"]
            except ApiError:  # gone since
                self._about[key] = ""
        return self._about[key]

    async def __call__(self, row: Row) -> dict[str, Any]:
        _ = self._
        actor = await self._person(row["actor_id"]) if row["actor_id"] else _("Someone")
        sentences = {
            "assigned": _("%(actor)s assigned you “%(about)s”"),
            "mentioned": _("%(actor)s mentioned you on “%(about)s”"),
            "commented": _("%(actor)s commented on “%(about)s”"),
            "completed": _("%(actor)s completed “%(about)s”"),
            "member_joined": _("%(actor)s joined “%(about)s”"),
        }
        sentence = sentences.get(row["kind"], _("%(actor)s: “%(about)s”"))
        text = sentence % {"actor": actor, "about": await self._title(row)}
        return {
            "id": row["id"],
            "text": text,
            "read": row["read"],
            "at": moment_text(row["at"], self._zone, self._language),
            "at_iso": row["at"].isoformat(),
        }
