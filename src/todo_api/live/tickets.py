"""Single-use tickets: `POST /api/events/ticket` makes one for the caller, and
`GET /api/events?ticket=...` uses it instead of the Authorization header that a browser's
EventSource cannot send. Kept as SHA-256 hashes in the database, so that every process and
instance agrees that a ticket is used once: using one deletes it in the statement that
checks it.

A browser's EventSource also reconnects by itself (after a restart, a deploy, a network blip)
to the same URL, whose ticket is spent by then. So the ticket's answer also sets a cookie for
`/api/events` alone (`HttpOnly`, `Secure`, `SameSite=None`: the frontend is on another origin),
signed for its user and good for STREAM_COOKIE_HOURS, which the stream takes when the ticket no
longer opens it: the page stays live for as long as it is open, with no code of its own. The
cookie opens streams only (it is read nowhere else), which only read.
"""

import hashlib
import secrets
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete

from todo_api.db import Connection, Query, insert_bound
from todo_api.kit.ids import utcnow
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables.live import event_tickets

TICKET_SECONDS = 60
STREAM_COOKIE = "todo_api_events"
STREAM_COOKIE_HOURS = 12

_ISSUE = Query(insert_bound(event_tickets, "token_hash", "user_id", "expires_at"))
_USE = Query(
    delete(event_tickets)
    .where(
        event_tickets.c.token_hash == bindparam("token_hash"),
        event_tickets.c.expires_at > bindparam("now"),
    )
    .returning(event_tickets.c.user_id)
)


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue(conn: Connection, user_id: uuid.UUID) -> tuple[str, datetime]:
    """A new ticket for `user_id`, and when it expires."""
    ticket = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=TICKET_SECONDS)
    params = {"token_hash": _hash(ticket), "user_id": user_id, "expires_at": expires_at}
    await conn.execute(_ISSUE, params)
    return ticket, expires_at


async def use(conn: Connection, ticket: str) -> uuid.UUID | None:
    """The user of a valid ticket, which is then used up; None when it is used, expired or
    unknown."""
    row = (await conn.execute(_USE, {"token_hash": _hash(ticket), "now": utcnow()})).first()
    return None if row is None else row.user_id


class StreamCookies:
    """The stream cookie's value: its user and when it expires, signed."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "todo-api event stream cookie")

    def issue(self, user_id: uuid.UUID) -> str:
        expires = int(time.time()) + STREAM_COOKIE_HOURS * 3600
        return self._signer.dumps([user_id.hex, expires], STREAM_COOKIE)

    def read(self, value: str) -> uuid.UUID | None:
        """The cookie's user, or None when it is not one this service signed, or expired."""
        try:
            user_hex, expires = self._signer.loads(value, STREAM_COOKIE)
            user_id = uuid.UUID(hex=user_hex)
            alive = time.time() < float(expires)
        except (InvalidToken, TypeError, ValueError):
            return None
        return user_id if alive else None
