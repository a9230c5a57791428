"""Account routes: register, login (JSON and OAuth2 form), refresh, logout, me; and beyond
signing in: a forgotten password, a change of password or of email, confirming an email, the
sign-ins (list, end one, end all others) and two-factor sign-in.

The built-in accounts (every route but `me`, `me_router`) are a router of their own, left out
of the app when BUILTIN_ACCOUNTS is off: an external issuer then owns sign-up and sign-in. Passkeys
(passkeys.py) and OpenID Connect sign-in (oidc.py) have routers of their own beside it.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response, status
from fastapi.responses import JSONResponse

from todo_api.accounts import emails, recovery, service, sign_ins, two_factor, verification
from todo_api.accounts.emails import Mailer
from todo_api.accounts.registration import Invitations
from todo_api.accounts.requests import (
    PUBLIC,
    client_address,
    count_attempt,
    count_from_address,
    limiter_of,
    no_store,
    origin_of,
    passwords_of,
    settings_of,
    sign_in_limits,
)
from todo_api.accounts.schemas import (
    Accepted,
    ChangeEmail,
    ChangePassword,
    Email,
    ForgotPassword,
    Login,
    Me,
    MeUpdate,
    MfaRequired,
    RecoveryCodes,
    RefreshRequest,
    Register,
    ResendVerification,
    ResetPassword,
    SecondFactor,
    SignInRead,
    Tokens,
    TwoFactorDisable,
    TwoFactorEnable,
    TwoFactorSecret,
    TwoFactorSetup,
    VerificationSent,
    VerifyEmail,
)
from todo_api.accounts.two_factor import Challenges
from todo_api.auth.dependencies import CurrentUser, authenticate, session_only
from todo_api.auth.errors import InvalidCredentials, SignInNotFound, SignInRevoked, UserNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.identity import Identity
from todo_api.auth.users import ensure_user
from todo_api.db import Row
from todo_api.kit.deps import Connection, database, held
from todo_api.kit.errors import ApiError, ErrorBody, InvalidField, error_responses
from todo_api.kit.http import (
    NO_CONTENT,
    documented,
    form_content_type,
    json_response,
    no_content,
    read_json,
)
from todo_api.kit.inputs import id_in_path, parse_id

me_router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses(400, 500, 503))
router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses(400, 500, 503))

# The routes that refuse every token but a session's (403), as /api/tokens does; who is calling
# lets a token for /mcp only reach them, to be told so (registered by create_app: PathsApart).
SESSION_PATHS = (
    "/api/auth/password/change",
    "/api/auth/sessions",
    "/api/auth/logout-all",
    "/api/auth/email/change",
    "/api/auth/2fa/setup",
    "/api/auth/2fa/enable",
    "/api/auth/2fa/disable",
)
# What an account whose email is not confirmed may still do while EMAIL_VERIFICATION=required.
UNVERIFIED_ALLOWED = frozenset({("GET", "/api/auth/me"), ("POST", "/api/auth/logout")})


async def _count_sign_in(request: Request, email: str) -> None:
    await count_attempt(request, *sign_in_limits(request, email))


async def _login(request: Request, response: Response, email: str, password: str) -> Any:
    await _count_sign_in(request, email)
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


@router.post(
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
    invitations = held(request.app, Invitations)
    row = await service.new_account(
        passwords_of(request), settings, data.email, data.password, data.name, data.invitation
    )
    verifying = settings.email_verification_mode
    # The language of the request: the emails' if the account sets none.
    asked_in = request.headers.get("accept-language")
    if verifying == "required":
        # Not signed in, and the same answer whether or not the email was taken.
        created = await verification.register_pending(
            db=db, invitations=invitations, row=row, invitation=data.invitation
        )
        tell = verification.send_link if created is not None else verification.send_taken_notice
        mailer.submit(lambda: tell(mailer, data.email, asked_in))
        return JSONResponse({"verification": "sent"}, status.HTTP_202_ACCEPTED)
    tokens = await service.register(
        db=db,
        settings=settings,
        invitations=invitations,
        row=row,
        invitation=data.invitation,
        made_from=origin_of(request),
    )
    if verifying == "optional":
        mailer.submit(lambda: verification.send_link(mailer, data.email, asked_in))
    no_store(response)
    return tokens


@router.post(
    "/login",
    response_model=Tokens | MfaRequired,
    responses=error_responses(401, 403, 429),
    summary="Sign in (403 EMAIL_NOT_VERIFIED while a required confirmation is awaited)",
    openapi_extra=PUBLIC,
)
async def login(data: Login, request: Request, response: Response) -> Any:
    return await _login(request, response, data.email, data.password)


@router.post(
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


@router.post(
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


@router.post(
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


@me_router.get("/me", response_model=Me, responses=error_responses(401), summary="Who you are")
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


@me_router.patch(
    "/me",
    response_model=Me,
    responses=error_responses(401),
    summary="Change your name, time zone, language, theme or first day of the week",
    openapi_extra=documented(body=MeUpdate),
)
async def change_me(request: Request) -> Any:
    user = await authenticate(request)  # before the body, as in logout
    data = await read_json(request, MeUpdate)
    async with database(request).connection() as conn:
        row = await service.change_me(
            conn=conn, user_id=user.user_id, changes=data.model_dump(exclude_unset=True)
        )
    if row is None:
        raise UserNotFound
    return row


# The routes that send an email say why they may answer 503.
SENDS_EMAIL: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "DATABASE_ERROR (with Retry-After), or EMAIL_UNAVAILABLE: the service "
        "has no SMTP_URL",
    }
}
# A public route that emails a link: the same answer whether the address has an account or not.
EMAILS_A_LINK: dict[str, Any] = {
    "response_model": Accepted,
    "status_code": status.HTTP_202_ACCEPTED,
    "responses": {**error_responses(429), **SENDS_EMAIL},
    "openapi_extra": PUBLIC,
}
SignInIdPath = Annotated[str, id_in_path("The sign-in's id")]


async def _session(request: Request) -> Identity:
    """The caller, who must have signed in (403 for a personal or an app's token)."""
    user = await authenticate(request)
    session_only(user)
    return user


async def _ended(request: Request, ended: list[Any]) -> None:
    """Committed: every process refuses these sign-ins' tokens and ends their streams before
    the answer goes (todo_api.accounts.sign_ins)."""
    await held(request.app, KnownTokens).revoked(*ended)


async def _count_as_sign_in(request: Request, user: Identity) -> None:
    """A route that checks the password counts as a sign-in attempt, against the same limits
    (a wrong password is a failed sign-in)."""
    await _count_sign_in(request, user.email or str(user.user_id))


@router.post(
    "/password/forgot",
    **EMAILS_A_LINK,
    summary="Email a link to choose a new password (the same answer for any email)",
)
async def forgot_password(data: ForgotPassword, request: Request) -> Any:
    settings = settings_of(request)
    emails.require_email(settings)
    limiter, client = limiter_of(request), client_address(request)
    await count_attempt(
        request,
        (f"forgot:ip:{client}", limiter.address_attempts),
        (f"forgot:ip:{client}:email:{data.email}", limiter.attempts),
        (f"forgot:email:{data.email}", limiter.attempts),
    )
    mailer = held(request.app, emails.Mailer)
    # Looked up and sent after the answer: known or not, the answer is the same, as fast.
    # The language of the request: the emails' if the account sets none.
    asked_in = request.headers.get("accept-language")
    mailer.submit(lambda: recovery.send_reset(mailer, data.email, asked_in))
    return Accepted()


@router.post(
    "/password/reset",
    **NO_CONTENT,
    responses=error_responses(429),
    summary="Choose a new password with an emailed link; every sign-in ends",
    openapi_extra=PUBLIC,
)
async def reset_password(data: ResetPassword, request: Request) -> Response:
    await count_from_address(request, "reset")
    ended = await recovery.reset(
        db=database(request),
        passwords=passwords_of(request),
        token=data.token,
        password=data.password,
    )
    await _ended(request, ended)
    return no_content()


@router.post(
    "/password/change",
    response_model=Tokens,
    responses=error_responses(401, 403, 429),
    summary="Change your password: new tokens for this sign-in; every other sign-in ends",
    openapi_extra=documented(body=ChangePassword),
)
async def change_password(request: Request, response: Response) -> Any:
    user = await _session(request)
    data = await read_json(request, ChangePassword)
    await _count_as_sign_in(request, user)
    tokens, ended, _row = await recovery.change(
        db=database(request),
        passwords=passwords_of(request),
        settings=settings_of(request),
        user_id=user.user_id,
        current_password=data.current_password,
        new_password=data.new_password,
        made_from=origin_of(request),
    )
    await _ended(request, ended)
    no_store(response)
    return tokens


@router.get(
    "/sessions",
    response_model=list[SignInRead],
    responses=error_responses(401, 403),
    summary="Where you are signed in (your sign-ins that work), newest first",
)
async def list_sessions(request: Request) -> Response:
    user = await _session(request)
    async with database(request).connection() as conn:
        listed = await sign_ins.list_sign_ins(conn, user.user_id, user.sign_in)
    return json_response(listed)


@router.delete(
    "/sessions/{sign_in_id}",
    **NO_CONTENT,
    responses=error_responses(401, 403, 404),
    summary="End a sign-in: its tokens are refused from the next request on",
)
async def end_session(sign_in_id: SignInIdPath, request: Request) -> Response:
    user = await _session(request)
    sign_in = parse_id(sign_in_id, SignInNotFound)
    async with database(request).connection() as conn:
        await sign_ins.end(conn, user.user_id, sign_in)
    await _ended(request, [sign_in])
    return no_content()


@router.post(
    "/logout-all",
    **NO_CONTENT,
    responses=error_responses(401, 403),
    summary="End every sign-in but this one",
)
async def logout_all(request: Request) -> Response:
    user = await _session(request)
    async with database(request).connection() as conn:
        ended = await sign_ins.revoke(conn, user.user_id, keep=user.sign_in)
    await _ended(request, ended)
    return no_content()


@router.post(
    "/email/verify",
    response_model=Me,
    responses={**error_responses(409, 429)},
    summary="Follow an emailed link: confirm your email, or make a new one your email",
    openapi_extra=PUBLIC,
)
async def verify_email(data: VerifyEmail, request: Request) -> Any:
    await count_from_address(request, "verify")
    row, ended = await verification.verify(
        db=database(request), token=data.token, keep=await _sign_in_if_any(request)
    )
    await _ended(request, ended)
    return row


async def _sign_in_if_any(request: Request) -> uuid.UUID | None:
    """The caller's sign-in, when a session's token that works comes along (a route that needs
    none): a new email ends every other sign-in, and none without one."""
    if "authorization" not in request.headers:
        return None
    try:
        user = await authenticate(request)
    except ApiError as error:
        if error.status >= 500:
            raise
        return None
    return user.sign_in


@router.post(
    "/email/resend",
    **EMAILS_A_LINK,
    summary="Send the link confirming an email again (the same answer for any email)",
)
async def resend_verification(data: ResendVerification, request: Request) -> Any:
    settings = settings_of(request)
    emails.require_email(settings)
    await count_from_address(request, "resend", limiter_of(request).address_attempts)
    mailer = held(request.app, emails.Mailer)
    if settings.email_verification_mode != "off":
        # The language of the request: the emails' if the account sets none.
        asked_in = request.headers.get("accept-language")
        mailer.submit(lambda: verification.send_link(mailer, data.email, asked_in))
    return Accepted()


@router.post(
    "/email/change",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**error_responses(401, 403, 429), **SENDS_EMAIL},
    summary="Change your email: a link goes to the new one (it changes once followed), a "
    "notice to the old one",
    openapi_extra=documented(body=ChangeEmail),
)
async def change_email(request: Request) -> Any:
    user = await _session(request)
    data = await read_json(request, ChangeEmail)
    settings = settings_of(request)
    emails.require_email(settings)
    await _count_as_sign_in(request, user)
    await verification.request_change(
        db=database(request),
        passwords=passwords_of(request),
        settings=settings,
        mailer=held(request.app, emails.Mailer),
        user_id=user.user_id,
        new_email=data.new_email,
        password=data.password,
        accept_language=request.headers.get("accept-language"),
    )
    return json_response(Accepted().model_dump(), status.HTTP_202_ACCEPTED)


async def _password_checked(request: Request, user: Identity, password: str) -> Row:
    """The caller's row, once `password` is shown to be theirs (401 INVALID_CREDENTIALS, which
    counts as a failed sign-in)."""
    await _count_as_sign_in(request, user)
    async with database(request).connection() as conn:
        row = await service.get_user(conn=conn, user_id=user.user_id)
    password_hash = row.password_hash if row is not None else None
    if not await passwords_of(request).verify(password, password_hash) or row is None:
        raise InvalidCredentials("The password is not right")
    return row


@router.post(
    "/2fa/setup",
    response_model=TwoFactorSecret,
    responses=error_responses(401, 403, 409, 429),
    summary="Set two-factor sign-in up: a secret for an authenticator app (still off)",
    openapi_extra=documented(body=TwoFactorSetup),
)
async def two_factor_setup(request: Request) -> Response:
    user = await _session(request)
    data = await read_json(request, TwoFactorSetup)
    row = await _password_checked(request, user, data.password)
    async with database(request).connection() as conn:
        secret = await two_factor.set_up(conn, row)
    uri = two_factor.otpauth_uri(secret, row.email)
    body = {"secret": secret, "otpauth_uri": uri, "qr_svg": two_factor.qr_svg(uri)}
    return json_response(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/2fa/enable",
    response_model=RecoveryCodes,
    responses=error_responses(401, 403, 409, 429),
    summary="Turn two-factor sign-in on with a code from the app: ten recovery codes; every "
    "other sign-in and every app's connection ends",
    openapi_extra=documented(body=TwoFactorEnable),
)
async def two_factor_enable(request: Request) -> Response:
    user = await _session(request)
    data = await read_json(request, TwoFactorEnable)
    await count_attempt(request, (f"2fa:user:{user.user_id}", limiter_of(request).attempts))
    async with database(request).transaction() as conn:
        row = await service.get_user(conn=conn, user_id=user.user_id)
        if row is None:
            raise InvalidCredentials
        # Whoever signed in with the password alone is signed out: every other sign-in and
        # every app's grant ends.
        turned_on = await two_factor.turn_on(conn, row, data.code, keep=user.sign_in)
    await _ended(request, turned_on.ended)
    body = {"recovery_codes": turned_on.recovery_codes, "apps_ended": turned_on.apps}
    return json_response(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/2fa/disable",
    **NO_CONTENT,
    responses=error_responses(401, 403, 409, 429),
    summary="Turn two-factor sign-in off (the password and a code)",
    openapi_extra=documented(body=TwoFactorDisable),
)
async def two_factor_disable(request: Request) -> Response:
    user = await _session(request)
    data = await read_json(request, TwoFactorDisable)
    row = await _password_checked(request, user, data.password)
    async with database(request).transaction() as conn:
        await two_factor.disable(conn, row, data.code)
    return no_content()


@router.post(
    "/login/2fa",
    response_model=Tokens,
    responses=error_responses(401, 429),
    summary="Finish signing in with a code from the app (or a recovery code)",
    openapi_extra=PUBLIC,
)
async def login_second_factor(data: SecondFactor, request: Request, response: Response) -> Any:
    await count_from_address(request, "login2fa", limiter_of(request).address_attempts)
    if (data.code is None) == (data.recovery_code is None):
        raise InvalidField("code", "Give either a code or a recovery_code")
    challenges = held(request.app, two_factor.Challenges)
    user_id, nonce = await challenges.open(data.mfa_token)
    number = await challenges.try_code(user_id)  # 429 while the account had too many wrong
    tokens = None
    async with database(request).transaction() as conn:
        row = await service.get_user(conn=conn, user_id=user_id)
        if row is not None and row.totp_enabled_at is not None:
            if data.code is not None:
                accepted = await two_factor.accept_code(conn, row, data.code)
            else:
                assert data.recovery_code is not None
                accepted = await two_factor.use_recovery_code(conn, user_id, data.recovery_code)
            if accepted:
                tokens = await service.issue_tokens(
                    conn=conn, settings=settings_of(request), user=row, made_from=origin_of(request)
                )
    if tokens is None:
        email = row.email if row is not None else None
        challenges.wrong_code(number, email)
        raise InvalidCredentials("The code is not right (or was used already)")
    await challenges.right_code(user_id)
    await challenges.close(nonce)
    no_store(response)
    return tokens
