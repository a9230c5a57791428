"""A browser's sign-in held in a cookie, for the service's own pages (the OAuth sign-in page
today; the web app's pages use the same).

It is a built-in sign-in like a login's (todo_api.accounts.sign_ins): a refresh family of its own,
listed in GET /api/auth/sessions, and ended as every other one is: its own sign-out,
DELETE /api/auth/sessions/{id}, logout-all, a reset or a change of password, two-factor turned
on elsewhere, the account deleted. The family's refresh token is never handed out: the browser
holds only the cookie, which names the sign-in and its user, signed with the service's secret,
and expires with the sign-in.

Every request that reads the cookie asks `LiveSignIns` whether the sign-in still works, as an
access token's is asked: an ended sign-in's cookie is refused from the next request on, on
every process (an ending is told to every process as a revocation: todo_api.live.wakeups).
"""

import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from todo_api.accounts import service, sign_ins
from todo_api.accounts.requests import origin_of
from todo_api.auth import live_sign_ins
from todo_api.auth.errors import SignInNotFound
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.live_sign_ins import LiveSignIns
from todo_api.config import Settings
from todo_api.db import Row
from todo_api.kit.deps import database, held, primary
from todo_api.kit.ids import utcnow
from todo_api.kit.reads import reading_as
from todo_api.kit.signing import InvalidToken as BadSignature
from todo_api.kit.signing import Signer


class Unconfirmed(Exception):
    """The user's row read again is not the one remembered (changed, or gone): the page is to
    be made again from the row the gate reads."""


class Confirmation:
    """For a sign-in whose user's row is the one this process read last
    (`BrowserSignIns.remembered`): whether the request has read the row again and found it
    the same (and the sign-in working, when this process does not know it: `generation`).
    Until then nothing the page made may be shown."""

    __slots__ = ("_live", "done", "generation", "sign_in")

    def __init__(self, live: LiveSignIns, sign_in: uuid.UUID, generation: int | None) -> None:
        self._live = live
        self.sign_in = sign_in
        self.generation = generation  # None: known to work; else its state is to be read
        self.done = False

    def check(self, remembered: Row, fresh: Row | None, state: Mapping[str, Any]) -> None:
        """`fresh` is the row read again in the request (and `state` the sign-in's, read with
        it when `generation` is not None): Unconfirmed unless the row is the same and the
        sign-in works."""
        if fresh is None or fresh != remembered:
            raise Unconfirmed
        if self.generation is not None:
            if not live_sign_ins.working(state):
                raise Unconfirmed
            self._live.found_working(self.sign_in, self.generation)
        self.done = True


@dataclass(frozen=True, slots=True)
class BrowserSignIn:
    """The signed-in browser's user row, and its sign-in's id. With `confirmation`, the row is
    the one this process read last, to be read again by the page's first statement (the list
    pages' sidebar: one round trip less a page) and checked the same (`Confirmation.check`)."""

    user: Row
    sign_in: uuid.UUID
    confirmation: Confirmation | None = None


# The users whose row a process remembers (a row each, the oldest forgotten first).
REMEMBERED_ROWS_MAX = 10_000


@dataclass(frozen=True, slots=True)
class _Cookie:
    sign_in: uuid.UUID
    user_id: uuid.UUID


class BrowserSignIns:
    """The sign-ins of browsers on the pages under `path`, held in the cookie `name` (HttpOnly,
    SameSite=Lax, Secure behind https) for `seconds` at most."""

    def __init__(self, settings: Settings, *, name: str, path: str, seconds: int) -> None:
        self.name = name
        self._path = path
        self._seconds = seconds
        self._signer = Signer(settings.signing_secret(), f"browser-sign-in:{name}")
        self._secure = (settings.public_url or "").startswith("https://")
        self._require_verified = settings.email_verification_mode == "required"
        # The user's row each user's last working sign-in read, by the user's id: never shown
        # unless read again (`remembered`).
        self._rows: dict[uuid.UUID, Row] = {}

    async def start(self, request: Request, response: Response, user_id: uuid.UUID) -> None:
        """Sign the browser in as `user_id`: a new sign-in, made from the request's origin,
        named by the cookie set on `response`. The one the browser held before ends (a
        sign-in again, say as someone else, leaves nothing behind that works)."""
        await self._end_held(request)
        reading_as(request.scope, user_id)  # their position is kept with the answer
        made_from = origin_of(request)
        expires = int(time.time()) + self._seconds
        async with database(request).transaction() as conn:
            sign_in = await sign_ins.open_without_token(
                conn,
                user_id=user_id,
                made_from=made_from,
                expires_at=utcnow() + timedelta(seconds=self._seconds),
            )
        value = {"s": str(sign_in), "u": str(user_id), "e": expires}
        response.set_cookie(
            self.name,
            self._signer.dumps(value, "sign-in"),
            max_age=self._seconds,
            path=self._path,
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    async def current(self, request: Request) -> BrowserSignIn | None:
        """The browser's sign-in while it works, else None: no cookie, one altered or expired,
        a sign-in that has ended, an account gone (or, while EMAIL_VERIFICATION=required, one
        whose email is not confirmed)."""
        cookie = self._read(request)
        if cookie is None:
            return None
        live = held(request.app, LiveSignIns)
        generation = live.known(cookie.sign_in)
        async with primary(request).connection() as conn:  # a credential: never a replica's
            if generation is None:  # known to work
                user = await service.get_user(conn=conn, user_id=cookie.user_id)
            else:
                user = await service.get_user_signed_in(
                    conn=conn, user_id=cookie.user_id, sign_in=cookie.sign_in
                )
        if user is None or (self._require_verified and not user.email_verified):
            self._rows.pop(cookie.user_id, None)
            return None
        if generation is not None:
            live.found_working(cookie.sign_in, generation)
        rows = self._rows
        if cookie.user_id not in rows and len(rows) >= REMEMBERED_ROWS_MAX:
            del rows[next(iter(rows))]
        rows[cookie.user_id] = user
        return BrowserSignIn(user, cookie.sign_in)

    def remembered(self, request: Request) -> BrowserSignIn | None:
        """The browser's sign-in without a statement, when this process remembers its user's
        row: that row, to be confirmed by the page (read again in its own first statement,
        with the sign-in's state unless this process knows it works:
        `BrowserSignIn.confirmation`); else None (`current` then)."""
        cookie = self._read(request)
        if cookie is None:
            return None
        row = self._rows.get(cookie.user_id)
        if row is None:
            return None
        live = held(request.app, LiveSignIns)
        confirmation = Confirmation(live, cookie.sign_in, live.known(cookie.sign_in))
        return BrowserSignIn(row, cookie.sign_in, confirmation)

    def held_one(self, request: Request) -> bool:
        """Whether the browser sent a cookie of a sign-in (ended or not)."""
        return self._read(request) is not None

    def held_sign_in(self, request: Request) -> uuid.UUID | None:
        """The sign-in the browser's cookie names (ended or not; checked by `current`)."""
        cookie = self._read(request)
        return None if cookie is None else cookie.sign_in

    async def end(self, request: Request, response: Response) -> None:
        """The browser's own sign-out: its sign-in ends (on every process) and the cookie
        goes."""
        await self._end_held(request)
        self.forget(response)

    async def _end_held(self, request: Request) -> None:
        cookie = self._read(request)
        if cookie is None:
            return
        try:
            async with database(request).connection() as conn:
                await sign_ins.end(conn, cookie.user_id, cookie.sign_in)
        except SignInNotFound:
            return  # ended already
        await held(request.app, KnownTokens).revoked(cookie.sign_in)

    def forget(self, response: Response) -> None:
        response.delete_cookie(
            self.name, path=self._path, secure=self._secure, httponly=True, samesite="lax"
        )

    def _read(self, request: Request) -> _Cookie | None:
        raw = request.cookies.get(self.name)
        if not raw:
            return None
        try:
            value = self._signer.loads(raw, "sign-in")
            cookie = _Cookie(uuid.UUID(value["s"]), uuid.UUID(value["u"]))
            if int(value["e"]) < time.time():
                return None
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        reading_as(request.scope, cookie.user_id)  # whose position a read replica must reach
        return cookie


class FormTokens:
    """The tokens a page's forms carry (CSRF): the time they were given, signed for one browser
    (the random key its own cookie holds, which another site's page cannot read), good for
    `seconds`, and naming the sign-in the page was shown to, if any. A form posted from
    elsewhere has none that checks out."""

    def __init__(self, settings: Settings, name: str, seconds: int) -> None:
        self._signer = Signer(settings.signing_secret(), f"form:{name}")
        self._seconds = seconds

    def issue(self, browser: str, sign_in: uuid.UUID | None = None) -> str:
        # A random part makes every page's token new: the compressed page holds no secret
        # that repeats from one answer to the next for a length side channel (BREACH) to read.
        shown_to = None if sign_in is None else str(sign_in)
        return self._signer.dumps([int(time.time()), secrets.token_urlsafe(8), shown_to], browser)

    def valid(self, token: object, browser: str | None) -> bool:
        return self.issued(token, browser) is not None

    def issued(self, token: object, browser: str | None) -> list[object] | None:
        """A token given to this browser's forms, recently: what it holds (the time, a random
        part, the sign-in's id or None); else None."""
        if browser is None or not isinstance(token, str):
            return None
        try:
            issued = self._signer.loads(token, browser)
        except BadSignature:
            return None
        if not isinstance(issued, list) or not issued or not isinstance(issued[0], int):
            return None
        if time.time() - issued[0] >= self._seconds:
            return None
        return issued
