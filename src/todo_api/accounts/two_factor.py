"""Two-factor sign-in with TOTP (RFC 6238, with `pyotp`), and recovery codes.

Setting it up (the password again) gives a secret, its `otpauth://` URI and that URI as a QR
code (SVG, with `segno`); a code from the app turns it on and gives ten recovery codes, each
kept as its SHA-256 and good once. From then on a password alone does not sign in: it gives an
`mfa_token` (signed with the service's secret, good for MFA_SECONDS, at most MFA_ATTEMPTS wrong
codes, used once), which a code or a recovery code turns into tokens.

Wrong codes (from the app or recovery codes) also count per account, whichever `mfa_token` or
address they come from: after WRONG_CODES in WRONG_CODES_SECONDS every further try is refused
(429, with Retry-After) until the window passes, and the account's email is told once, by the
wrong code that reached the limit. A try is counted before its code is checked, so that tries
sent at once cannot pass the limit together, and a right code gives its count back.

A code is accepted for the time step it belongs to, the one before or the one after (a
phone's clock a little off), and only for a step later than the last one accepted: a code,
once used, is refused for the rest of its window (the conditional UPDATE of
`totp_last_step` decides between two racing uses). The secret itself is kept as is (base32):
it is what the app holds too.
"""

import hashlib
import hmac
import math
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import delete, insert, or_, update

from todo_api.accounts import sign_ins
from todo_api.auth import app_tokens
from todo_api.auth.errors import InvalidCredentials, InvalidToken
from todo_api.db import Connection
from todo_api.kit.errors import Conflict, InvalidField, RateLimited
from todo_api.kit.ids import new_id, utcnow
from todo_api.kit.ratelimit import Counter
from todo_api.kit.signing import InvalidToken as BadSignature
from todo_api.kit.signing import Signer
from todo_api.tables.accounts import recovery_codes
from todo_api.tables.users import users

SKEW_STEPS = 1
RECOVERY_CODES = 10
MFA_SECONDS = 300
MFA_ATTEMPTS = 5
WRONG_CODES = 10
WRONG_CODES_SECONDS = 15 * 60
ISSUER = "Tasks"
_CODE = re.compile(r"[0-9]{6}")


class TwoFactorOn(Conflict):
    message = "Two-factor sign-in is on already; turn it off first"


class NotSetUp(Conflict):
    message = "Set two-factor sign-in up first (POST /api/auth/2fa/setup)"


class TooManyWrongCodes(RateLimited):
    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after, "Too many wrong codes for this account; try again later")
        self.retry_after = retry_after


class WrongCode(InvalidField):
    def __init__(self) -> None:
        super().__init__("code", "The code is not right (or was used already)")


def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, email: str | None) -> str:
    uri: str = pyotp.TOTP(secret).provisioning_uri(name=email or "account", issuer_name=ISSUER)
    return uri


def qr_svg(uri: str) -> str:
    import segno  # loaded by the first set-up, not at start (2 MB of a process)

    svg: str = segno.make_qr(uri, error="m").svg_inline(scale=4)
    return svg


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step the code belongs to (this one, or one step either side), or None."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now if now is not None else time.time())
    found = None
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


async def accept_code(conn: Connection, user: Any, code: str) -> bool:
    """Whether the code is right for the user's secret and not used before (then it is
    used up: every code of its step and earlier is refused from now on)."""
    if user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    used = await conn.execute(
        update(users)
        .where(
            users.c.id == user.id,
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
    )
    return bool(used.rowcount)


def _code_digest(code: str) -> str:
    normal = code.strip().replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


async def use_recovery_code(conn: Connection, user_id: uuid.UUID, code: str) -> bool:
    used = await conn.execute(
        update(recovery_codes)
        .where(
            recovery_codes.c.user_id == user_id,
            recovery_codes.c.code_hash == _code_digest(code),
            recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(used.rowcount)


async def set_up(conn: Connection, user: Any) -> str:
    """A new secret for the user (two-factor still off); TwoFactorOn if it is on."""
    if user.totp_enabled_at is not None:
        raise TwoFactorOn
    secret = new_secret()
    await conn.execute(
        update(users)
        .where(users.c.id == user.id, users.c.totp_enabled_at.is_(None))
        .values(totp_secret=secret, totp_last_step=None, updated_at=utcnow())
    )
    return secret


async def enable(conn: Connection, user: Any, code: str) -> list[str]:
    """Turn it on with a code from the app: the recovery codes (shown once)."""
    if user.totp_enabled_at is not None:
        raise TwoFactorOn
    if user.totp_secret is None:
        raise NotSetUp
    if not await accept_code(conn, user, code):
        raise WrongCode
    now = utcnow()
    await conn.execute(
        update(users).where(users.c.id == user.id).values(totp_enabled_at=now, updated_at=now)
    )
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    await conn.execute(
        insert(recovery_codes).values(
            [
                {
                    "id": new_id(),
                    "user_id": user.id,
                    "code_hash": _code_digest(c),
                    "created_at": now,
                }
                for c in codes
            ]
        )
    )
    return codes


@dataclass(frozen=True, slots=True)
class TurnedOn:
    recovery_codes: list[str]  # shown once
    # What every process must forget (todo_api.auth.credentials): the other sign-ins, and the
    # access tokens of the apps' grants.
    ended: list[uuid.UUID]
    apps: list[str]  # the names of the apps that must be connected again


async def turn_on(
    conn: Connection, user: Any, code: str, *, keep: uuid.UUID | None = None
) -> TurnedOn:
    """Turn two-factor on (`enable`) and end what it did not guard: every sign-in but `keep`
    (the one turning it on) and every app's grant (MCP's refresh and access tokens), all made
    with the password alone."""
    codes = await enable(conn, user, code)
    ended = await sign_ins.revoke(conn, user.id, keep=keep)
    grants = app_tokens.grants_of(user.id)
    apps = await app_tokens.connected_apps(conn, grants)
    _, tokens = await app_tokens.revoke_grants(conn, grants)
    return TurnedOn(codes, [*ended, *tokens], apps)


async def disable(conn: Connection, user: Any, code: str) -> None:
    if user.totp_enabled_at is None:
        raise NotSetUp
    if not await accept_code(conn, user, code):
        raise InvalidCredentials("The code is not right (or was used already)")
    await turn_off(conn, user.id)


async def turn_off(conn: Connection, user_id: uuid.UUID) -> None:
    """Two-factor off for the user: the secret (set up or on) and the recovery codes gone."""
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None, updated_at=utcnow())
    )
    await conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))


class Challenges:
    """The `mfa_token`s a correct password gives while two-factor is on."""

    def __init__(self, secret: str, counter: Counter, tell: Callable[[str], None]) -> None:
        """`tell(email)` lets an account's owner know that wrong codes reached the limit (an
        email sent after the answer: todo_api.accounts.emails)."""
        self._signer = Signer(secret, "mfa")
        self._counter = counter
        self._tell = tell

    def issue(self, user_id: uuid.UUID) -> str:
        body = {"u": str(user_id), "e": int(time.time()) + MFA_SECONDS, "n": secrets.token_hex(8)}
        return self._signer.dumps(body, "mfa")

    async def open(self, token: str) -> tuple[uuid.UUID, str]:
        """The user and nonce of a live challenge (InvalidToken otherwise), counting this
        attempt: more than MFA_ATTEMPTS, or a challenge used already, ends it."""
        try:
            body = self._signer.loads(token, "mfa")
            user_id, expires, nonce = uuid.UUID(body["u"]), int(body["e"]), str(body["n"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise InvalidToken("The sign-in is not valid; sign in again") from None
        if expires < time.time():
            raise InvalidToken("The sign-in took too long; sign in again")
        used, _ = await self._counter.peek(f"mfa-used:{nonce}")
        attempts, _ = await self._counter.hit(f"mfa:{nonce}", MFA_SECONDS)
        if used or attempts > MFA_ATTEMPTS:
            raise InvalidToken("Too many wrong codes, or used already; sign in again")
        return user_id, nonce

    async def close(self, nonce: str) -> None:
        await self._counter.hit(f"mfa-used:{nonce}", MFA_SECONDS)

    async def try_code(self, user_id: uuid.UUID) -> int:
        """Count a code about to be checked against the account's wrong codes: this try's
        number in the window. TooManyWrongCodes once WRONG_CODES were wrong in it."""
        count, remaining = await self._counter.hit(_wrong_codes(user_id), WRONG_CODES_SECONDS)
        if count > WRONG_CODES:
            raise TooManyWrongCodes(max(1, math.ceil(remaining)))
        return count

    async def right_code(self, user_id: uuid.UUID) -> None:
        """The code tried was right: it is no wrong code."""
        await self._counter.give_back(_wrong_codes(user_id))

    def wrong_code(self, number: int, email: str | None) -> None:
        """The code tried was wrong (it stays counted): the one that reaches the limit tells the
        account's email, once a window."""
        if number == WRONG_CODES and email:
            self._tell(email)


def _wrong_codes(user_id: uuid.UUID) -> str:
    return f"2fa:wrong:user:{user_id}"
