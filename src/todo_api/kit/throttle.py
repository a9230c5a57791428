"""Tracebacks by the minute: a failure that repeats (an outage, a job failing on every tick)
logs a line each time, and its traceback once a minute.

A database outage is one failure however many requests, jobs and listeners meet it: its
tracebacks share one budget for the whole process (OUTAGE_TRACEBACKS a minute), whoever logs
them, so the start of an outage is two tracebacks and then a line per request or job turn. Each is
the stack of the failure itself (a connection refused), without the wrappers it was raised
again as, which tell nothing more and would triple it.
"""

import logging
import time

from todo_api.db import DatabaseFailure

OUTAGE_TRACEBACKS = 2
OUTAGE_SECONDS = 60.0


class TracebackThrottle:
    """At most one traceback per distinct error per `seconds`."""

    def __init__(self, seconds: float = 60) -> None:
        self._seconds = seconds
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(key, -self._seconds) < self._seconds:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True

    def log(
        self,
        logger: logging.Logger,
        level: int,
        exc: BaseException,
        message: str,
        *args: object,
        scope: str = "",
    ) -> None:
        """`message % (*args, kind)`, kind the failure's (`failure_kind`), with its traceback
        at most once per `seconds` for each kind (within `scope`: a job's name, say)."""
        kind = failure_kind(exc)
        outage = is_outage(exc)
        allowed = _outage.allow() if outage else self.allow(f"{scope} {kind}")
        # An outage's traceback is its first failure's alone (the connection refused or
        # lost), not each wrapper it was raised again as: one stack, not three.
        shown = _first_failure(exc) if outage else exc
        logger.log(level, message, *args, kind, exc_info=shown if allowed else None)


class _Budget:
    """At most `count` tracebacks in any `seconds`."""

    def __init__(self, count: int, seconds: float) -> None:
        self._count = count
        self._seconds = seconds
        self._times: list[float] = []

    def allow(self) -> bool:
        now = time.monotonic()
        self._times = [t for t in self._times if now - t < self._seconds]
        if len(self._times) >= self._count:
            return False
        self._times.append(now)
        return True


_outage = _Budget(OUTAGE_TRACEBACKS, OUTAGE_SECONDS)


# asyncpg's reports of a connection lost or refused, and of a server shutting down (named
# rather than imported: this module is imported where asyncpg may never be).
_ASYNCPG_OUTAGES = frozenset(
    {
        "PostgresConnectionError",
        "CannotConnectNowError",
        "InterfaceError",
        "AdminShutdownError",
        "CrashShutdownError",
    }
)


def is_outage(exc: BaseException) -> bool:
    """Whether the failure is the database's being away (or failing): the service's wrapper
    of it, a connection that failed or timed out, or asyncpg's own report of it."""
    seen: BaseException | None = exc
    for _ in range(5):  # the failure and the causes it was raised from
        if seen is None:
            return False
        if isinstance(seen, DatabaseFailure | OSError | TimeoutError) or any(
            cls.__module__.startswith("asyncpg") and cls.__name__ in _ASYNCPG_OUTAGES
            for cls in type(seen).__mro__
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_failure(exc: BaseException) -> BaseException:
    """The failure the chain began with (the cause of its cause...), bounded."""
    for _ in range(10):
        earlier = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if earlier is None:
            break
        exc = earlier
    return exc


def failure_kind(exc: BaseException) -> str:
    """What tells one failure from another: its type and message (of its cause, when the
    service wrapped it), bounded."""
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}"[:200]
