"""Public keys of an external issuer (Better Auth's `/api/auth/jwks`), fetched and cached.

The cache is what keeps the issuer safe from us: keys are refreshed when they grow old, fetches
start at most once per `min_refetch_seconds` however many requests ask for them (a flood of
made-up kids costs the issuer one fetch per interval), and an issuer that is down changes
nothing while keys are cached.

It is also what keeps a key rotation invisible to users: a request with a `kid` the cache does
not know waits for a fetch that started after it arrived (the interval is short, and every
request waiting for the next fetch shares it), instead of being refused because someone else's
made-up `kid` used the interval up.

PyJWT's `PyJWKClient` does neither: it fetches with blocking `urllib` under a thread lock (an
`async def` route would stop the event loop for the whole fetch), refuses unknown kids for 30 s
after a fetch, and fails once its cached set expires while the issuer is down.
"""

import asyncio
import logging
import time
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWTError

log = logging.getLogger("todo_api")

# For each kind of key: the algorithm it signs with when its JWK names none, and the algorithms
# its JWK may name. A key is used with exactly one algorithm, so an RSA key published for RS256
# (or with no `alg`) never verifies a PS256 token, nor the other way round.
KEY_ALGORITHMS: dict[tuple[str, str | None], tuple[str, frozenset[str]]] = {
    ("OKP", "Ed25519"): ("EdDSA", frozenset({"EdDSA"})),
    ("EC", "P-256"): ("ES256", frozenset({"ES256"})),
    ("EC", "P-521"): ("ES512", frozenset({"ES512"})),
    ("RSA", None): ("RS256", frozenset({"RS256", "PS256"})),
}
ASYMMETRIC_ALGORITHMS = frozenset(
    algorithm for _, allowed in KEY_ALGORITHMS.values() for algorithm in allowed
)


class IssuerUnavailable(Exception):
    """No usable key, and the issuer could not be asked for one."""


class UnknownKey(Exception):
    """The issuer answered, and has no key for this token."""


def key_algorithm(jwk: dict[str, Any]) -> str | None:
    """The one algorithm this key may sign with, or None when the service does not take it."""
    kty = jwk.get("kty")
    crv = jwk.get("crv") if kty != "RSA" else None
    kind = KEY_ALGORITHMS.get((str(kty), crv if isinstance(crv, str) else None))
    if kind is None:
        return None
    default, allowed = kind
    algorithm = jwk.get("alg", default)
    return algorithm if algorithm in allowed else None


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        max_age_seconds: float = 600,
        min_refetch_seconds: float = 1,
        timeout_seconds: float = 5,
        max_wait_seconds: float = 5,
    ) -> None:
        self.url = url
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout_seconds
        self._max_wait = max_wait_seconds
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # start of the last fetch, successful or not
        self._failed = False  # whether the last fetch failed
        self._inflight: asyncio.Task[None] | None = None  # the fetch under way
        self._queued: asyncio.Task[None] | None = None  # the next one, waiting for its turn

    async def key_for(self, kid: str | None, algorithm: str) -> PyJWK:
        """The key that signs tokens with this `kid`, if it may sign with `algorithm`.

        A known key answers at once, even when the set is old: the refresh then runs in the
        background. An unknown `kid` waits (a bounded time) for a fetch that may bring it.
        """
        key = self._lookup(kid)
        if key is None:
            key = await self._fetch_for(kid)
        elif self._is_stale() and self._inflight is None and self._queued is None:
            self._next_fetch()
        if key is None:
            if self._fetched_at is None:
                raise IssuerUnavailable
            raise UnknownKey
        if key.algorithm_name != algorithm:
            raise UnknownKey
        return key

    async def _fetch_for(self, kid: str | None) -> PyJWK | None:
        """Wait for the fetch under way, then, if the kid is still unknown, for one that starts
        after this request arrived: only that one can tell that the kid is not published."""
        deadline = time.monotonic() + self._max_wait
        if self._inflight is not None:
            await asyncio.wait([self._inflight], timeout=self._max_wait)
            if (key := self._lookup(kid)) is not None:
                return key
        if self._failed and not self._may_fetch_now():
            return None  # the issuer failed moments ago: asking again at once would not help
        fetch = self._next_fetch()
        remaining = deadline - time.monotonic()
        if remaining > 0:
            # Waiting neither cancels the shared fetch nor is cancelled by it.
            await asyncio.wait([fetch], timeout=remaining)
        return self._lookup(kid)

    def publishes(self, key: PyJWK) -> bool:
        """Whether this key is in the set as last fetched (a token it verified still holds)."""
        return any(published is key for published in self._keys.values())

    def _lookup(self, kid: str | None) -> PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # an issuer with one key may omit kid
        return self._keys.get(kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    def _may_fetch_now(self) -> bool:
        return (
            self._attempted_at is None or time.monotonic() - self._attempted_at >= self._min_refetch
        )

    def _next_fetch(self) -> asyncio.Task[None]:
        """The fetch that starts next: after the one under way, and once the interval allows.

        There is at most one such fetch, so any number of requests share it.
        """
        if self._queued is None:
            self._queued = asyncio.create_task(self._fetch_after(self._inflight))
        return self._queued

    async def _fetch_after(self, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if self._attempted_at is not None:
            wait = self._attempted_at + self._min_refetch - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._queued = None
        self._inflight = asyncio.current_task()
        self._attempted_at = time.monotonic()
        try:
            await self._download()
        finally:
            self._inflight = None

    async def close(self) -> None:
        for task in (self._queued, self._inflight):
            if task is not None:
                task.cancel()

    async def _download(self) -> None:
        import httpx  # with the first fetch: most deployments have no external issuer

        self._failed = True
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed: %s", self.url, exc)
            return
        keys = self._parse(document)
        if keys:
            # A key published again unchanged stays the same object, so the tokens it verified
            # stay remembered; a key withdrawn or changed no longer `publishes`.
            for kid, key in keys.items():
                previous = self._keys.get(kid)
                if (
                    previous is not None
                    and previous.key == key.key
                    and previous.algorithm_name == key.algorithm_name
                ):
                    keys[kid] = previous
            self._keys = keys
            self._fetched_at = time.monotonic()
            self._failed = False
        else:
            log.warning("JWKS at %s has no usable signing key", self.url)

    def _parse(self, document: Any) -> dict[str | None, PyJWK]:
        raw_keys = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str | None, PyJWK] = {}
        for raw in raw_keys if isinstance(raw_keys, list) else []:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            algorithm = key_algorithm(raw)
            if algorithm is None:
                continue  # a key type we do not take, or one that claims another algorithm
            kid = raw.get("kid")
            if kid is not None and not isinstance(kid, str):
                continue
            try:
                keys[kid] = PyJWK(raw, algorithm=algorithm)
            except (PyJWTError, ValueError, TypeError) as exc:  # a malformed key
                log.warning("skipping a JWKS key: %s", exc)
        return keys
