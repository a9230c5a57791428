"""Fixed-window attempt counters: the routes that take credentials, and others a stranger could
repeat at will (invitations), count attempts with them.

In memory by default (one process); in Redis when REDIS_URL is set, so that every instance
behind a load balancer counts together.

Not `limits` (its FixedWindowRateLimiter over MemoryStorage or async Redis): a hit on a running
window costs 8.2 µs there against 1.0 µs here, its memory storage has no cap on keys, and the
fall-back to memory when Redis fails would still be ours (bench/README.md, `library_choices.py`).
"""

import math
import time
from collections import OrderedDict
from typing import Protocol

from todo_api.kit.redis_outage import client as redis_client
from todo_api.kit.redis_outage import outage_of


class Counter(Protocol):
    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Count one attempt; return the attempts in this window and the seconds it has left."""
        ...

    async def peek(self, key: str) -> tuple[int, float]:
        """The attempts counted in the running window and the seconds it has left, counting
        none ((0, 0) when no window runs)."""
        ...

    async def give_back(self, key: str) -> None:
        """Uncount one attempt of the running window (none when no window runs): an attempt
        counted before it was known to be one that counts."""
        ...

    async def close(self) -> None: ...


class MemoryCounter:
    """Counters in this process, at most `max_keys` of them.

    Keys are kept in the order their windows started; when a new window would pass the cap,
    the oldest one goes (an expired one, unless every window is still running). Filling the
    table therefore forgets the counters least likely to matter, never all of them at once.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._max_keys = max_keys

    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        now = time.monotonic()
        ends_at, count = self._windows.get(key, (0.0, 0))
        if ends_at <= now:
            ends_at, count = now + window_seconds, 0
            self._windows.pop(key, None)  # a new window: the key becomes the newest
            while len(self._windows) >= self._max_keys:
                self._windows.popitem(last=False)
        self._windows[key] = (ends_at, count + 1)
        return count + 1, ends_at - now

    async def peek(self, key: str) -> tuple[int, float]:
        now = time.monotonic()
        ends_at, count = self._windows.get(key, (0.0, 0))
        return (count, ends_at - now) if ends_at > now else (0, 0.0)

    async def give_back(self, key: str) -> None:
        ends_at, count = self._windows.get(key, (0.0, 0))
        if ends_at > time.monotonic() and count > 0:
            self._windows[key] = (ends_at, count - 1)

    def __len__(self) -> int:
        return len(self._windows)

    async def close(self) -> None:
        self._windows.clear()


# DECR only a counter that exists and is above zero: a window that ran out stays ended (DECR
# would make a counter with no expiry), and DECR keeps the expiry of one that runs.
_GIVE_BACK = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisCounter:
    """Counts in Redis; while Redis is unreachable it counts in memory rather than not at all."""

    def __init__(self, url: str, prefix: str = "todo-api:rl:") -> None:
        from redis.exceptions import RedisError

        self._redis = redis_client(url, socket_timeout=2, socket_connect_timeout=2)
        self._failures = (RedisError, OSError)
        self._outage = outage_of(url)  # one line when Redis goes, one when it is back
        self._prefix = prefix
        self._fallback = MemoryCounter()

    async def hit(self, key: str, window_seconds: int) -> tuple[int, float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)
                pipe.pttl(name)
                count, _, ttl_ms = await pipe.execute()
        except self._failures as exc:
            self._outage.failed(exc)
            return await self._fallback.hit(key, window_seconds)
        self._outage.answered()
        return int(count), ttl_ms / 1000 if ttl_ms > 0 else float(window_seconds)

    async def peek(self, key: str) -> tuple[int, float]:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.get(name)
                pipe.pttl(name)
                count, ttl_ms = await pipe.execute()
        except self._failures as exc:
            self._outage.failed(exc)
            return await self._fallback.peek(key)
        self._outage.answered()
        if count is None or ttl_ms <= 0:
            return 0, 0.0
        return int(count), ttl_ms / 1000

    async def give_back(self, key: str) -> None:
        try:
            await self._redis.eval(_GIVE_BACK, 1, self._prefix + key)
        except self._failures as exc:
            self._outage.failed(exc)
            await self._fallback.give_back(key)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._fallback.close()


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class RateLimiter:
    """Attempts allowed per window: `attempts` for most keys; for sign-in, `address_attempts`
    per client address and `email_attempts` per email from any address."""

    def __init__(
        self,
        counter: Counter,
        *,
        attempts: int,
        window_seconds: int,
        address_attempts: int | None = None,
        email_attempts: int | None = None,
    ) -> None:
        self.counter = counter
        self.attempts = attempts
        self.address_attempts = address_attempts or attempts
        self.email_attempts = email_attempts or attempts
        self.window_seconds = window_seconds

    async def check(self, *limits: tuple[str, int]) -> None:
        """Count an attempt under each key in turn, given with its limit; raise RateLimited at
        the first one over its limit, without counting under the keys after it.

        So the order matters: an address that is over its own limit adds nothing to the
        counters behind it (per email, say), and cannot use them up for anyone else.
        """
        for key, attempts in limits:
            count, remaining = await self.counter.hit(key, self.window_seconds)
            if count > attempts:
                raise RateLimited(max(1, math.ceil(remaining)))
