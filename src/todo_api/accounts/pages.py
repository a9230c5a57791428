"""The service's own pages that account emails link to when ACCOUNT_URL_TEMPLATE is unset:
`/account/reset-password?token=` (choose a new password) and `/account/verify-email?token=`
(confirm an email, or a new one). HTML rendered on the server from a Jinja2 template, working
without JavaScript, and never framed. While the web app is on (WEB_APP), a browser (asking for
text/html) is sent on to its pages for the same link, `/app/reset` and `/app/verify`.

Opening a link changes nothing: mail scanners fetch links to look at them, so the page asks
for a click (a form POSTed to the same path) before it uses the token. The token in the form is
the secret that allows the action, so a form posted from another site could do nothing its
sender could not do already.
"""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from todo_api.accounts import emails, recovery, verification
from todo_api.accounts.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PasswordHashing
from todo_api.accounts.schemas import ResetPassword
from todo_api.auth.errors import EmailTaken, InvalidLink
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.config import Settings
from todo_api.kit.deps import database, held
from todo_api.kit.errors import RateLimited
from todo_api.kit.pages import templates
from todo_api.kit.ratelimit import RateLimited as LimitReached
from todo_api.kit.ratelimit import RateLimiter
from todo_api.kit.routes import LabelledRoute

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
}
MAX_TOKEN_LENGTH = 512
_templates = templates(Path(__file__).parent / "templates")
Handler = Callable[[Request], Awaitable[Response]]


def page(request: Request, kind: str, status: int = 200, **values: Any) -> HTMLResponse:
    html = _templates.get_template("account.html").render(
        app_name=held(request.app, Settings).app_name,
        kind=kind,
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        **values,
    )
    return HTMLResponse(html, status, headers=HEADERS)


def _token(value: object) -> str:
    return value[:MAX_TOKEN_LENGTH] if isinstance(value, str) else ""


async def _limited(request: Request, key: str) -> bool:
    limiter = held(request.app, RateLimiter)
    client = request.client.host if request.client else "unknown"
    try:
        await limiter.check((f"{key}:ip:{client}", limiter.attempts))
    except LimitReached:
        return True
    return False


# A browser that follows an email's link goes on to the web app's page for it, when the app is
# on (the link itself stays as documented); other clients get this page.
WEB_APP_PAGES = {emails.RESET_ACTION: "/app/reset", emails.VERIFY_ACTION: "/app/verify"}


def _to_web_app(request: Request, action: str) -> Response | None:
    settings = held(request.app, Settings)
    if not settings.web_app or "text/html" not in request.headers.get("accept", ""):
        return None
    query = urlencode({"token": _token(request.query_params.get("token"))})
    return RedirectResponse(f"{WEB_APP_PAGES[action]}?{query}", 303, headers=HEADERS)


async def reset_form(request: Request) -> Response:
    if (elsewhere := _to_web_app(request, emails.RESET_ACTION)) is not None:
        return elsewhere
    return page(request, "reset", token=_token(request.query_params.get("token")))


async def reset(request: Request) -> Response:
    form = await request.form()
    token = _token(form.get("token"))
    password = form.get("password")
    if await _limited(request, "reset"):
        return page(
            request, "reset", 429, token=token, message="Too many attempts; try again later."
        )
    try:
        data = ResetPassword.model_validate({"token": token, "password": password})
    except ValidationError:
        message = f"Choose a password of {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."
        return page(request, "reset", 400, token=token, message=message)
    try:
        ended = await recovery.reset(
            db=database(request),
            passwords=held(request.app, PasswordHashing),
            token=data.token,
            password=data.password,
        )
    except InvalidLink:
        return page(request, "expired", 400)
    except RateLimited:  # every password hashing slot busy
        return page(
            request, "reset", 429, token=token, message="The service is busy; try again shortly."
        )
    await held(request.app, KnownTokens).revoked(*ended)
    return page(request, "reset_done")


async def verify_form(request: Request) -> Response:
    if (elsewhere := _to_web_app(request, emails.VERIFY_ACTION)) is not None:
        return elsewhere
    return page(request, "verify", token=_token(request.query_params.get("token")))


async def verify(request: Request) -> Response:
    form = await request.form()
    token = _token(form.get("token"))
    if await _limited(request, "verify"):
        return page(
            request, "verify", 429, token=token, message="Too many attempts; try again later."
        )
    try:
        row, ended = await verification.verify(db=database(request), token=token)
    except InvalidLink:
        return page(request, "expired", 400)
    except EmailTaken:
        return page(request, "taken", 409)
    await held(request.app, KnownTokens).revoked(*ended)  # no sign-in confirmed it: all end
    return page(request, "verify_done", email=row.email)


def routes(extra: list[tuple[str, Handler, Handler]] | None = None) -> list[BaseRoute]:
    """The pages (with built-in accounts only): each action's GET (the page) and POST."""
    found: list[BaseRoute] = []
    pages = [(emails.RESET_ACTION, reset_form, reset), (emails.VERIFY_ACTION, verify_form, verify)]
    for action, show, act in [*pages, *(extra or [])]:
        found.append(LabelledRoute(f"/account/{action}", show, methods=["GET"]))
        found.append(LabelledRoute(f"/account/{action}", act, methods=["POST"]))
    return found
