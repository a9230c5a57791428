"""Tracebacks by the minute: a failure that repeats (an outage, a job failing on every tick)
logs a line each time, and its traceback once a minute."""

import logging
import time


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
        traceback = exc if self.allow(f"{scope} {kind}") else None
        logger.log(level, message, *args, kind, exc_info=traceback)


def failure_kind(exc: BaseException) -> str:
    """What tells one failure from another: its type and message (of its cause, when the
    service wrapped it), bounded."""
    cause = exc.__cause__ or exc
    return f"{type(cause).__name__}: {cause}"[:200]
