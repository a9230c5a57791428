"""Signing in and out: email and password, a passkey, or the identity provider's button;
then the second factor when the account has it (a passkey counts as both).

A passkey: the page's script (static/passkey.js) takes the options from
`/app/signin/passkey/options` and posts the authenticator's answer to `/app/signin/passkey`,
checked and counted as `POST /api/auth/passkeys/login` does. The identity provider: its button
(a link) opens `/app/signin/provider/start`, which starts the trip as `GET
/api/auth/oidc/start` does, back to `/app/signin/provider?state=...` with the one-time code
that `POST /api/auth/oidc/exchange` would take; `state` is a form token of the browser that
started, so a link carrying someone else's code signs no one in.
"""

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from todo_api.accounts import oidc_accounts, two_factor, webauthn
from todo_api.accounts.oidc_provider import (
    FLOW_COOKIE,
    FLOW_PATH,
    FLOW_SECONDS,
    IdentityProvider,
    SentBack,
)
from todo_api.accounts.requests import check_code, check_sign_in, client_address, limiter_of
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.errors import InvalidCredentials, InvalidToken, PasskeysNeedPublicUrl
from todo_api.db import Row
from todo_api.kit.deps import database, held
from todo_api.kit.ratelimit import RateLimited
from todo_api.kit.text import canonical_email
from todo_api.web.accounts.invited import CarriedInvitations
from todo_api.web.common.site import APP, CLEAR_SITE_DATA, HEADERS, SIGN_IN, Site, back_to, redirect

PROVIDER = "/app/signin/provider"


class SignInPages:
    def __init__(self, site: Site) -> None:
        self.site = site
        self.carried = CarriedInvitations(site)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(SIGN_IN, self.sign_in_page, methods=["GET"]),
            Route(SIGN_IN, self.sign_in, methods=["POST"]),
            Route("/app/signin/passkey/options", self.passkey_options, methods=["POST"]),
            Route("/app/signin/passkey", self.passkey, methods=["POST"]),
            Route(f"{PROVIDER}/start", self.to_provider, methods=["GET"]),
            Route(PROVIDER, self.from_provider, methods=["GET"]),
            Route("/app/signout", self.sign_out, methods=["POST"]),
        ]

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        """A step of the sign-in, with the identity provider's button when there is one."""
        settings = self.site.settings
        oidc_name = settings.oidc_name if settings.oidc_enabled else None
        try:  # passkeys need PUBLIC_URL's host, or localhost: no button where they cannot work
            webauthn.relying_party(settings, str(request.url))
            passkeys = True
        except PasskeysNeedPublicUrl:
            passkeys = False
        invited = getattr(request.state, "invited", None)  # from an invitation's page
        return self.site.render(
            request,
            template,
            status,
            oidc_name=oidc_name,
            passkeys=passkeys,
            invited=invited,
            **context,
        )

    async def sign_in_page(self, request: Request) -> Response:
        # Shown to a signed-in browser too: signing in (as someone else) ends the sign-in it
        # held, one planted by someone else included.
        request.state.invited = self.carried.read(request, request.query_params.get("invitation"))
        return self.page(request, "signin.html", next=_next(request.query_params.get("next")))

    async def sign_in(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await request.form()
        if not site.signins.form_token_valid(request, form.get("csrf_token"), signed_in=False):
            return site.refused(request)
        request.state.invited = self.carried.read(request, form.get("invitation"))
        if form.get("action") == "code":
            return await self._second_factor(request, form)
        nxt = _next(form.get("next"))
        email = canonical_email(str(form.get("email") or "")) or ""
        password = str(form.get("password") or "")[:1024]
        try:
            user = await check_sign_in(request, email, password)
        except RateLimited:
            message = _("Too many attempts; try again in a minute.")
            return self.page(request, "signin.html", 429, email=email, message=message, next=nxt)
        except InvalidCredentials:
            message = _("Incorrect email or password.")
            return self.page(request, "signin.html", 401, email=email, message=message, next=nxt)
        if self._unconfirmed(user):
            message = _("Confirm your email first: follow the link sent to it.")
            return self.page(request, "signin.html", 403, email=email, message=message, next=nxt)
        if user.totp_enabled_at is not None:  # a code from the authenticator app too
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return self.page(request, "code.html", mfa_token=mfa_token, next=nxt)
        return await self.signed_in_now(request, user, nxt)

    async def _second_factor(self, request: Request, form: Mapping[str, Any]) -> Response:
        _ = self.site.words(request)
        challenges = held(request.app, Challenges)
        mfa_token = str(form.get("mfa_token") or "")[:1024]
        code = str(form.get("code") or "")[:20]
        nxt = _next(form.get("next"))
        try:
            user_id, nonce = await challenges.open(mfa_token)
            number = await challenges.try_code(user_id)
        except InvalidToken:
            message = _("The sign-in took too long or had too many wrong codes; sign in again.")
            return self.page(request, "signin.html", 401, message=message, next=nxt)
        except two_factor.TooManyWrongCodes as exc:
            message = _("Too many wrong codes for this account; try again later.")
            response = self.page(request, "signin.html", 429, message=message, next=nxt)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        user, accepted = await check_code(request, user_id, code)
        if not accepted or user is None:
            challenges.wrong_code(number, user.email if user is not None else None)
            message = _("The code is not right (or was used already).")
            return self.page(
                request, "code.html", 401, mfa_token=mfa_token, message=message, next=nxt
            )
        await challenges.right_code(user_id)
        await challenges.close(nonce)
        return await self.signed_in_now(request, user, nxt)

    async def signed_in_now(self, request: Request, user: Row, nxt: str | None = None) -> Response:
        """To the inbox (or `nxt`, a page of the app), with the browser signed in as `user` (a
        new sign-in: one held before ends, so a sign-in planted beforehand is worth nothing);
        with an invitation carried along, a member of its list, on its page."""
        invited = getattr(request.state, "invited", None)
        if invited is not None:
            nxt = await self.carried.join(request, uuid.UUID(str(user.id)), invited)
        response = redirect(nxt or APP)
        await self.site.signins.sign_ins.start(request, response, uuid.UUID(str(user.id)))
        return response

    # A passkey

    async def passkey_options(self, request: Request) -> Response:
        """The options for navigator.credentials.get(), as `POST
        /api/auth/passkeys/login/options` gives them (a form token along)."""
        form = await request.form()
        if not self.site.signins.form_token_valid(request, form.get("csrf_token"), signed_in=False):
            return JSONResponse({"error": "refused"}, 403, headers=HEADERS)
        limiter = limiter_of(request)
        try:
            key = f"passkeys:options:ip:{client_address(request)}"
            await limiter.check((key, limiter.address_attempts))
            rp = webauthn.relying_party(self.site.settings, str(request.url))
        except RateLimited:
            return JSONResponse({"error": "rate_limited"}, 429, headers=HEADERS)
        except PasskeysNeedPublicUrl:
            return JSONResponse({"error": "unavailable"}, 400, headers=HEADERS)
        async with database(request).connection() as conn:
            options = await webauthn.authentication_options(conn, rp)
        return JSONResponse(options, headers=HEADERS)

    async def passkey(self, request: Request) -> Response:
        """The authenticator's answer, checked and counted as `POST /api/auth/passkeys/login`
        checks and counts it: per address, then per passkey."""
        _ = self.site.words(request)
        form = await request.form()
        if not self.site.signins.form_token_valid(request, form.get("csrf_token"), signed_in=False):
            return self.site.refused(request)
        request.state.invited = self.carried.read(request, form.get("invitation"))
        limiter = limiter_of(request)
        try:
            await limiter.check(
                (f"passkeys:login:ip:{client_address(request)}", limiter.address_attempts)
            )
            answer = json.loads(str(form.get("credential") or "null")[:65536])
            if not isinstance(answer, dict):
                raise InvalidCredentials
            credential = webauthn.authentication(answer)
            key = f"passkeys:login:credential:{credential.id}"
            await limiter.check((key, limiter.email_attempts))
            rp = webauthn.relying_party(self.site.settings, str(request.url))
            async with database(request).connection() as conn:
                user = await webauthn.check_passkey(conn, rp, credential)
        except RateLimited:
            message = _("Too many attempts; try again in a minute.")
            return self.page(request, "signin.html", 429, message=message)
        except (InvalidCredentials, PasskeysNeedPublicUrl, ValueError):
            message = _("The passkey was not accepted.")
            return self.page(request, "signin.html", 401, message=message)
        if self._unconfirmed(user):
            message = _("Confirm your email first: follow the link sent to it.")
            return self.page(request, "signin.html", 403, message=message)
        return await self.signed_in_now(request, user)

    # The identity provider

    async def to_provider(self, request: Request) -> Response:
        """The button (a link: the trip leaves this site, which a form may not, by the CSP's
        form-action): to the provider's sign-in, as `GET /api/auth/oidc/start` sends one."""
        site, _ = self.site, self.site.words(request)
        if not site.settings.oidc_enabled:
            return redirect(SIGN_IN)
        invitation = str(request.query_params.get("invitation") or "")[:512] or None
        limiter = limiter_of(request)
        try:
            await limiter.check((f"oidc:start:ip:{client_address(request)}", limiter.attempts))
        except RateLimited:
            message = _("Too many attempts; try again in a minute.")
            return self.page(request, "signin.html", 429, message=message)
        browser = site.signins.browser(request)
        state = site.signins.form_token(request, browser)
        coming_back = {"state": state}
        invited = self.carried.read(request, request.query_params.get("carried"))
        if invited is not None:  # signed for this browser: it comes back with it
            coming_back["carried"] = invited.carried
        back = f"{site.settings.public_url}{PROVIDER}?{urlencode(coming_back)}"
        provider = held(request.app, IdentityProvider)
        try:
            location, flow = await provider.start(back, invitation)
        except SentBack as exc:
            return self._provider_said(request, exc.error)
        response = redirect(location)
        site.signins.keep(response, browser)  # the key `state` is bound to
        response.set_cookie(
            FLOW_COOKIE,
            flow,
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            secure=provider.secure,
            httponly=True,
            samesite="lax",  # sent along when the provider sends the browser back
        )
        return response

    async def from_provider(self, request: Request) -> Response:
        """Back from the provider: its one-time code signs this browser in (the code from the
        authenticator app asked first when the account has two-factor on)."""
        site, _ = self.site, self.site.words(request)
        params = request.query_params
        if not site.signins.form_token_valid(request, params.get("state"), signed_in=False):
            message = _("The sign-in was started in another browser, or took too long. Try again.")
            return self.page(request, "signin.html", 403, message=message)
        if not params.get("code"):
            return self._provider_said(request, params.get("error") or "provider_error")
        request.state.invited = self.carried.read(request, params.get("carried"))
        async with database(request).transaction() as conn:
            user = await oidc_accounts.redeem(conn, str(params["code"])[:512])
        if user is None:
            message = _("That sign-in expired. Try again.")
            return self.page(request, "signin.html", 401, message=message)
        if self._unconfirmed(user):
            message = _("Confirm your email first: follow the link sent to it.")
            return self.page(request, "signin.html", 403, message=message)
        if user.totp_enabled_at is not None:  # the provider stands in for the password only
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return self.page(request, "code.html", mfa_token=mfa_token)
        return await self.signed_in_now(request, user)

    def _provider_said(self, request: Request, error: str) -> Response:
        _ = self.site.words(request)
        messages = {
            "account_exists": _(
                "An account has this email already. Sign in with its password, then the "
                "provider can be used."
            ),
            "email_not_verified": _("The provider has not confirmed your email."),
            "registration_closed": _("Registration is closed on this service."),
            "invitation_required": _("Signing up needs a valid invitation link."),
            "access_denied": _("The sign-in was cancelled at the provider."),
        }
        message = messages.get(error, _("The identity provider could not sign you in. Try again."))
        return self.page(request, "signin.html", 401, message=message)

    def _unconfirmed(self, user: Row) -> bool:
        mode = self.site.settings.email_verification_mode
        return mode == "required" and not user.email_verified

    async def sign_out(self, request: Request) -> Response:
        site, _ = self.site, self.site.words(request)
        form = await request.form()
        if not site.signins.form_token_valid(request, form.get("csrf_token")):
            return site.refused(request)  # a page of this sign-in only
        response = self.page(request, "signin.html", message=_("You are signed out."))
        await site.signins.sign_ins.end(request, response)
        # Nothing of this person stays on the device: the pages static/sw.js kept for reading
        # offline, and offline.js's database (its changes waiting: the page asked first).
        response.headers["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response


def _next(value: object) -> str | None:
    """Where to go after signing in, if asked: a page of this app only (an invitation, ...)."""
    return back_to(value) if value else None
