"""Graceful shutdown: on SIGTERM (or Ctrl-C) `/ready` answers 503 from then on; after
SHUTDOWN_DELAY_SECONDS (default 0) the server stops accepting connections and lets the requests
under way finish, for up to SHUTDOWN_GRACE_SECONDS (uvicorn's graceful shutdown). Requests
that never finish by themselves (event streams) watch `Lifecycle.stopping`, set when the server
is told to stop, and end then.

uvicorn owns the signals: each worker installs its handlers before the app starts. The app,
once started, puts itself in front of them (and steps back when it stops), so that it knows
when shutdown begins and can hold the signal back for the delay, during which a load
balancer sees `/ready` fail and stops sending new requests here.
"""

import asyncio
import contextlib
import functools
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from types import FrameType
from typing import Any

from todo_api.db.database import POOL_CLOSE_SECONDS

log = logging.getLogger("todo_api")

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long each part of the app's own shutdown (the jobs, the live hub, each pool) may take
# once the requests are done: a part that waits on something that never answers (a connection
# still busy, a peer gone mid-close) is given up, so that a drained process always exits. The
# database's own pool is bounded by the same time, inside its close.
CLOSE_SECONDS = POOL_CLOSE_SECONDS


class Lifecycle:
    """Whether this process has begun to shut down."""

    def __init__(self) -> None:
        self.shutting_down = False
        # Set when the server stops accepting connections (after the delay): what would keep
        # it waiting (an event stream) ends then.
        self.stopping = asyncio.Event()

    def begin_shutdown(self) -> None:
        self.shutting_down = True

    @staticmethod
    async def close(part: str, closing: Awaitable[Any], seconds: float = CLOSE_SECONDS) -> None:
        """Waits for `closing` (a part of the shutdown) at most `seconds`, then gives it up
        with a warning naming `part`."""
        try:
            await asyncio.wait_for(closing, seconds)
        except TimeoutError:
            log.warning("shutdown: %s did not finish within %g s; left behind", part, seconds)

    @contextlib.contextmanager
    def watching_exit_signals(self, delay_seconds: float) -> Iterator[None]:
        """For the app's lifetime: note an exit signal, then pass it on to the server's own
        handler, at once or after `delay_seconds` (a second signal passes at once)."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only: nothing to watch from here
            return
        loop = asyncio.get_running_loop()
        previous: dict[signal.Signals, Any] = {}
        for sig in EXIT_SIGNALS:
            handler = signal.getsignal(sig)
            if callable(handler):  # the server's handler, which ends it
                previous[sig] = handler
                signal.signal(sig, functools.partial(self._on_signal, loop, handler, delay_seconds))
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(
        self,
        loop: asyncio.AbstractEventLoop,
        server_handler: Callable[[int, FrameType | None], Any],
        delay_seconds: float,
        sig: int,
        frame: FrameType | None,
    ) -> None:
        first = not self.shutting_down
        self.begin_shutdown()
        stop = functools.partial(self._stop, loop, server_handler)
        if not first or delay_seconds <= 0:
            stop(sig, frame)
            return
        log.info(
            "shutting down in %g s (/ready answers 503 meanwhile); in-flight requests finish",
            delay_seconds,
        )
        loop.call_soon_threadsafe(loop.call_later, delay_seconds, stop, sig, None)

    def _stop(
        self,
        loop: asyncio.AbstractEventLoop,
        server_handler: Callable[[int, FrameType | None], Any],
        sig: int,
        frame: FrameType | None,
    ) -> None:
        # Maybe inside a signal handler: the event is set by the loop, not from here.
        loop.call_soon_threadsafe(self.stopping.set)
        server_handler(sig, frame)


def exit_0_after_graceful_shutdown() -> None:
    """uvicorn raises the signal that stopped it once more after its graceful shutdown, with the
    handler that was there before it: SIGTERM's default would end the process with status 143.
    Installed before uvicorn starts, this one ends it with 0."""

    def exit_0(_sig: int, _frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, exit_0)
