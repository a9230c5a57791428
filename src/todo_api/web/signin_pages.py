"""Signing in and out: email and password, then the second factor when the account has it."""

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import two_factor
from todo_api.accounts.requests import check_code, check_sign_in
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.errors import InvalidCredentials, InvalidToken
from todo_api.db import Row
from todo_api.kit.deps import held
from todo_api.kit.ratelimit import RateLimited
from todo_api.kit.text import canonical_email
from todo_api.web.site import APP, SIGN_IN, Site, back_to, redirect


class SignInPages:
    def __init__(self, site: Site) -> None:
        self.site = site

    def routes(self) -> list[BaseRoute]:
        return [
            Route(SIGN_IN, self.sign_in_page, methods=["GET"]),
            Route(SIGN_IN, self.sign_in, methods=["POST"]),
            Route("/app/signout", self.sign_out, methods=["POST"]),
        ]

    async def sign_in_page(self, request: Request) -> Response:
        # Shown to a signed-in browser too: signing in (as someone else) ends the sign-in it
        # held, one planted by someone else included.
        return self.site.render(
            request, "signin.html", next=_next(request.query_params.get("next"))
        )

    async def sign_in(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await request.form()
        if not site.signins.form_token_valid(request, form.get("csrf_token")):
            return site.refused(request)
        if form.get("action") == "code":
            return await self._second_factor(request, form)
        nxt = _next(form.get("next"))
        email = canonical_email(str(form.get("email") or "")) or ""
        password = str(form.get("password") or "")[:1024]
        try:
            user = await check_sign_in(request, email, password)
        except RateLimited:
            message = _("Too many attempts; try again in a minute.")
            return site.render(request, "signin.html", 429, email=email, message=message, next=nxt)
        except InvalidCredentials:
            message = _("Incorrect email or password.")
            return site.render(request, "signin.html", 401, email=email, message=message, next=nxt)
        if self._unconfirmed(user):
            message = _("Confirm your email first: follow the link sent to it.")
            return site.render(request, "signin.html", 403, email=email, message=message, next=nxt)
        if user.totp_enabled_at is not None:  # a code from the authenticator app too
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return site.render(request, "code.html", mfa_token=mfa_token, next=nxt)
        return await self.signed_in_now(request, user, nxt)

    async def _second_factor(self, request: Request, form: Mapping[str, Any]) -> Response:
        site, _ = self.site, self.site.words(request)
        challenges = held(request.app, Challenges)
        mfa_token = str(form.get("mfa_token") or "")[:1024]
        code = str(form.get("code") or "")[:20]
        nxt = _next(form.get("next"))
        try:
            user_id, nonce = await challenges.open(mfa_token)
            number = await challenges.try_code(user_id)
        except InvalidToken:
            message = _("The sign-in took too long or had too many wrong codes; sign in again.")
            return site.render(request, "signin.html", 401, message=message, next=nxt)
        except two_factor.TooManyWrongCodes as exc:
            message = _("Too many wrong codes for this account; try again later.")
            response = site.render(request, "signin.html", 429, message=message, next=nxt)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        user, accepted = await check_code(request, user_id, code)
        if not accepted or user is None:
            challenges.wrong_code(number, user.email if user is not None else None)
            message = _("The code is not right (or was used already).")
            return site.render(
                request, "code.html", 401, mfa_token=mfa_token, message=message, next=nxt
            )
        await challenges.right_code(user_id)
        await challenges.close(nonce)
        return await self.signed_in_now(request, user, nxt)

    async def signed_in_now(self, request: Request, user: Row, nxt: str | None = None) -> Response:
        """To the inbox (or `nxt`, a page of the app), with the browser signed in as `user` (a
        new sign-in: one held before ends, so a sign-in planted beforehand is worth nothing)."""
        response = redirect(nxt or APP)
        await self.site.signins.sign_ins.start(request, response, uuid.UUID(str(user.id)))
        return response

    def _unconfirmed(self, user: Row) -> bool:
        mode = self.site.settings.email_verification_mode
        return mode == "required" and not user.email_verified

    async def sign_out(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await request.form()
        if not site.signins.form_token_valid(request, form.get("csrf_token")):
            return site.refused(request)
        response = site.render(request, "signin.html", message=_("You are signed out."))
        await site.signins.sign_ins.end(request, response)
        return response


def _next(value: object) -> str | None:
    """Where to go after signing in, if asked: a page of this app only (an invitation, ...)."""
    return back_to(value) if value else None
