"""The check that a built-in sign-in's access token still works (its `sign_in` claim): a
sign-in is a refresh family (todo_api.accounts.service), working while none of its refresh
tokens is revoked; ending one is told to every process as a revocation of its id.

`LiveSignIns` keeps, per process, the sign-ins it found working lately, so that an access
token costs no lookup per request; on the rules of `KnownTokens` (todo_api.auth.personal): only
while revocations are heard (`trusted`), never past KNOWN_TOKEN_SECONDS, and not across any
revocation heard (its `generation` moving forgets them all: revocations are rare, and a
forgotten sign-in costs one lookup). Without the channel every request looks its sign-in up.
"""

import time
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, func, select

from todo_api.auth.errors import InvalidToken
from todo_api.auth.hashed_tokens import KNOWN_TOKEN_SECONDS, KnownTokens
from todo_api.db import Connection, Database, Query
from todo_api.tables.users import refresh_tokens

LIVE_SIGN_INS_MAX = 10_000
rt = refresh_tokens.c


# Whether the sign-in has tokens and none of them revoked (revoking one revokes it): one row,
# which a statement reading something else (the web app's user row) can join to answer it too.
STATE = (
    select(
        func.count().label("sign_in_issued"),
        func.count(rt.revoked_at).label("sign_in_revoked"),
    )
    .where(rt.family_id == bindparam("family_id"))
    .subquery("sign_in_state")
)
_STATE = Query(select(STATE), any_plan=True)


def working(state: Mapping[str, Any]) -> bool:
    """Whether a row with STATE's columns says the sign-in works."""
    return bool(state["sign_in_issued"]) and not state["sign_in_revoked"]


async def works(conn: Connection, sign_in: uuid.UUID) -> bool:
    return working((await conn.execute(_STATE, {"family_id": sign_in})).one())


class LiveSignIns:
    """The sign-ins this process found working lately (see the module's docstring)."""

    def __init__(self, known: KnownTokens, max_age: float = KNOWN_TOKEN_SECONDS) -> None:
        self._known = known
        self._max_age = max_age
        self._entries: dict[uuid.UUID, tuple[float, int]] = {}  # -> good until, generation

    def known(self, sign_in: uuid.UUID) -> int | None:
        """None if the sign-in was found working lately (no lookup needed); else the
        generation to hand `found_working` once a lookup says it works."""
        entry = self._entries.get(sign_in)
        generation = self._known.generation
        if entry is not None:
            good_until, seen_in = entry
            if seen_in == generation and time.monotonic() < good_until and self._known.trusted():
                return None
            del self._entries[sign_in]
        return generation

    def found_working(self, sign_in: uuid.UUID, generation: int) -> None:
        """A lookup begun at `generation` found the sign-in working: kept, unless a revocation
        was heard since (or revocations are not heard now)."""
        if generation == self._known.generation and self._known.trusted():
            if len(self._entries) >= LIVE_SIGN_INS_MAX:
                del self._entries[next(iter(self._entries))]
            self._entries[sign_in] = (time.monotonic() + self._max_age, generation)

    async def check(self, db: Database, sign_in: uuid.UUID) -> None:
        """401 INVALID_TOKEN unless the sign-in still works."""
        generation = self.known(sign_in)
        if generation is None:
            return
        async with db.connection() as conn:
            if not await works(conn, sign_in):
                raise InvalidToken("The sign-in has ended; sign in again")
        self.found_working(sign_in, generation)
