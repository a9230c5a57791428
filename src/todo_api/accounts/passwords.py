"""Password hashing (Argon2id): off the event loop, a bounded number at once, and with equal
cost for unknown emails.

Each hash takes about a fifth of a second of CPU (spread over 4 lanes) and 64 MiB of memory at
the default cost, so a flood of sign-ins must not run them all at once, nor hold a database
connection while one runs (the callers look the account up, let the connection go, then
hash). At most `concurrency` hashes run, in threads of their own; a sign-in that finds them
all busy waits a short time behind a bounded queue, and past that is refused with 429, so that
a flood is answered quickly and costs others nothing.

The cost is Argon2's own default (RFC 9106's second recommendation: 64 MiB, 3 passes, 4
lanes), which pwdlib uses; a small machine may lower the memory and passes down to OWASP's
floor for Argon2id (19 MiB, 2 passes: `PASSWORD_HASH_MEMORY_KIB`,
`PASSWORD_HASH_ITERATIONS`). A stored hash names the cost it was made with, so it verifies
whatever the settings say now; a sign-in with a hash made at another cost hashes the password
again at the current one (`verify_and_update`), so that every account's check, and the dummy
one for an unknown email, come to cost the same.
"""

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from todo_api.auth.errors import HashingBusy

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
LANES = 4  # Argon2's default parallelism (it is part of a hash)

T = TypeVar("T")


class PasswordHashing:
    """Hashes and verifies passwords, at most `concurrency` at once (default: one per CPU)."""

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        max_waiting: int,
        max_wait_seconds: float,
        memory_kib: int,
        iterations: int,
    ) -> None:
        concurrency = concurrency or os.cpu_count() or 1
        self._slots = asyncio.Semaphore(concurrency)
        # Threads of its own: a hash whose request went away still finishes in one of them,
        # so no more than `concurrency` ever run, and other thread work never queues behind.
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="password-hash")
        self._max_waiting = max_waiting
        self._max_wait = max_wait_seconds
        self._waiting = 0
        argon2 = Argon2Hasher(time_cost=iterations, memory_cost=memory_kib, parallelism=LANES)
        self._hasher = PasswordHash((argon2,))

    @cached_property
    def _dummy_hash(self) -> str:
        # Verified against when the email is unknown, so that a failed login costs the same
        # time whether or not the account exists.
        return self._hasher.hash("a password that no account has")

    def _verify(self, password: str, password_hash: str | None) -> bool:
        if password_hash is None:
            self._hasher.verify(password, self._dummy_hash)
            return False
        return self._hasher.verify(password, password_hash)

    def _verify_and_update(
        self, password: str, password_hash: str | None
    ) -> tuple[bool, str | None]:
        if password_hash is None:
            return self._verify(password, None), None
        return self._hasher.verify_and_update(password, password_hash)

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """True when the password matches; with no hash (no such account) it still does the
        work, so that the answer takes as long."""
        return await self._run(self._verify, password, password_hash)

    async def verify_and_update(
        self, password: str, password_hash: str | None
    ) -> tuple[bool, str | None]:
        """As `verify`; and, when the password matches a hash made at another cost than the
        settings say now, a new hash of it at the current cost (else None)."""
        return await self._run(self._verify_and_update, password, password_hash)

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
