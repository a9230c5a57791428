"""What a process keeps of the personal tokens it looked up: only while revocations are heard,
never a lookup that a revocation overtook, and nothing of a revoked token."""

import uuid

from todo_api.auth.personal import KnownToken, KnownTokens
from todo_api.auth.tokens import Identity


def entry() -> KnownToken:
    identity = Identity(
        user_id=uuid.uuid4(), subject="s", email=None, scope="read", token_id=uuid.uuid4()
    )
    return KnownToken(identity, None, None, 0.0)


def hearing() -> KnownTokens:
    known = KnownTokens()
    known.trusted = lambda: True
    return known


def test_nothing_is_kept_while_revocations_are_not_heard() -> None:
    known = KnownTokens()  # no channel
    known.add("h", entry(), known.generation)
    assert known.get("h") is None
    heard = [True]
    known.trusted = lambda: heard[0]
    known.add("h", entry(), known.generation)
    assert known.get("h") is not None
    heard[0] = False  # the channel went down: what is kept is not used
    assert known.get("h") is None


def test_a_revoked_token_is_forgotten_and_a_lookup_it_overtook_is_not_kept() -> None:
    known = hearing()
    kept, other = entry(), entry()
    known.add("a", kept, known.generation)
    known.add("b", other, known.generation)
    started = known.generation  # a lookup of "c" begins...
    assert kept.identity.token_id is not None
    known.forget([kept.identity.token_id])  # ...a revocation is heard meanwhile...
    known.add("c", entry(), started)  # ...and what it read may be stale: not kept
    assert known.get("a") is None
    assert known.get("c") is None
    assert known.get("b") is other


def test_a_reconnected_channel_forgets_everything() -> None:
    known = hearing()
    known.add("a", entry(), known.generation)
    known.clear()
    assert known.get("a") is None
    assert len(known) == 0


def test_an_entry_is_kept_no_longer_than_its_maximum_age() -> None:
    known = KnownTokens(max_age=0.0)
    known.trusted = lambda: True
    known.add("a", entry(), known.generation)
    assert known.get("a") is None
