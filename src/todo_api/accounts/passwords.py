"""Password hashing (Argon2id): off the event loop, a bounded number at once, and with equal
cost for unknown emails.

Each hash takes tens of milliseconds of CPU and 64 MiB of memory, so a flood of sign-ins must
not run them all at once, nor hold a database connection while one runs (the callers look the
account up, let the connection go, then hash). At most `concurrency` hashes run, in threads of
their own; a sign-in that finds them all busy waits a short time behind a bounded queue, and
past that is refused with 429, so that a flood is answered quickly and costs others nothing.
"""

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

from pwdlib import PasswordHash

from todo_api.auth.errors import HashingBusy

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128

T = TypeVar("T")


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so that a failed login costs the same time
    # whether or not the account exists.
    return _hasher().hash("a password that no account has")


def _verify(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return _hasher().verify(password, password_hash)


class PasswordHashing:
    """Hashes and verifies passwords, at most `concurrency` at once (default: one per CPU)."""

    def __init__(
        self, *, concurrency: int | None = None, max_waiting: int, max_wait_seconds: float
    ) -> None:
        concurrency = concurrency or os.cpu_count() or 1
        self._slots = asyncio.Semaphore(concurrency)
        # Threads of its own: a hash whose request went away still finishes in one of them,
        # so no more than `concurrency` ever run, and other thread work never queues behind.
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="password-hash")
        self._max_waiting = max_waiting
        self._max_wait = max_wait_seconds
        self._waiting = 0

    async def hash(self, password: str) -> str:
        return await self._run(_hasher().hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """True when the password matches; with no hash (no such account) it still does the
        work, so that the answer takes as long."""
        return await self._run(_verify, password, password_hash)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        await self._take_slot()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
        finally:
            self._slots.release()

    async def _take_slot(self) -> None:
        if self._slots.locked() and self._waiting >= self._max_waiting:
            raise HashingBusy
        self._waiting += 1
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise HashingBusy from None
        finally:
            self._waiting -= 1

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
