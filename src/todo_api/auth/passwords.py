"""Password hashing (Argon2id), off the event loop, with equal cost for unknown emails."""

import asyncio
from functools import cache

from pwdlib import PasswordHash

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so that a failed login costs the same time
    # whether or not the account exists.
    return _hasher().hash("a password that no account has")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """True when the password matches; with no hash (no such account) it still does the work."""
    if password_hash is None:
        await asyncio.to_thread(_hasher().verify, password, _dummy_hash())
        return False
    return await asyncio.to_thread(_hasher().verify, password, password_hash)
