"""Account routes beyond signing in: a forgotten password, a change of password, and the
sign-ins (list, end one, end all others). Present with built-in accounts only."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status

from todo_api.auth import service, sign_ins, two_factor
from todo_api.auth.accounts import emails, recovery, verification
from todo_api.auth.accounts.schemas import (
    Accepted,
    ChangeEmail,
    ChangePassword,
    ForgotPassword,
    RecoveryCodes,
    ResendVerification,
    ResetPassword,
    SecondFactor,
    SignInRead,
    TwoFactorDisable,
    TwoFactorEnable,
    TwoFactorSecret,
    TwoFactorSetup,
    VerifyEmail,
)
from todo_api.auth.dependencies import authenticate, session_only
from todo_api.auth.errors import InvalidCredentials, SignInNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.identity import Identity
from todo_api.auth.requests import (
    PUBLIC,
    client_address,
    count_attempt,
    count_from_address,
    limiter_of,
    no_store,
    origin_of,
    passwords_of,
    settings_of,
)
from todo_api.auth.schemas import Me, Tokens
from todo_api.db import Row
from todo_api.kit.deps import database, held
from todo_api.kit.errors import ErrorBody, InvalidField, error_responses
from todo_api.kit.http import NO_CONTENT, documented, json_response, no_content, read_json
from todo_api.kit.inputs import id_in_path, parse_id

# The routes that send an email say why they may answer 503.
SENDS_EMAIL: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "DATABASE_ERROR (with Retry-After), or EMAIL_UNAVAILABLE: the service "
        "has no SMTP_URL",
    }
}
router = APIRouter(prefix="/api/auth", tags=["auth"], responses=error_responses(400, 500, 503))
SignInIdPath = Annotated[str, id_in_path("The sign-in's id")]


async def _session(request: Request) -> Identity:
    """The caller, who must have signed in (403 for a personal or an app's token)."""
    user = await authenticate(request)
    session_only(user)
    return user


async def _ended(request: Request, ended: list[Any]) -> None:
    """Committed: every process refuses these sign-ins' tokens and ends their streams before
    the answer goes (todo_api.auth.sign_ins)."""
    await held(request.app, KnownTokens).revoked(*ended)


async def _count_as_sign_in(request: Request, user: Identity) -> None:
    """A route that checks the password counts as a sign-in attempt, against the same limits
    (a wrong password is a failed sign-in)."""
    limiter, client = limiter_of(request), client_address(request)
    email = user.email or str(user.user_id)
    await count_attempt(
        request,
        (f"login:ip:{client}", limiter.address_attempts),
        (f"login:ip:{client}:email:{email}", limiter.attempts),
        (f"login:email:{email}", limiter.email_attempts),
    )


@router.post(
    "/password/forgot",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**error_responses(429), **SENDS_EMAIL},
    summary="Email a link to choose a new password (the same answer for any email)",
    openapi_extra=PUBLIC,
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
    db = database(request)
    # Looked up and sent after the answer: known or not, the answer is the same, as fast.
    mailer.submit(lambda: recovery.send_reset(db, settings, mailer, data.email))
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
    return await verification.verify(db=database(request), token=data.token)


@router.post(
    "/email/resend",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**error_responses(429), **SENDS_EMAIL},
    summary="Send the link confirming an email again (the same answer for any email)",
    openapi_extra=PUBLIC,
)
async def resend_verification(data: ResendVerification, request: Request) -> Any:
    settings = settings_of(request)
    emails.require_email(settings)
    await count_from_address(request, "resend", limiter_of(request).address_attempts)
    mailer, db = held(request.app, emails.Mailer), database(request)
    if settings.email_verification_mode != "off":
        mailer.submit(lambda: verification.send_link(db, settings, mailer, data.email))
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
    "other sign-in ends",
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
        codes = await two_factor.enable(conn, row, data.code)
        # Whoever signed in with the password alone is signed out: every other sign-in ends.
        ended = await sign_ins.revoke(conn, user.user_id, keep=user.sign_in)
    await _ended(request, ended)
    return json_response({"recovery_codes": codes}, headers={"Cache-Control": "no-store"})


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
