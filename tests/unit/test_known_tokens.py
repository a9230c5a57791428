"""What a process keeps of the personal tokens it looked up: only while revocations are heard,
never a lookup that a revocation overtook, and nothing of a revoked token."""

import uuid

from todo_api.auth.hashed_tokens import KnownToken, KnownTokens
from todo_api.auth.identity import Identity
from todo_api.live import wakeups


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


def test_a_revocation_message_asks_for_confirmation_and_still_reads_as_a_list_of_ids() -> None:
    """Each message of a revocation carries its own nonce; a process that only reads ids (an
    earlier version's `parse`) skips the nonce and forgets every token."""
    token_ids = [uuid.uuid4() for _ in range(wakeups.MAX_IDS + 1)]
    sent = list(wakeups.revocations(token_ids))
    assert len(sent) == 2
    assert len({nonce for nonce, _message in sent}) == 2
    read: list[uuid.UUID] = []
    for nonce, message in sent:
        assert len(message.encode()) < 8000  # NOTIFY's limit
        assert wakeups.confirmation_asked(message) == nonce
        kind, ids = wakeups.parse(message)
        assert kind == wakeups.REVOKED
        read += ids
    assert read == token_ids
    assert wakeups.confirmation_asked(next(wakeups.messages(wakeups.REVOKED, token_ids))) is None


def test_a_revocation_names_deleted_users_apart_and_still_reads_as_a_list_of_ids() -> None:
    """A deleted user's id is read as an id of the revocation (an earlier version's `parse`
    ends their streams with it) and, apart, as a deleted user; a token's only as an id."""
    token_id, user = uuid.uuid4(), uuid.uuid4()
    [(_nonce, message)] = wakeups.revocations([token_id], [user])
    assert wakeups.parse(message) == (wakeups.REVOKED, [token_id, user])
    assert wakeups.deleted_users(message) == [user]
    [(_nonce, revoked)] = wakeups.revocations([token_id])
    assert wakeups.deleted_users(revoked) == []
