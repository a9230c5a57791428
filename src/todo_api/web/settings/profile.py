"""Settings about the person: their profile (`/app/settings/profile`: name, time zone, the
app's language and theme, the calendar's first day of the week) and how they are told
(`/app/settings/notifications`), changed through the same services and schemas as
`PATCH /api/auth/me` and `PATCH /api/notifications/settings`."""

from typing import Any, get_args

from babel import Locale
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import service as accounts
from todo_api.accounts.browser import BrowserSignIn
from todo_api.accounts.schemas import MeUpdate
from todo_api.kit.deps import database
from todo_api.kit.errors import ApiError
from todo_api.notifications import service as notifications
from todo_api.notifications.schemas import Kind, SettingsUpdate
from todo_api.web.common.shown import WEEK_STARTS, zone_alias, zone_choices
from todo_api.web.common.site import problem, redirect, user_id
from todo_api.web.settings.pages import SettingsGroup

# Each language named in itself, in the order the API lists them.
LANGUAGE_NAMES = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "pt": "Português",
    "nl": "Nederlands",
}


def week_starts(language: str, default: str) -> dict[str, str]:
    """The days a person may start the calendar's weeks on, named in the language (Babel's
    names), after `default`, the words for the language's own."""
    names = Locale.parse(language).days["format"]["wide"]
    days = {name: names[day] for name, day in WEEK_STARTS.items()}
    return {"": default, **days}


class SettingsProfile(SettingsGroup):
    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route("/app/settings/profile", signed(self.profile), methods=["GET"]),
            Route(
                "/app/settings/profile", signed(self.save_profile, writes=True), methods=["POST"]
            ),
            Route("/app/settings/notifications", signed(self.notices), methods=["GET"]),
            Route(
                "/app/settings/notifications",
                signed(self.save_notices, writes=True),
                methods=["POST"],
            ),
        ]

    async def page(
        self, request: Request, signed_in: BrowserSignIn, template: str, **context: Any
    ) -> Response:
        """A group's page, saying "Saved." after a form saved (`?saved=1`)."""
        if request.query_params.get("saved") and "message" not in context:
            context["done"] = self.site.words(request)("Saved.")
        return await self.group_page(request, signed_in, template, **context)

    async def profile(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        _ = self.site.words(request)
        user = signed_in.user
        shown = {
            "name": user.name,
            "timezone": user.timezone,
            "language": user.language,
            "theme": user.theme,
            "week_start": user.week_start,
        }
        shown.update(context.pop("shown", {}))
        # The zone as stored, under its entry's words when that is an old name of a listed one.
        listed = zone_alias(shown["timezone"])
        zones = [
            (shown["timezone"] if name == listed else name, words)
            for name, words in zone_choices(self.site.language(request))
        ]
        return await self.page(
            request,
            signed_in,
            "settings_profile.html",
            group="profile",
            heading=_("Profile"),
            zones=zones,
            languages=LANGUAGE_NAMES,
            themes={"": _("System"), "light": _("Light"), "dark": _("Dark")},
            week_starts=week_starts(self.site.language(request), _("The language's")),
            shown=shown,
            **context,
        )

    async def save_profile(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        changes = {
            "name": str(form.get("name") or "").strip() or None,
            "timezone": str(form.get("timezone") or ""),
            "language": str(form.get("language") or "") or None,
            "theme": str(form.get("theme") or "") or None,
            "week_start": str(form.get("week_start") or "") or None,
        }
        try:
            data = MeUpdate.model_validate(changes)
            async with database(request).connection() as conn:
                await accounts.change_me(
                    conn=conn, user_id=user_id(signed_in), changes=data.model_dump()
                )
        except (ValidationError, ApiError) as exc:
            return await self.profile(
                request, signed_in, status=400, message=problem(exc), shown=changes
            )
        return redirect("/app/settings/profile?saved=1")

    async def notices(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        _ = self.site.words(request)
        async with database(request).connection() as conn:
            current = await notifications.get_settings(conn, user_id(signed_in))
        modes = {"off": _("Off"), "instant": _("Right away"), "daily": _("Once a day")}
        kinds = {
            "assigned": _("Someone assigns me a task"),
            "mentioned": _("A comment mentions me"),
            "commented": _("Someone comments on a task I made or am assigned"),
            "completed": _("Someone completes a task I made or am assigned"),
            "member_joined": _("Someone joins a list I own"),
        }
        return await self.page(
            request,
            signed_in,
            "settings_notifications.html",
            group="notifications",
            heading=_("Notifications"),
            current=current,
            modes=modes,
            kinds=kinds,
            **context,
        )

    async def save_notices(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        # An unticked box is not sent: every kind the form shows is set, on or off.
        kinds = {kind: kind in form.getlist("kinds") for kind in get_args(Kind)}
        try:
            data = SettingsUpdate.model_validate({"email": form.get("email"), "kinds": kinds})
            async with database(request).connection() as conn:
                await notifications.update_settings(conn, user_id(signed_in), data)
        except (ValidationError, ApiError) as exc:
            return await self.notices(request, signed_in, status=400, message=problem(exc))
        return redirect("/app/settings/notifications?saved=1")
