"""Redis going away and coming back, as one process sees it: one warning line when it goes and
one line when it answers again, however many requests (the sign-in limits), listeners and
sends (live updates, revocations) meet it meanwhile, and never a traceback: Redis being away
is an outage of a server the operator runs, not a failure of the service's code.

What each user of Redis does meanwhile is its own: the sign-in limits count in memory
(todo_api.kit.ratelimit); live updates poll the database and every request looks its token up
(todo_api.live.wakeups, todo_api.auth.hashed_tokens). Each user reports its failures here
(`failed`) and its successes (`answered`); the state is one per Redis URL in the process.

A restarted Redis leaves each client's pooled connections closed: `client` makes clients that
try a command once more, on a new connection, when its connection turns out closed, so that
the first publish or count after Redis is back is not lost.
"""

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("todo_api")

WENT = (
    "Redis at %s went away (%s): until it is back, sign-in limits are counted in memory by "
    "each process, and live updates and revocations go through the database"
)
BACK = "Redis at %s answers again: sign-in limits, live updates and revocations use it"


class RedisOutage:
    """Whether Redis (one URL) is away, as this process last found it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        # Its host and port, never its password.
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
        self.away = False

    def failed(self, exc: BaseException) -> None:
        """A use of Redis failed: said once, when it goes."""
        if not self.away:
            self.away = True
            log.warning(WENT, self.where, f"{type(exc).__name__}: {exc}"[:200])

    def answered(self) -> None:
        """A use of Redis succeeded: said once, when it is back."""
        if self.away:
            self.away = False
            log.info(BACK, self.where)


_outages: dict[str, RedisOutage] = {}


def outage_of(url: str) -> RedisOutage:
    """The process's one state of the Redis at `url`."""
    found = _outages.get(url)
    if found is None:
        found = _outages[url] = RedisOutage(url)
    return found


def client(url: str, **options: Any) -> "Redis":
    """A client of the Redis at `url` (imported here, where REDIS_URL is set: redis costs a
    `todo-api serve` without it about 0.25 s of CPU at start-up)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError

    once_more = Retry(NoBackoff(), 1)
    return Redis.from_url(url, retry=once_more, retry_on_error=[ConnectionError], **options)
