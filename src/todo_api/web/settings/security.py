"""The settings' Security group (`/app/settings/security`): the password, the email, two-factor
sign-in (its QR code), passkeys and the sign-ins, through the accounts' services with the API's
rules and messages (todo_api.accounts.router, passkeys.py).

A password checked here counts as a sign-in attempt, as in the API. Two-factor's secret and
recovery codes are shown in the answer to the form that made them, never on a later page.
Adding a passkey needs JavaScript (`static/passkey-register.js` runs the WebAuthn ceremony and
posts the form); everything else is a form that works without it.
"""

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import (
    emails,
    recovery,
    service,
    sign_ins,
    two_factor,
    verification,
    webauthn,
)
from todo_api.accounts.browser import BrowserSignIn
from todo_api.accounts.passkeys import PasskeyCreate
from todo_api.accounts.requests import (
    count_attempt,
    limiter_of,
    origin_of,
    passwords_of,
    settings_of,
    sign_in_limits,
)
from todo_api.accounts.schemas import ChangeEmail, ChangePassword, TwoFactorDisable, TwoFactorSetup
from todo_api.auth.errors import InvalidCredentials
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.db import Connection, Row
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ApiError
from todo_api.web.common.site import parse_uuid, problem, redirect, user_id
from todo_api.web.settings.devices import device_words, devices
from todo_api.web.settings.pages import SettingsGroup

PAGE = "/app/settings/security"


def _fields(form: Any, *names: str) -> dict[str, str]:
    return {name: str(form.get(name) or "") for name in names}


def _status(exc: Exception) -> int:
    return exc.status if isinstance(exc, ApiError) and exc.status < 500 else 400


def qr_image(uri: str) -> str:
    """The QR code the API gives (two_factor.qr_svg), as a `data:` address for an `img`."""
    import segno  # loaded by the first set-up, not at start

    data_uri: str = segno.make_qr(uri, error="m").svg_data_uri(scale=4)
    return data_uri


class SecuritySettings(SettingsGroup):
    def routes(self) -> list[BaseRoute]:
        signed = self.site.signed_in

        def post(path: str, handler: Any) -> Route:
            return Route(PAGE + path, signed(handler, writes=True), methods=["POST"])

        return [
            Route(PAGE, signed(self.page), methods=["GET"]),
            post("/password", self.change_password),
            post("/email", self.change_email),
            post("/two-factor/setup", self.two_factor_setup),
            post("/two-factor/enable", self.two_factor_enable),
            post("/two-factor/disable", self.two_factor_disable),
            post("/passkeys/options", self.passkey_options),
            post("/passkeys", self.add_passkey),
            post("/passkeys/{passkey_id}/delete", self.delete_passkey),
            post("/sign-ins/{sign_in_id}/end", self.end_sign_in),
            post("/sign-ins/end-others", self.end_others),
        ]

    def said(self, request: Request) -> dict[str, str]:
        _ = self.site.words(request)
        return {
            "password": _("Your password is changed; every other sign-in has ended."),
            "email": _(
                "A link is on its way to the new address: your email changes once it is followed."
            ),
            "two-factor-off": _("Two-factor sign-in is off."),
            "passkey-added": _("The passkey is added."),
            "passkey-deleted": _("The passkey is deleted: it signs in no more."),
            "sign-in-ended": _("The sign-in has ended."),
            "others-ended": _("Every other sign-in has ended."),
        }

    async def page(self, request: Request, signed_in: BrowserSignIn, **context: Any) -> Response:
        _ = self.site.words(request)
        owner = user_id(signed_in)
        when = self.clock(request, signed_in)
        async with self.reading(request, signed_in) as conn:
            user = await service.get_user(conn=conn, user_id=owner)
            keys = await webauthn.list_passkeys(conn, owner)
            listed = await sign_ins.list_sign_ins(conn, owner, signed_in.sign_in)
        agents = [str(item["user_agent"] or "") for item in listed]
        found = await devices(agents)
        for item, agent in zip(listed, agents, strict=True):
            item["device"] = device_words(agent, found, _)
            item["made"] = when(item["created_at"])
            item["used"] = when(item["last_used_at"])
        passkeys = [
            {
                "id": key.id,
                "name": key.name,
                "made": when(key.created_at),
                "used": when(key.last_used_at),
            }
            for key in keys
        ]
        return self.render_group(
            request,
            signed_in,
            "settings_security.html",
            user=user or signed_in.user,
            group="security",
            heading=_("Security"),
            passkeys=passkeys,
            sign_ins=listed,
            **context,
        )

    async def _refused(
        self, request: Request, signed_in: BrowserSignIn, exc: Exception
    ) -> Response:
        return await self.page(request, signed_in, status=_status(exc), message=problem(exc))

    async def _password_checked(
        self, request: Request, signed_in: BrowserSignIn, password: str
    ) -> Row:
        """The user's row once `password` is shown to be theirs (as the API checks it, counted
        as a sign-in attempt)."""
        await self._count_as_sign_in(request, signed_in)
        async with database(request).connection() as conn:
            row = await service.get_user(conn=conn, user_id=user_id(signed_in))
        password_hash = row.password_hash if row is not None else None
        if not await passwords_of(request).verify(password, password_hash) or row is None:
            raise InvalidCredentials("The password is not right")
        return row

    async def _count_as_sign_in(self, request: Request, signed_in: BrowserSignIn) -> None:
        user = signed_in.user
        await count_attempt(request, *sign_in_limits(request, user.email or str(user.id)))

    # Password and email

    async def change_password(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        owner = user_id(signed_in)
        try:
            data = ChangePassword.model_validate(_fields(form, "current_password", "new_password"))
            await self._count_as_sign_in(request, signed_in)
            tokens, ended, _row = await recovery.change(
                db=database(request),
                passwords=passwords_of(request),
                settings=settings_of(request),
                user_id=owner,
                current_password=data.current_password,
                new_password=data.new_password,
                made_from=origin_of(request),
            )
        except (ValidationError, ApiError) as exc:
            return await self._refused(request, signed_in, exc)
        # The browser holds a cookie, not tokens: the sign-in the change made for them ends,
        # and this browser is signed in anew (every other sign-in, its old one too, has ended).
        async with database(request).connection() as conn:
            unused = await service.logout(
                conn=conn, user_id=owner, refresh_token=tokens.refresh_token
            )
        await held(request.app, KnownTokens).revoked(*ended, *([unused] if unused else []))
        response = redirect(PAGE + "?done=password")
        await self.site.signins.sign_ins.start(request, response, owner)
        return response

    async def change_email(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        settings = settings_of(request)
        try:
            data = ChangeEmail.model_validate(_fields(form, "new_email", "password"))
            emails.require_email(settings)
            await self._count_as_sign_in(request, signed_in)
            await verification.request_change(
                db=database(request),
                passwords=passwords_of(request),
                settings=settings,
                mailer=held(request.app, emails.Mailer),
                user_id=user_id(signed_in),
                new_email=data.new_email,
                password=data.password,
                accept_language=request.headers.get("accept-language"),
            )
        except (ValidationError, ApiError) as exc:
            return await self._refused(request, signed_in, exc)
        return redirect(PAGE + "?done=email")

    # Two-factor sign-in

    def _setup_shown(self, secret: str, email: str | None) -> dict[str, str]:
        """The secret being set up, as text and as the QR code the API gives."""
        return {"secret": secret, "qr": qr_image(two_factor.otpauth_uri(secret, email))}

    async def two_factor_setup(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        try:
            data = TwoFactorSetup.model_validate(_fields(form, "password"))
            row = await self._password_checked(request, signed_in, data.password)
            async with database(request).connection() as conn:
                secret = await two_factor.set_up(conn, row)
        except (ValidationError, ApiError) as exc:
            return await self._refused(request, signed_in, exc)
        return await self.page(request, signed_in, setup=self._setup_shown(secret, row.email))

    async def two_factor_enable(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        owner = user_id(signed_in)
        code = str(form.get("code") or "")[:20]
        try:
            await count_attempt(request, (f"2fa:user:{owner}", limiter_of(request).attempts))
            async with database(request).transaction() as conn:
                row = await service.get_user(conn=conn, user_id=owner)
                if row is None:
                    raise InvalidCredentials
                # Whoever signed in with the password alone is signed out, apps included.
                turned_on = await two_factor.turn_on(conn, row, code, keep=signed_in.sign_in)
        except ApiError as exc:
            async with database(request).connection() as conn:
                row = await service.get_user(conn=conn, user_id=owner)
            setup = None
            if row is not None and row.totp_secret and row.totp_enabled_at is None:
                setup = self._setup_shown(row.totp_secret, row.email)  # still to turn on
            return await self.page(
                request, signed_in, status=_status(exc), message=problem(exc), setup=setup
            )
        await held(request.app, KnownTokens).revoked(*turned_on.ended)
        _ = self.site.words(request)
        done = _("Two-factor sign-in is on; every other sign-in has ended.")
        return await self.page(
            request,
            signed_in,
            recovery_codes=turned_on.recovery_codes,
            apps_ended=turned_on.apps,
            done=done,
        )

    async def two_factor_disable(self, request: Request, signed_in: BrowserSignIn) -> Response:
        form = await request.form()
        try:
            data = TwoFactorDisable.model_validate(_fields(form, "password", "code"))
            row = await self._password_checked(request, signed_in, data.password)
            async with database(request).transaction() as conn:
                await two_factor.disable(conn, row, data.code)
        except (ValidationError, ApiError) as exc:
            return await self._refused(request, signed_in, exc)
        return redirect(PAGE + "?done=two-factor-off")

    # Passkeys

    def _relying_party(self, request: Request) -> webauthn.RelyingParty:
        return webauthn.relying_party(settings_of(request), str(request.url))

    async def passkey_options(self, request: Request, signed_in: BrowserSignIn) -> Response:
        """The creation options for navigator.credentials.create() (JSON, for the script)."""
        owner = user_id(signed_in)
        try:
            rp = self._relying_party(request)
            attempts = limiter_of(request).attempts
            await count_attempt(request, (f"passkeys:user:{owner}", attempts))
            async with database(request).connection() as conn:
                options = await webauthn.registration_options(conn, owner, rp)
        except ApiError as exc:
            return JSONResponse({"error": problem(exc)}, exc.status)
        return JSONResponse(options, headers={"Cache-Control": "no-store"})

    async def add_passkey(self, request: Request, signed_in: BrowserSignIn) -> Response:
        _ = self.site.words(request)
        form = await request.form()
        credential = str(form.get("credential") or "")
        if not credential:
            message = _("Adding a passkey needs JavaScript in this browser.")
            return await self.page(request, signed_in, status=400, message=message)
        try:
            data = PasskeyCreate.model_validate(
                {
                    "name": str(form.get("name") or "").strip() or None,
                    "credential": json.loads(credential),
                }
            )
            rp = self._relying_party(request)
            async with database(request).connection() as conn:
                await webauthn.register(
                    conn, user_id(signed_in), rp, name=data.name, credential=data.credential
                )
        except (ValueError, ApiError) as exc:  # ValueError: not JSON, or a ValidationError
            return await self._refused(request, signed_in, exc)
        return redirect(PAGE + "?done=passkey-added")

    async def delete_passkey(self, request: Request, signed_in: BrowserSignIn) -> Response:
        delete = webauthn.delete_passkey
        return await self._remove(request, signed_in, delete, "passkey_id", "passkey-deleted")

    async def _remove(
        self,
        request: Request,
        signed_in: BrowserSignIn,
        remove: Callable[[Connection, uuid.UUID, uuid.UUID], Awaitable[None]],
        key: str,
        done: str,
        *,
        forgotten: bool = False,
    ) -> Response:
        """Removes the person's passkey or sign-in whose id the address holds at `key`; a
        sign-in (`forgotten`) is then forgotten by every process before the answer goes."""
        removed = parse_uuid(request.path_params[key])
        try:
            async with database(request).connection() as conn:
                await remove(conn, user_id(signed_in), removed)
        except ApiError as exc:
            return await self._refused(request, signed_in, exc)
        if forgotten:
            await held(request.app, KnownTokens).revoked(removed)
        return redirect(f"{PAGE}?done={done}")

    # Sign-ins

    async def end_sign_in(self, request: Request, signed_in: BrowserSignIn) -> Response:
        return await self._remove(
            request, signed_in, sign_ins.end, "sign_in_id", "sign-in-ended", forgotten=True
        )

    async def end_others(self, request: Request, signed_in: BrowserSignIn) -> Response:
        async with database(request).connection() as conn:
            ended = await sign_ins.revoke(conn, user_id(signed_in), keep=signed_in.sign_in)
        await held(request.app, KnownTokens).revoked(*ended)
        return redirect(PAGE + "?done=others-ended")
