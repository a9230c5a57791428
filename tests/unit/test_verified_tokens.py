"""The memory of verified tokens: bounded in entries and in age, never past a token's expiry."""

import uuid

from todo_api.auth.identity import Identity
from todo_api.auth.tokens import VERIFIED_TOKEN_MAX_LENGTH, VerifiedTokens


def identity() -> Identity:
    return Identity(user_id=uuid.uuid4(), subject="s", email=None)


def test_an_entry_serves_until_the_token_expires() -> None:
    tokens = VerifiedTokens(max_age=60)
    who = identity()
    tokens.add("t", who, key=None, expires=1000.0, now=990.0)
    assert tokens.get("t", 999.9) == (who, None)
    assert tokens.get("t", 1000.0) is None
    assert len(tokens) == 0  # dropped: the next use verifies the token in full


def test_an_entry_serves_no_longer_than_the_maximum_age() -> None:
    tokens = VerifiedTokens(max_age=60)
    tokens.add("t", identity(), key=None, expires=1e300, now=0.0)  # a far exp is no problem
    assert tokens.get("t", 59.0) is not None
    assert tokens.get("t", 60.0) is None


def test_the_oldest_entries_make_room() -> None:
    tokens = VerifiedTokens(max_entries=3)
    for name in "abcd":
        tokens.add(name, identity(), key=None, expires=100.0, now=0.0)
    assert len(tokens) == 3
    assert tokens.get("a", 1.0) is None
    assert all(tokens.get(name, 1.0) is not None for name in "bcd")


def test_very_long_tokens_are_not_kept() -> None:
    tokens = VerifiedTokens()
    tokens.add("x" * (VERIFIED_TOKEN_MAX_LENGTH + 1), identity(), key=None, expires=100.0, now=0.0)
    assert len(tokens) == 0
