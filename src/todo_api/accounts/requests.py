"""What the auth routes read off a request: the client's address and where a sign-in is made
from, the app's settings, rate limiter and password hashing; an attempt counted against its
limits (429 past one); answers with tokens kept by no cache."""

import uuid
from typing import Any

from fastapi import Request, Response

from todo_api.accounts import service, sign_ins, two_factor
from todo_api.accounts.passwords import PasswordHashing
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.kit.deps import database, held
from todo_api.kit.errors import RateLimited
from todo_api.kit.ratelimit import RateLimited as LimitReached
from todo_api.kit.ratelimit import RateLimiter

# The routes that create a session take no bearer token.
PUBLIC: dict[str, Any] = {"security": []}


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = held(request.app, RateLimiter)
    return limiter


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def count_attempt(request: Request, *limits: tuple[str, int]) -> None:
    """Count an attempt under each (key, limit) in turn; 429 at the first one past its limit."""
    try:
        await limiter_of(request).check(*limits)
    except LimitReached as exc:
        raise RateLimited(exc.retry_after) from None


def sign_in_limits(request: Request, email: str) -> tuple[tuple[str, int], ...]:
    """Sign-in attempts are counted per client address, per address and email, and per email
    from any address at a much higher limit. The address counts first, so one address past its
    limit adds nothing to the email's counter: a stranger guessing from one place cannot lock
    the owner out of signing in from another, and guessing from many places stays bounded."""
    limiter, client = limiter_of(request), client_address(request)
    return (
        (f"login:ip:{client}", limiter.address_attempts),
        (f"login:ip:{client}:email:{email}", limiter.attempts),
        (f"login:email:{email}", limiter.email_attempts),
    )


async def check_sign_in(request: Request, email: str, password: str) -> Row:
    """The account whose email and password these are, as the service's own pages sign one in:
    the attempt counted first (kit.ratelimit.RateLimited past a limit), then the password
    checked (InvalidCredentials, after the same work either way)."""
    await limiter_of(request).check(*sign_in_limits(request, email))
    return await service.check_password(
        db=database(request), passwords=passwords_of(request), email=email, password=password
    )


async def count_from_address(request: Request, route: str, attempts: int | None = None) -> None:
    """Count an attempt at `route` from the client's address: at most `attempts` a window (the
    limiter's `attempts` unless given); 429 past it."""
    limiter = limiter_of(request)
    limit = limiter.attempts if attempts is None else attempts
    await count_attempt(request, (f"{route}:ip:{client_address(request)}", limit))


def origin_of(request: Request) -> sign_ins.Origin:
    """Where a new sign-in is made from (kept for the list of sign-ins)."""
    return sign_ins.origin(request.headers.get("user-agent"), client_address(request))


def no_store(response: Response) -> None:
    """Tokens are never kept by a cache (RFC 6749, section 5.1)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def passwords_of(request: Request) -> PasswordHashing:
    passwords: PasswordHashing = held(request.app, PasswordHashing)
    return passwords


def settings_of(request: Request) -> Settings:
    settings: Settings = held(request.app, Settings)
    return settings


async def check_code(request: Request, user_id: uuid.UUID, code: str) -> tuple[Row | None, bool]:
    """The second step of a sign-in, as the service's own pages take it: the user, and whether
    `code` (from their app, or one of their recovery codes) is right; a code is good once."""
    async with database(request).transaction() as conn:
        user = await service.get_user(conn=conn, user_id=user_id)
        accepted = user is not None and (
            await two_factor.accept_code(conn, user, code)
            or await two_factor.use_recovery_code(conn, user_id, code)
        )
    return user, accepted
