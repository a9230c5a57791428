"""GET and POST /oauth/authorize: the page where a person signs in (a built-in account) and
allows or denies an app, rendered on the server from a Jinja2 template, working without
JavaScript.

What is checked before anything is shown: the client is known, the `redirect_uri` is one it
registered, and a PKCE `S256` challenge is there. A request that fails any of these gets an
error page and never a redirect (no open redirect; a missing or `plain` PKCE is refused more
strictly than by redirecting `invalid_request`). Other faults (response type, scope, resource)
go back to the app's `redirect_uri`, as OAuth says.

The browser's sign-in is a sign-in of the built-in accounts held in a cookie for /oauth only
(todo_api.accounts.browser): listed with the others, and checked on every request, so that once it
ends (its own sign-out, logout-all or a reset elsewhere, ...) the page asks to sign in again and
issues no code. Every form carries a token bound to another cookie of the browser (signed with
the service's secret), so a form posted from another site is refused even by a browser that
sends cookies along. The pages cannot be framed (X-Frame-Options and frame-ancestors).

The sign-in page also offers "Sign in with a passkey": a small script (the page's only one,
allowed by its nonce) takes the options from `POST /api/auth/passkeys/login/options`, asks
the browser for a passkey and posts its answer with the form, which checks it as
`POST /api/auth/passkeys/login` does. Without JavaScript or WebAuthn the button stays hidden.
"""

import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from mcp.server.auth.provider import construct_redirect_uri
from mcp.shared.auth import OAuthClientInformationFull
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from todo_api.accounts import oidc_accounts, two_factor, webauthn
from todo_api.accounts.browser import BrowserSignIns, FormTokens
from todo_api.accounts.oidc_provider import FLOW_PATH
from todo_api.accounts.requests import check_code, check_sign_in
from todo_api.accounts.two_factor import Challenges
from todo_api.auth import app_tokens
from todo_api.auth.errors import InvalidCredentials, InvalidToken, PasskeysNeedPublicUrl
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.kit.deps import database, held
from todo_api.kit.pages import templates
from todo_api.kit.ratelimit import RateLimited, RateLimiter
from todo_api.kit.text import canonical_email
from todo_api.oauth import store
from todo_api.oauth.clients import Clients, redirect_uri_matches

SESSION_COOKIE = "todo_oauth_session"
BROWSER_COOKIE = "todo_oauth_browser"
SESSION_SECONDS = 3600
FORM_SECONDS = 3600
PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "state",
    "scope",
    "resource",
)
_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}
# What the page says when the identity provider's sign-in came back with an error.
OIDC_ERRORS = {
    "account_exists": "An account here has that email, but it is not verified on both sides. "
    "Sign in with your password instead.",
    "email_not_verified": "Your provider has not confirmed your email, and this service needs "
    "a confirmed one. Confirm it there, or sign in with your password.",
    "registration_closed": "There is no account here for you, and registration is closed.",
    "invitation_required": "There is no account here for you; one needs an invitation.",
    "access_denied": "The sign-in was cancelled.",
    "provider_error": "Signing in with your provider did not work. Try again.",
}
CONFIRM = "Confirm your email first: follow the link sent to it."
_templates = templates(Path(__file__).parent / "templates")


class Refused(Exception):
    """The request cannot go back to the app: an error page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SentBack(Exception):
    """An error the app hears at its redirect_uri."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(error)
        self.error, self.description = error, description
        self.redirect_uri: str = ""
        self.state: str | None = None


@dataclass(frozen=True, slots=True)
class AuthRequest:
    client: OAuthClientInformationFull
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    state: str | None
    scope: str
    resource: str | None
    fields: list[tuple[str, str]]

    @property
    def client_name(self) -> str:
        return self.client.client_name or self.client.client_id or "An app"

    @property
    def wants(self) -> str:
        writes = app_tokens.WRITE in self.scope.split()
        return "read and change your tasks" if writes else "read your tasks"


async def read_request(
    params: Mapping[str, Any], clients: Clients, settings: Settings
) -> AuthRequest:
    def given(name: str) -> str | None:
        value = params.get(name)
        return value if isinstance(value, str) and value else None

    client_id = given("client_id")
    client = None if client_id is None else await clients.get(client_id)
    if client is None:
        raise Refused("The app that sent you here is not known to this service.")
    registered = [str(uri) for uri in client.redirect_uris or []]
    redirect_uri = given("redirect_uri")
    explicit = redirect_uri is not None
    if redirect_uri is None and len(registered) == 1:
        redirect_uri = registered[0]
    if redirect_uri is None or not any(redirect_uri_matches(r, redirect_uri) for r in registered):
        raise Refused("The app did not register the address it asks to return to.")
    challenge = given("code_challenge")
    if (
        challenge is None
        or given("code_challenge_method") != "S256"
        or not _PKCE_CHALLENGE.fullmatch(challenge)
    ):
        raise Refused("The request has no PKCE challenge of method S256, which is required.")
    state = given("state")
    try:
        if given("response_type") != "code":
            raise SentBack("unsupported_response_type", "response_type must be code")
        resource = given("resource")
        if resource is not None and resource != f"{settings.public_url}/mcp":
            raise SentBack("invalid_target", "resource must be this service's /mcp")
        requested = (given("scope") or client.scope or " ".join(app_tokens.SCOPES)).split()
        registered = (client.scope or " ".join(app_tokens.SCOPES)).split()
        allowed = [scope for scope in app_tokens.SCOPES if scope in registered]
        if not requested or any(scope not in allowed for scope in requested):
            raise SentBack("invalid_scope", f"the scopes this app may ask for: {' '.join(allowed)}")
    except SentBack as exc:
        exc.redirect_uri, exc.state = redirect_uri, state
        raise
    scope = " ".join(app_tokens.SCOPES) if app_tokens.WRITE in requested else app_tokens.READ
    fields = [(name, value) for name in PARAMS if (value := given(name)) is not None]
    return AuthRequest(client, redirect_uri, explicit, challenge, state, scope, resource, fields)


class Pages:
    """The authorize page's handlers."""

    def __init__(self, settings: Settings, clients: Clients) -> None:
        self._settings = settings
        self._clients = clients
        self._sessions = BrowserSignIns(
            settings, name=SESSION_COOKIE, path="/oauth", seconds=SESSION_SECONDS
        )
        self._forms = FormTokens(settings, "oauth", FORM_SECONDS)
        self._secure = (settings.public_url or "").startswith("https://")

    async def get(self, request: Request) -> Response:
        browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
        try:
            auth = await read_request(request.query_params, self._clients, self._settings)
        except Refused as exc:
            return self._error(exc.message)
        except SentBack as exc:
            return self._send_back(exc, 302)
        if self._settings.oidc_enabled:
            # Back from the identity provider's sign-in (the button): its one-time code signs
            # this browser in, then the page is shown again without it.
            code, error = request.query_params.get("code"), request.query_params.get("error")
            if code:
                # Only in the browser that pressed the button (its form token, bound to this
                # browser's cookie, went along): a link with someone else's code signs no one in.
                bound = request.query_params.get("csrf_token")
                if not self._forms.valid(bound, request.cookies.get(BROWSER_COOKIE) or ""):
                    return self._error(
                        "The sign-in was started in another browser. Go back and try again.", 403
                    )
                return await self._oidc_signed_in(request, auth, browser, code)
            if error:
                message = OIDC_ERRORS.get(error, OIDC_ERRORS["provider_error"])
                return self._page("signin", auth, browser, message=message, status=401)
        signed_in = await self._sessions.current(request)
        if signed_in is None:
            return self._sign_in_again(request, auth, browser)
        return self._page("consent", auth, browser, email=signed_in.user.email)

    async def _oidc_signed_in(
        self, request: Request, auth: AuthRequest, browser: str, code: str
    ) -> Response:
        async with database(request).transaction() as conn:
            user = await oidc_accounts.redeem(conn, code[:512])
        if user is None:
            message = "That sign-in expired. Try again."
            return self._page("signin", auth, browser, message=message, status=401)
        if self._unconfirmed(user):
            return self._page("signin", auth, browser, message=CONFIRM, status=403)
        if user.totp_enabled_at is not None:  # the provider stands in for the password only
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return self._page("code", auth, browser, email=user.email, mfa_token=mfa_token)
        response = RedirectResponse(self._authorize_url(auth), 303, headers=HEADERS)
        await self._sessions.start(request, response, uuid.UUID(str(user.id)))
        return response

    def _authorize_url(self, auth: AuthRequest) -> str:
        return f"{self._settings.public_url}/oauth/authorize?{urlencode(auth.fields)}"

    async def post(self, request: Request) -> Response:
        form = await request.form()
        browser = request.cookies.get(BROWSER_COOKIE)
        try:
            auth = await read_request(form, self._clients, self._settings)
        except Refused as exc:
            return self._error(exc.message)
        except SentBack as exc:
            return self._send_back(exc, 303)
        if browser is None or not self._forms.valid(form.get("csrf_token"), browser):
            return self._error(
                "The form expired or was sent from another site. Go back and try again.", 403
            )
        action = form.get("action")
        if action == "signin":
            return await self._sign_in(request, auth, browser, form)
        if action == "code":
            return await self._second_factor(request, auth, browser, form)
        if action == "passkey":
            return await self._sign_in_with_passkey(request, auth, browser, form)
        if action == "signout":
            response = self._page("signin", auth, browser, message="You are signed out.")
            await self._sessions.end(request, response)
            return response
        if action == "deny":
            return self._redirect(auth, 303, error="access_denied")
        signed_in = await self._sessions.current(request)
        if signed_in is None:
            return self._sign_in_again(request, auth, browser)
        if action != "allow":
            return self._page("consent", auth, browser, email=signed_in.user.email)
        async with database(request).connection() as conn:
            code = await store.create_grant(
                conn,
                user_id=uuid.UUID(str(signed_in.user.id)),
                client_id=auth.client.client_id or "",
                client_name=auth.client_name[:200],
                scope=auth.scope,
                resource=auth.resource,
                code_challenge=auth.code_challenge,
                redirect_uri=auth.redirect_uri,
                redirect_uri_explicit=auth.redirect_uri_explicit,
            )
        return self._redirect(auth, 303, code=code)

    async def _sign_in(
        self, request: Request, auth: AuthRequest, browser: str, form: Mapping[str, Any]
    ) -> Response:
        email = canonical_email(str(form.get("email") or "")) or ""
        password = str(form.get("password") or "")[:1024]
        try:
            user = await check_sign_in(request, email, password)
        except RateLimited:
            message = "Too many attempts; try again in a minute."
            return self._page("signin", auth, browser, email=email, message=message, status=429)
        except InvalidCredentials:
            message = "Incorrect email or password."
            return self._page("signin", auth, browser, email=email, message=message, status=401)
        if self._unconfirmed(user):
            return self._page("signin", auth, browser, email=email, message=CONFIRM, status=403)
        if user.totp_enabled_at is not None:  # a code from the app too
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return self._page("code", auth, browser, email=user.email, mfa_token=mfa_token)
        return await self._signed_in_page(request, auth, browser, user)

    async def _second_factor(
        self, request: Request, auth: AuthRequest, browser: str, form: Mapping[str, Any]
    ) -> Response:
        challenges = held(request.app, Challenges)
        mfa_token = str(form.get("mfa_token") or "")[:1024]
        code = str(form.get("code") or "")[:20]
        try:
            user_id, nonce = await challenges.open(mfa_token)
            number = await challenges.try_code(user_id)
        except InvalidToken:
            message = "The sign-in took too long or had too many wrong codes; sign in again."
            return self._page("signin", auth, browser, message=message, status=401)
        except two_factor.TooManyWrongCodes as exc:
            message = "Too many wrong codes for this account; try again later."
            page = self._page("signin", auth, browser, message=message, status=429)
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        user, accepted = await check_code(request, user_id, code)
        if not accepted or user is None:
            message = "The code is not right (or was used already)."
            email = user.email if user is not None else None
            challenges.wrong_code(number, email)
            return self._page(
                "code", auth, browser, email=email, mfa_token=mfa_token, message=message, status=401
            )
        await challenges.right_code(user_id)
        await challenges.close(nonce)
        return await self._signed_in_page(request, auth, browser, user)

    async def _sign_in_with_passkey(
        self, request: Request, auth: AuthRequest, browser: str, form: Mapping[str, Any]
    ) -> Response:
        """The form's passkey answer, checked and counted as `POST /api/auth/passkeys/login`
        checks and counts it."""
        limiter = held(request.app, RateLimiter)
        client = request.client.host if request.client else "unknown"
        try:
            await limiter.check((f"passkeys:login:ip:{client}", limiter.address_attempts))
            answer = json.loads(str(form.get("credential") or "null"))
            if not isinstance(answer, dict):
                raise InvalidCredentials
            credential = webauthn.authentication(answer)
            key = f"passkeys:login:credential:{credential.id}"
            await limiter.check((key, limiter.email_attempts))
            rp = webauthn.relying_party(self._settings, str(request.url))
            async with database(request).connection() as conn:
                user = await webauthn.check_passkey(conn, rp, credential)
        except RateLimited:
            message = "Too many attempts; try again in a minute."
            return self._page("signin", auth, browser, message=message, status=429)
        except (InvalidCredentials, PasskeysNeedPublicUrl, ValueError):
            message = "The passkey was not accepted."
            return self._page("signin", auth, browser, message=message, status=401)
        if self._unconfirmed(user):
            return self._page("signin", auth, browser, message=CONFIRM, status=403)
        return await self._signed_in_page(request, auth, browser, user)

    async def _signed_in_page(
        self, request: Request, auth: AuthRequest, browser: str, user: Row
    ) -> Response:
        """The consent page, with the browser signed in as `user` from now on (a new sign-in)."""
        response = self._page("consent", auth, browser, email=user.email)
        await self._sessions.start(request, response, uuid.UUID(str(user.id)))
        return response

    def _unconfirmed(self, user: Row) -> bool:
        """EMAIL_VERIFICATION=required, and the account's email is not confirmed yet."""
        return self._settings.email_verification_mode == "required" and not user.email_verified

    def _sign_in_again(self, request: Request, auth: AuthRequest, browser: str) -> Response:
        """The sign-in page, for a browser not signed in; one whose sign-in has ended is told
        so, and its cookie goes."""
        if not self._sessions.held_one(request):
            return self._page("signin", auth, browser)
        message = "Your sign-in has ended. Sign in again."
        response = self._page("signin", auth, browser, message=message)
        self._sessions.forget(response)
        return response

    def _oidc_start(self, auth: AuthRequest, csrf_token: str) -> str | None:
        """The button's link: the identity provider's sign-in, back to this page."""
        if not self._settings.oidc_enabled:
            return None
        back = f"{self._authorize_url(auth)}&{urlencode({'csrf_token': csrf_token})}"
        return f"{self._settings.public_url}{FLOW_PATH}/start?{urlencode({'redirect': back})}"

    def _page(
        self,
        kind: str,
        auth: AuthRequest,
        browser: str,
        *,
        email: str | None = None,
        message: str | None = None,
        status: int = 200,
        mfa_token: str | None = None,
    ) -> Response:
        nonce = secrets.token_urlsafe(16)
        csrf_token = self._forms.issue(browser)
        html = _templates.get_template("page.html").render(
            app_name=self._settings.app_name,
            nonce=nonce,
            kind=kind,
            title="Allow access" if kind == "consent" else "Sign in",
            client_name=auth.client_name,
            wants=auth.wants,
            fields=auth.fields,
            csrf_token=csrf_token,
            email=email or "",
            message=message,
            mfa_token=mfa_token or "",
            oidc_name=self._settings.oidc_name,
            oidc_start=self._oidc_start(auth, csrf_token),
        )
        # The sign-in page's script (a passkey), by its nonce, and what it fetches: this origin.
        policy = HEADERS["Content-Security-Policy"]
        if kind == "signin":
            policy += f"; script-src 'nonce-{nonce}'; connect-src 'self'"
        headers = {**HEADERS, "Content-Security-Policy": policy}
        response = HTMLResponse(html, status, headers=headers)
        self._cookie(response, BROWSER_COOKIE, browser, None)
        return response

    def _error(self, message: str, status: int = 400) -> Response:
        html = _templates.get_template("page.html").render(
            app_name=self._settings.app_name, kind="error", title="Cannot connect", message=message
        )
        return HTMLResponse(html, status, headers=HEADERS)

    def _redirect(self, auth: AuthRequest, status: int, **params: str) -> Response:
        location = construct_redirect_uri(auth.redirect_uri, **params, state=auth.state)
        return RedirectResponse(location, status, headers=HEADERS)

    def _send_back(self, exc: SentBack, status: int) -> Response:
        """An error for the app, at the redirect_uri that read_request found registered."""
        location = construct_redirect_uri(
            exc.redirect_uri, error=exc.error, error_description=exc.description, state=exc.state
        )
        return RedirectResponse(location, status, headers=HEADERS)

    def _cookie(self, response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/oauth",
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )
