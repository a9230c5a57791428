"""Account routes: register, login (JSON and OAuth2 form), refresh, logout, me.

The built-in accounts (every route but `me`) are a router of their own, left out of the app
when BUILTIN_ACCOUNTS is off: an external issuer then owns sign-up and sign-in.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse

from todo_api.auth import service
from todo_api.auth.accounts import verification
from todo_api.auth.accounts.emails import Mailer
from todo_api.auth.accounts.schemas import VerificationSent
from todo_api.auth.dependencies import CurrentUser, authenticate
from todo_api.auth.errors import SignInRevoked, UserNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.registration import Invitations
from todo_api.auth.requests import (
    PUBLIC,
    client_address,
    count_attempt,
    limiter_of,
    no_store,
    origin_of,
    passwords_of,
    settings_of,
)
from todo_api.auth.schemas import (
    Email,
    Login,
    Me,
    MeUpdate,
    MfaRequired,
    RefreshRequest,
    Register,
    Tokens,
)
from todo_api.auth.two_factor import Challenges
from todo_api.auth.users import ensure_user
from todo_api.kit.deps import Connection, database, held
from todo_api.kit.errors import error_responses
from todo_api.kit.http import NO_CONTENT, documented, form_content_type, no_content, read_json

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses(400, 500, 503))
accounts_router = APIRouter(
    prefix="/api/auth", tags=["auth"], responses=error_responses(400, 500, 503)
)


async def _login(request: Request, response: Response, email: str, password: str) -> Any:
    """Sign-in attempts are counted per client address, per address and email, and per email
    from any address at a much higher limit. The address counts first, so one address past its
    limit adds nothing to the email's counter: a stranger guessing from one place cannot lock
    the owner out of signing in from another, and guessing from many places stays bounded."""
    limiter, client = limiter_of(request), client_address(request)
    await count_attempt(
        request,
        (f"login:ip:{client}", limiter.address_attempts),
        (f"login:ip:{client}:email:{email}", limiter.attempts),
        (f"login:email:{email}", limiter.email_attempts),
    )
    try:
        tokens = await service.sign_in(
            db=database(request),
            passwords=passwords_of(request),
            settings=settings_of(request),
            email=email,
            password=password,
            made_from=origin_of(request),
            require_verified=settings_of(request).email_verification_mode == "required",
        )
    except service.SecondFactorNeeded as exc:
        mfa_token = held(request.app, Challenges).issue(exc.user_id)
        return JSONResponse(
            {"mfa_required": True, "mfa_token": mfa_token},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )
    no_store(response)
    return tokens


@accounts_router.post(
    "/register",
    response_model=Tokens,
    status_code=status.HTTP_201_CREATED,
    responses={
        **error_responses(403, 409, 429),
        202: {
            "model": VerificationSent,
            "description": "EMAIL_VERIFICATION=required: the account is made (or the email "
            "was taken: the same answer), and a link to confirm the email is sent; sign in "
            "once it is followed",
        },
    },
    summary="Create an account; signs it in (REGISTRATION: open, invite or closed; with "
    "EMAIL_VERIFICATION=required, once the email is confirmed)",
    openapi_extra=PUBLIC,
)
async def register(data: Register, request: Request, response: Response) -> Any:
    attempts = limiter_of(request).attempts
    await count_attempt(
        request,
        (f"register:ip:{client_address(request)}", attempts),
        (f"register:email:{data.email}", attempts),
    )
    settings, db, mailer = settings_of(request), database(request), held(request.app, Mailer)
    verifying = settings.email_verification_mode
    if verifying == "required":
        # Not signed in, and the same answer whether or not the email was taken.
        created = await verification.register_pending(
            db=db,
            passwords=passwords_of(request),
            settings=settings,
            invitations=held(request.app, Invitations),
            email=data.email,
            password=data.password,
            name=data.name,
            invitation=data.invitation,
        )
        tell = verification.send_link if created is not None else verification.send_taken_notice
        mailer.submit(lambda: tell(db, settings, mailer, data.email))
        return JSONResponse({"verification": "sent"}, status.HTTP_202_ACCEPTED)
    tokens = await service.register(
        db=db,
        passwords=passwords_of(request),
        settings=settings,
        invitations=held(request.app, Invitations),
        email=data.email,
        password=data.password,
        name=data.name,
        invitation=data.invitation,
        made_from=origin_of(request),
    )
    if verifying == "optional":
        mailer.submit(lambda: verification.send_link(db, settings, mailer, data.email))
    no_store(response)
    return tokens


@accounts_router.post(
    "/login",
    response_model=Tokens | MfaRequired,
    responses=error_responses(401, 403, 429),
    summary="Sign in (403 EMAIL_NOT_VERIFIED while a required confirmation is awaited)",
    openapi_extra=PUBLIC,
)
async def login(data: Login, request: Request, response: Response) -> Any:
    return await _login(request, response, data.email, data.password)


@accounts_router.post(
    "/token",
    response_model=Tokens | MfaRequired,
    responses=error_responses(401, 403, 429),
    summary="Sign in with the OAuth2 password form (the Authorize button of /docs)",
    openapi_extra=PUBLIC,
    dependencies=[Depends(form_content_type)],
)
async def token(
    username: Annotated[Email, Form(description="The account's email")],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    request: Request,
    response: Response,
) -> Any:
    return await _login(request, response, username, password)


@accounts_router.post(
    "/refresh",
    response_model=Tokens,
    responses=error_responses(401, 403, 429),
    summary=(
        "Exchange a refresh token for new tokens (each refresh token works once, or again "
        "within REFRESH_REUSE_GRACE_SECONDS, as when two tabs refresh at once; 403 "
        "EMAIL_NOT_VERIFIED while a required confirmation is awaited)"
    ),
    openapi_extra=PUBLIC,
)
async def refresh(data: RefreshRequest, request: Request, response: Response) -> Any:
    await count_attempt(
        request, (f"refresh:ip:{client_address(request)}", limiter_of(request).attempts)
    )
    try:
        async with database(request).connection() as conn:
            tokens = await service.rotate(
                conn=conn, settings=settings_of(request), refresh_token=data.refresh_token
            )
    except SignInRevoked as exc:
        # Every process ends the streams it opened; told with the connection back in the
        # pool (the broadcast takes one), and once, by the reuse that revoked it.
        if exc.family_id is not None:
            await held(request.app, KnownTokens).revoked(exc.family_id)
        raise
    no_store(response)
    return tokens


@accounts_router.post(
    "/logout",
    **NO_CONTENT,
    responses=error_responses(401),
    summary="Revoke a refresh token and every token rotated from the same sign-in",
    openapi_extra=documented(body=RefreshRequest),
)
async def logout(request: Request) -> Response:
    # The caller first, then the body: a token's scope is checked before anything is read.
    user = await authenticate(request)
    data = await read_json(request, RefreshRequest)
    async with database(request).connection() as conn:
        ended = await service.logout(
            conn=conn, user_id=user.user_id, refresh_token=data.refresh_token
        )
    if ended is not None:  # every process ends the streams the sign-in opened
        await held(request.app, KnownTokens).revoked(ended)
    return no_content()


@router.get("/me", response_model=Me, responses=error_responses(401), summary="Who you are")
async def me(user: CurrentUser, conn: Connection) -> Any:
    row = await service.get_user(conn=conn, user_id=user.user_id)
    if row is None:
        # Deleted behind this process's cache of known users (an account deleted while its
        # token lives on): the subject is a new user, as on first sight.
        await ensure_user(conn, user)
        row = await service.get_user(conn=conn, user_id=user.user_id)
    if row is None:
        raise UserNotFound
    return row


@router.patch(
    "/me",
    response_model=Me,
    responses=error_responses(401),
    summary="Change your time zone",
    openapi_extra=documented(body=MeUpdate),
)
async def change_me(request: Request) -> Any:
    user = await authenticate(request)  # before the body, as in logout
    data = await read_json(request, MeUpdate)
    assert data.timezone is not None  # the only field, and never null
    async with database(request).connection() as conn:
        row = await service.set_timezone(conn=conn, user_id=user.user_id, timezone=data.timezone)
    if row is None:
        raise UserNotFound
    return row
