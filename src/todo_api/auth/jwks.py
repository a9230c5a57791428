"""Public keys of an external issuer (Better Auth's `/api/auth/jwks`), fetched and cached.

The cache is what keeps the issuer safe from us: keys are refreshed when they grow old, an
unknown `kid` triggers at most one fetch per `min_refetch_seconds` (a flood of made-up kids
costs the issuer nothing), and an issuer that is down changes nothing while keys are cached.
"""

import asyncio
import logging
import time
from typing import Any

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

log = logging.getLogger("todo_api")

# The one algorithm each kind of key may sign with; any other is refused for that key.
KEY_ALGORITHMS: dict[tuple[str, str | None], str] = {
    ("OKP", "Ed25519"): "EdDSA",
    ("EC", "P-256"): "ES256",
    ("RSA", None): "RS256",
}
ASYMMETRIC_ALGORITHMS = frozenset(KEY_ALGORITHMS.values())


class IssuerUnavailable(Exception):
    """No usable key, and the issuer could not be asked for one."""


class UnknownKey(Exception):
    """The issuer answered, and has no key for this token."""


def key_algorithm(jwk: dict[str, Any]) -> str | None:
    kty = jwk.get("kty")
    crv = jwk.get("crv") if kty != "RSA" else None
    return KEY_ALGORITHMS.get((str(kty), crv))


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        max_age_seconds: float = 600,
        min_refetch_seconds: float = 10,
        timeout_seconds: float = 5,
    ) -> None:
        self.url = url
        self._max_age = max_age_seconds
        self._min_refetch = min_refetch_seconds
        self._timeout = timeout_seconds
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._inflight: asyncio.Task[None] | None = None
        self.fetches = 0

    async def key_for(self, kid: str | None, algorithm: str) -> PyJWK:
        """The key that signs tokens with this `kid`, if it may sign with `algorithm`.

        A known key answers at once, even when the set is old: the refresh then runs in the
        background. An unknown `kid` waits for a fetch (the one under way, or a new one when the
        interval allows), so many requests with a just-rotated key share one fetch.
        """
        key = self._lookup(kid)
        if key is not None:
            if self._is_stale():
                self._fetch()
        else:
            fetch = self._fetch()
            if fetch is not None:
                await asyncio.shield(fetch)  # a cancelled request must not cancel the fetch
            key = self._lookup(kid)
        if key is None:
            if self._fetched_at is None:
                raise IssuerUnavailable
            raise UnknownKey
        if key.algorithm_name != algorithm:
            raise UnknownKey
        return key

    def _lookup(self, kid: str | None) -> PyJWK | None:
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # an issuer with one key may omit kid
        return self._keys.get(kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    def _fetch(self) -> asyncio.Task[None] | None:
        """The fetch under way, else a new one if the interval allows, else None."""
        if self._inflight is None:
            now = time.monotonic()
            if self._attempted_at is not None and now - self._attempted_at < self._min_refetch:
                return None
            self._attempted_at = now
            self._inflight = asyncio.create_task(self._download())
            self._inflight.add_done_callback(self._fetch_done)
        return self._inflight

    def _fetch_done(self, _task: asyncio.Task[None]) -> None:
        self._inflight = None

    async def close(self) -> None:
        if self._inflight is not None:
            self._inflight.cancel()

    async def _download(self) -> None:
        self.fetches += 1
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
            self._keys = keys
            self._fetched_at = time.monotonic()
        else:
            log.warning("JWKS at %s has no usable signing key", self.url)

    def _parse(self, document: Any) -> dict[str | None, PyJWK]:
        raw_keys = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str | None, PyJWK] = {}
        for raw in raw_keys if isinstance(raw_keys, list) else []:
            if not isinstance(raw, dict) or raw.get("use", "sig") != "sig":
                continue
            algorithm = key_algorithm(raw)
            if algorithm is None or raw.get("alg", algorithm) != algorithm:
                continue  # a key type we do not take, or one that claims another algorithm
            try:
                keys[raw.get("kid")] = PyJWK(raw, algorithm=algorithm)
            except PyJWKError as exc:
                log.warning("skipping a JWKS key: %s", exc)
        return keys
