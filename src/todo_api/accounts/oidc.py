"""The routes of signing in with an OpenID Connect provider (oidc_provider.py), present when
OIDC_ISSUER is set (and built-in accounts are on).

A frontend sends the browser to `GET /api/auth/oidc/start?redirect=<a page of its own>`; the
provider sends it back to `GET /api/auth/oidc/callback`, which sends it on to that page with
`?code=` (a one-time code, 60 s) or `?error=` (`account_exists`, `email_not_verified`,
`registration_closed`, `invitation_required`, `invalid_state`, `invalid_id_token`,
`access_denied`, `provider_error`, `provider_unavailable`); the page turns the code into tokens with
`POST /api/auth/oidc/exchange`. The tokens never travel in a URL.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import Field
from starlette.datastructures import URL

from todo_api.accounts import oidc_accounts, service
from todo_api.accounts.oidc_provider import (
    FLOW_COOKIE,
    FLOW_PATH,
    FLOW_SECONDS,
    IdentityProvider,
    SentBack,
)
from todo_api.accounts.registration import Invitations
from todo_api.accounts.requests import PUBLIC, count_from_address, origin_of
from todo_api.accounts.schemas import MfaRequired, Tokens
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.errors import InvalidCredentials
from todo_api.config import Settings
from todo_api.kit.deps import database, held
from todo_api.kit.errors import InvalidRequest, error_responses
from todo_api.kit.inputs import Input

router = APIRouter(prefix=FLOW_PATH, tags=["auth"], responses=error_responses(400, 429, 500, 503))
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


class Exchange(Input):
    code: Annotated[str, Field(min_length=1, max_length=512)]


def _redirect(location: str, *, flow_cookie: str | None = None, secure: bool) -> Response:
    response = RedirectResponse(location, status.HTTP_302_FOUND, headers=NO_STORE)
    if flow_cookie is None:
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH, secure=secure, httponly=True)
    else:
        response.set_cookie(
            FLOW_COOKIE,
            flow_cookie,
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            secure=secure,
            httponly=True,
            samesite="lax",  # sent along when the provider sends the browser back
        )
    return response


@router.get(
    "/start",
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To the identity provider's sign-in"}},
    summary="Start signing in with the identity provider (a browser is sent here)",
    openapi_extra=PUBLIC,
)
async def start(
    request: Request,
    redirect: Annotated[
        str,
        Query(
            max_length=2000,
            description="Where the browser goes at the end, with `code` or `error`: a URL on "
            "one of FRONTEND_URL's origins or on PUBLIC_URL's",
        ),
    ],
    invitation: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=512,
            description="A list invitation's token, for an account made by this sign-in "
            "(needed when REGISTRATION=invite)",
        ),
    ] = None,
) -> Response:
    provider = held(request.app, IdentityProvider)
    if not provider.allowed_redirect(redirect):
        raise InvalidRequest("redirect must be a URL on one of the frontend's origins")
    await count_from_address(request, "oidc:start")
    try:
        location, cookie = await provider.start(redirect, invitation)
    except SentBack as exc:
        return _redirect(
            str(URL(redirect).include_query_params(error=exc.error)), secure=provider.secure
        )
    return _redirect(location, flow_cookie=cookie, secure=provider.secure)


@router.get(
    "/callback",
    status_code=status.HTTP_302_FOUND,
    responses={302: {"description": "To the frontend's page, with `code` or `error`"}},
    summary="Where the identity provider sends the browser back",
    openapi_extra=PUBLIC,
)
async def callback(request: Request) -> Response:
    provider = held(request.app, IdentityProvider)
    flow = provider.flow(request.cookies.get(FLOW_COOKIE))
    if flow is None:
        raise InvalidRequest(
            "No sign-in is under way in this browser (or it took longer than 10 minutes)"
        )
    await count_from_address(request, "oidc:callback")
    try:
        person = await provider.finish(flow, request.query_params)
        code = await oidc_accounts.sign_in(
            db=database(request),
            settings=held(request.app, Settings),
            invitations=held(request.app, Invitations),
            issuer=provider.issuer,
            person=person,
            invitation=flow.invitation,
        )
    except SentBack as exc:
        location = str(URL(flow.redirect).include_query_params(error=exc.error))
    else:
        location = str(URL(flow.redirect).include_query_params(code=code))
    return _redirect(location, secure=provider.secure)


@router.post(
    "/exchange",
    response_model=Tokens | MfaRequired,
    responses=error_responses(401),
    summary="Turn the one-time code of a finished sign-in into tokens, or into an mfa_token "
    "for an account with two-factor on (as login answers)",
    openapi_extra=PUBLIC,
)
async def exchange(data: Exchange, request: Request, response: Response) -> Any:
    await count_from_address(request, "oidc:exchange")
    async with database(request).transaction() as conn:
        user = await oidc_accounts.redeem(conn, data.code)
        if user is None:
            raise InvalidCredentials("The code is not valid: unknown, used or expired")
        if user.totp_enabled_at is not None:
            # The provider stands in for the password only: the code from the app is still
            # asked for, and POST /api/auth/login/2fa gives the tokens.
            mfa_token = held(request.app, Challenges).issue(uuid.UUID(str(user.id)))
            return JSONResponse({"mfa_required": True, "mfa_token": mfa_token}, headers=NO_STORE)
        settings = held(request.app, Settings)
        tokens = await service.issue_tokens(
            conn=conn, settings=settings, user=user, made_from=origin_of(request)
        )
    response.headers.update(NO_STORE)
    return tokens
