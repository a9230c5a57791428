"""Settings about where the person's tasks go and their data: calendar apps (the CalDAV
address and a token made for it; calendar feeds, feeds.py), AI assistants (the MCP
address), and their data (export, import, delete the account), through the same services as
/api's routes."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.auth import personal
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.users import KnownUsers
from todo_api.files import in_calendar
from todo_api.files.storage import Files
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError, NotFound
from todo_api.kit.http import public_base
from todo_api.kit.ids import utcnow
from todo_api.tokens.router import TokenCreate
from todo_api.web.common.shown import day_text
from todo_api.web.common.site import HEADERS, is_htmx, problem, user_id, zone_of
from todo_api.web.settings.feeds import CalendarFeeds, feeds_shown
from todo_api.web.settings.pages import SettingsGroup
from todo_api.yourdata import deletion, export, importer, once
from todo_api.yourdata.schemas import AccountDeletion
from todo_api.yourdata.sources import AUTO

CALENDAR_TOKEN_NAME = "Calendar apps"
# The import's form takes a file as large as POST /api/import does (the app's body limits).
IMPORT_PATH = "/app/settings/data/import"


class SettingsData(CalendarFeeds, SettingsGroup):
    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            *self.feed_routes(),
            Route("/app/settings/calendar", signed(self.calendar), methods=["GET"]),
            Route(
                "/app/settings/calendar/token",
                signed(self.calendar_token, writes=True),
                methods=["POST"],
            ),
            Route("/app/settings/assistants", signed(self.assistants), methods=["GET"]),
            Route("/app/settings/data", signed(self.data), methods=["GET"]),
            Route("/app/settings/data/export", signed(self.export), methods=["GET"]),
            Route(IMPORT_PATH, signed(self.import_file, writes=True), methods=["POST"]),
            Route("/app/settings/data/delete", signed(self.delete, writes=True), methods=["POST"]),
        ]

    def said(self, request: Request) -> Mapping[str, str]:
        return self.feed_said(request)

    def base_url(self, request: Request) -> str:
        """The service's address as apps reach it: PUBLIC_URL, else this request's."""
        return public_base(request, self.site.settings.public_url)

    # Calendar apps

    async def calendar(
        self, request: Request, signed_in: BrowserSignIn, **context: Any
    ) -> Response:
        _ = self.site.words(request)
        base = self.base_url(request)
        async with self.reading(request, signed_in) as conn:
            feeds = await feeds_shown(conn, user_id(signed_in), self.clock(request, signed_in), _)
        return await self.group_page(
            request,
            signed_in,
            "settings_calendar.html",
            group="calendar",
            heading=_("Calendar apps"),
            base=base,
            host=urlsplit(base).netloc,
            dav=f"{base}/dav/",
            **feeds,
            **context,
        )

    async def calendar_token(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """A personal access token for calendar apps, its secret on this answer only (a page,
        not a redirect: the secret is not kept anywhere to show again)."""
        _ = self.site.words(request)
        data = TokenCreate(name=CALENDAR_TOKEN_NAME)
        try:
            async with database(request).connection() as conn:
                row, token = await personal.create_token(
                    conn,
                    user_id(signed_in),
                    name=data.name,
                    scope=data.scope,
                    expires_in_days=data.expires_in_days,
                )
        except ApiError as exc:
            return await self.calendar(request, signed_in, status=exc.status, message=problem(exc))
        return await self.calendar(
            request,
            signed_in,
            token=token,
            expires=day_text(row.expires_at.date(), self.site.language(request))
            if row.expires_at
            else None,
            done=_("Token made. Copy it now: it is shown only once."),
        )

    # AI assistants

    async def assistants(self, request: Request, signed_in: BrowserSignIn) -> Response:
        _ = self.site.words(request)
        mcp = f"{self.base_url(request)}/mcp"
        snippet = (
            '{\n  "mcpServers": {\n    "tasks": { "type": "http", "url": "' + mcp + '" }\n  }\n}'
        )
        return await self.group_page(
            request,
            signed_in,
            "settings_assistants.html",
            group="assistants",
            heading=_("AI assistants"),
            mcp=mcp,
            snippet=snippet,
            oauth=self.site.settings.oauth_server_enabled,
        )

    # Your data

    async def data(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        _ = self.site.words(request)
        return await self.group_page(
            request,
            signed_in,
            "settings_data.html",
            group="data",
            heading=_("Your data"),
            **{"sources": self.source_names(request), **context},
        )

    def source_names(self, request: Request) -> dict[str, str]:
        """Each format the import reads, as the form names it; `auto` first."""
        _ = self.site.words(request)
        names = {
            AUTO: _("Detect from the file"),
            "todo-api": _("This service (an export)"),
            "ics": _("A calendar app (iCalendar)"),
            "todoist": _("Todoist (CSV or JSON)"),
            "google-tasks": _("Google Tasks (Takeout's Tasks.json)"),
            "trello": _("Trello (a board's JSON export)"),
            "ticktick": _("TickTick (its backup, CSV)"),
            "microsoft-todo": _("Microsoft To Do (lists from Microsoft Graph, JSON)"),
        }
        return {source: names.get(source, source) for source in [AUTO, *importer.sources()]}

    async def export(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """What GET /api/export streams, as a download: `format` json (everything; with
        `with_files=true`, the zip of it and the files) or ics."""
        kind = request.query_params.get("format", "json")
        with_files = request.query_params.get("with_files") == "true"
        if kind not in ("json", "ics") or (with_files and kind != "json"):
            raise NotFound
        db = database(request)
        day = utcnow().date().isoformat()
        if kind == "ics":
            stream = export.calendar(db, user_id(signed_in), in_calendar.base_url(request))
            media, name = "text/calendar; charset=utf-8", f"todo-api-tasks-{day}.ics"
        else:
            user = await export.user_of(db, user_id(signed_in))
            if user is None:
                raise NotFound
            if with_files:
                stream = export.zipped(db, user, held(request.app, Files))
                media, name = "application/zip", f"todo-api-export-{day}.zip"
            else:
                stream = export.document(db, user)
                media, name = "application/json", f"todo-api-export-{day}.json"
        headers = {**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
        return StreamingResponse(stream, media_type=media, headers=headers)

    async def import_file(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """POST /api/import's work for a file sent by the form: the page with what was made
        and skipped (htmx: only that part, its status 200 so that htmx shows an error too)."""
        _ = self.site.words(request)
        form = await request.form()
        upload, source = form.get("file"), str(form.get("source") or AUTO)
        owner = user_id(signed_in)
        context: dict[str, Any] = {"sources": self.source_names(request)}
        try:
            if source not in context["sources"]:
                raise ValueError(_("Choose where the file comes from."))
            body = await upload.read() if isinstance(upload, UploadFile) else b""
            if not body:
                raise ValueError(_("Choose a file to import."))
            source = once.source_of(source, body)
            filename = upload.filename if isinstance(upload, UploadFile) else None
            trello = str(form.get("trello") or "") or None
            options = once.options_of(None, filename, trello)
            db = database(request)
            async with db.connection() as conn:
                zone = zone_of(signed_in)
            files = held(request.app, Files)
            async with (
                importer.received(
                    db, self.site.settings, files, owner, source, options, body, zone=zone
                ) as received,
                db.connection() as conn,
            ):
                context["result"] = await once.store(
                    conn, owner, received, quota=files.quota_bytes, again=form.get("again") == "1"
                )
        except (ValueError, ValidationError, ApiError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            context.update(status=status, message=problem(exc))
        if is_htmx(request):
            context.pop("status", None)
            return self.site.render(request, "settings_import_result.html", **context)
        return await self.data(request, signed_in, **context)

    async def delete(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """DELETE /api/auth/me's work: the email typed to confirm, then everything goes, this
        sign-in with it, and a page saying so."""
        form = await request.form()
        owner = user_id(signed_in)
        try:
            data = AccountDeletion.model_validate({"confirm": str(form.get("confirm") or "")})
            known_users = held(request.app, KnownUsers)
            known_users.discard(owner)
            async with database(request).connection() as conn:
                tokens = await deletion.delete_account(
                    conn, owner, confirm=data.confirm, files=held(request.app, Files)
                )
        except (ValidationError, ApiError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            return await self.data(request, signed_in, status=status, message=problem(exc))
        # As the API: every process forgets the tokens and the user at once.
        await held(request.app, KnownTokens).revoked(*tokens, deleted_user=owner)
        known_users.discard(owner)
        held(request.app, SeenProfiles).forget(owner)
        response = self.site.render(request, "account_deleted.html")
        self.site.signins.sign_ins.forget(response)
        return response
