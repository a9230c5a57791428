"""Better Auth sessions: a frontend using Better Auth's `bearer` plugin sends its opaque session
token instead of a JWT. With BETTER_AUTH_URL set, such a token (neither a JWT nor a personal
token) is checked by asking Better Auth itself, `GET {BETTER_AUTH_URL}/api/auth/get-session`
with the token as a bearer, which answers the session and its user, or `null`.

The answer is kept for BETTER_AUTH_SESSION_CACHE_SECONDS, never past the session's
`expiresAt`, so that Better Auth is asked at most once per window for a token however many
requests carry it: requests that arrive while it is being asked share that one question. A
session signed out in Better Auth is refused here once its window has passed.

The session's user is mapped to a user as a JWT's `sub` is (`subject_identity`): the same
user as Better Auth's own JWT for them. Better Auth unreachable, answering 5xx or not within
`TIMEOUT_SECONDS` is 503 AUTH_UNAVAILABLE with `Retry-After`: never a pass, never a 500.
"""

import asyncio
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from todo_api.auth.errors import AuthUnavailable, InvalidToken
from todo_api.auth.identity import Identity
from todo_api.auth.tokens import VERIFIED_TOKEN_MAX_LENGTH, VERIFIED_TOKENS_MAX, subject_identity
from todo_api.config import Settings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("todo_api")

SESSION_PATH = "/api/auth/get-session"
TIMEOUT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The sign-in service did not answer; try again shortly"


class BetterAuthSessions:
    """Session tokens checked with Better Auth, and the answers kept for a short while."""

    def __init__(self, settings: Settings) -> None:
        base = settings.better_auth_url
        self.url = None if base is None else base.rstrip("/") + SESSION_PATH
        self._cache_seconds = settings.better_auth_session_cache_seconds
        self._entries: dict[str, tuple[Identity, float]] = {}  # token: (identity, good until)
        self._asking: dict[str, asyncio.Future[tuple[Identity, float]]] = {}
        self._client: httpx.AsyncClient | None = None

    @property
    def enabled(self) -> bool:
        return self.url is not None

    async def verify(self, token: str) -> Identity:
        entry = self._entries.get(token)
        if entry is not None:
            identity, good_until = entry
            if time.time() < good_until:
                return identity
            del self._entries[token]
        if len(token) > VERIFIED_TOKEN_MAX_LENGTH:
            raise InvalidToken("The token is not valid")
        asking = self._asking.get(token)
        if asking is None:
            asking = self._asking[token] = asyncio.ensure_future(self._ask(token))
            asking.add_done_callback(lambda done: self._asked(token, done))
        # A request that goes away leaves the question to the others.
        identity, _ = await asyncio.shield(asking)
        return identity

    def _asked(self, token: str, done: "asyncio.Future[tuple[Identity, float]]") -> None:
        del self._asking[token]
        if done.cancelled() or done.exception() is not None:
            return
        identity, good_until = done.result()
        if good_until > time.time():
            if len(self._entries) >= VERIFIED_TOKENS_MAX:
                del self._entries[next(iter(self._entries))]
            self._entries[token] = (identity, good_until)

    async def _ask(self, token: str) -> tuple[Identity, float]:
        """The session's identity, and until when it may be kept."""
        assert self.url is not None
        import httpx  # with the first session asked: only where BETTER_AUTH_URL is set

        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        asked_at = time.time()
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                response = await self._client.get(
                    self.url, headers={"Authorization": f"Bearer {token}"}
                )
                body = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, TimeoutError, ValueError) as exc:
            log.warning("Better Auth's get-session failed: %s", type(exc).__name__)
            raise AuthUnavailable(RETRY_AFTER_SECONDS, UNAVAILABLE) from None
        if response.status_code in (401, 403):
            raise InvalidToken("The session is not valid")
        if response.status_code != 200:
            log.warning("Better Auth's get-session answered HTTP %d", response.status_code)
            raise AuthUnavailable(RETRY_AFTER_SECONDS, UNAVAILABLE)
        return _read_session(body, asked_at + self._cache_seconds)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _read_session(body: Any, window_end: float) -> tuple[Identity, float]:
    """The user of a get-session answer, and until when the answer may be kept: the window's
    end, never past the session's `expiresAt` (a session whose expiry cannot be read is not
    kept). 401 for `null` (a session Better Auth does not know) or no usable user id."""
    session = body.get("session") if isinstance(body, dict) else None
    user = body.get("user") if isinstance(body, dict) else None
    if not isinstance(session, dict) or not isinstance(user, dict):
        raise InvalidToken("The session is not valid")
    try:
        expires = datetime.fromisoformat(session.get("expiresAt")).timestamp()  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        expires = None
    identity = subject_identity(
        user.get("id"),
        refusal="The session is not valid",
        email=user.get("email"),
        name=user.get("name"),
        expires_at=expires,  # what it opens for long (a live stream, its cookie) ends with it
    )
    return identity, 0.0 if expires is None else min(window_end, expires)
