"""The settings' Tokens and apps group (`/app/settings/tokens`): personal access tokens (made
with the API's rules, the secret shown in the answer to the form that made it and never again,
revoked) and the apps connected by OAuth (their grants, revocable), through the services the
API's /api/tokens and /api/connections use."""

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts.browser import BrowserSignIn
from todo_api.auth import app_tokens, personal
from todo_api.auth.errors import ConnectionNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError
from todo_api.oauth import store
from todo_api.tokens.router import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, TokenCreate
from todo_api.web.common.site import parse_uuid, problem, redirect, user_id
from todo_api.web.settings.pages import SettingsGroup

PAGE = "/app/settings/tokens"
# The expiry choices offered; "never" is the API's null.
EXPIRIES = ("7", "30", str(DEFAULT_EXPIRY_DAYS), str(MAX_EXPIRY_DAYS), "never")


class TokenSettings(SettingsGroup):
    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in
        return [
            Route(PAGE, signed(self.page), methods=["GET"]),
            Route(PAGE, signed(self.make, writes=True), methods=["POST"]),
            Route(PAGE + "/apps/revoke", signed(self.revoke_app, writes=True), methods=["POST"]),
            Route(PAGE + "/{token_id}/revoke", signed(self.revoke, writes=True), methods=["POST"]),
        ]

    def said(self, request: Request) -> dict[str, str]:
        _ = self.site.words(request)
        return {
            "revoked": _("The token is revoked: it is refused from now on."),
            "app-revoked": _("The app's access has ended."),
        }

    async def page(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        _ = self.site.words(request)
        owner = user_id(signed_in)
        when = self.clock(request, signed_in)
        async with self.reading(request, signed_in) as conn:
            tokens = await personal.list_tokens(conn, owner)
            apps = await store.list_connections(conn, owner)
        shown_tokens = [
            {
                "id": row.id,
                "name": row.name,
                "scope": row.scope,
                "prefix": row.prefix,
                "made": when(row.created_at),
                "expires": when(row.expires_at),
                "used": when(row.last_used_at),
            }
            for row in tokens
        ]
        shown_apps = [
            {
                "client_id": row.client_id,
                "name": row.client_name,
                "scope": row.scope,
                "made": when(row.created_at),
                "used": when(row.last_used_at),
            }
            for row in apps
        ]
        return self.render_group(
            request,
            signed_in,
            "settings_tokens.html",
            group="tokens",
            heading=_("Tokens and apps"),
            tokens=shown_tokens,
            apps=shown_apps,
            expiries=EXPIRIES,
            default_expiry=str(DEFAULT_EXPIRY_DAYS),
            **context,
        )

    async def make(self, request: Request, signed_in: BrowserSignIn) -> Response:
        _ = self.site.words(request)
        form = await request.form()
        expiry = str(form.get("expires_in_days") or DEFAULT_EXPIRY_DAYS)
        days: int | str | None = int(expiry) if expiry.isdecimal() else expiry
        asked = {
            "name": str(form.get("name") or ""),
            "scope": str(form.get("scope") or personal.Scope.write),
            "expires_in_days": None if expiry == "never" else days,
        }
        try:
            data = TokenCreate.model_validate(asked)
            async with database(request).connection() as conn:
                row, secret = await personal.create_token(
                    conn,
                    user_id(signed_in),
                    name=data.name,
                    scope=data.scope,
                    expires_in_days=data.expires_in_days,
                )
        except (ValidationError, ApiError) as exc:
            status = exc.status if isinstance(exc, ApiError) else 400
            return await self.page(request, signed_in, status=status, message=problem(exc))
        made = {"name": row.name, "secret": secret}
        done = _("The token is made. Copy it now: it is shown only this once.")
        return await self.page(request, signed_in, made=made, done=done)

    async def revoke(self, request: Request, signed_in: BrowserSignIn) -> Response:
        token = parse_uuid(request.path_params["token_id"])
        try:
            async with database(request).connection() as conn:
                await personal.revoke_token(conn, user_id(signed_in), token)
        except ApiError as exc:
            return await self.page(request, signed_in, status=exc.status, message=problem(exc))
        # Committed: every process forgets it before the answer goes.
        await held(request.app, KnownTokens).revoked(token)
        return redirect(PAGE + "?done=revoked")

    async def revoke_app(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        client_id = str(form.get("client_id") or "")[:2048]
        async with database(request).connection() as conn:
            ended, ids = await app_tokens.revoke_grants(
                conn, store.connection_of(user_id(signed_in), client_id)
            )
        await held(request.app, KnownTokens).revoked(*ids)
        if not ended:
            exc = ConnectionNotFound()
            return await self.page(request, signed_in, status=exc.status, message=problem(exc))
        return redirect(PAGE + "?done=app-revoked")
