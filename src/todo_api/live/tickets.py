"""Single-use tickets: `POST /api/events/ticket` makes one for the caller, and
`GET /api/events?ticket=...` uses it instead of the Authorization header that a browser's
EventSource cannot send. Kept as SHA-256 hashes in the database, so that every process and
instance agrees that a ticket is used once: using one deletes it in the statement that
checks it.

A browser's EventSource also reconnects by itself (after a restart, a deploy, a network blip)
to the same URL, whose ticket is spent by then. So the ticket's answer also sets a cookie for
`/api/events` alone (`HttpOnly`, `Secure`, `SameSite=None`: the frontend is on another origin),
good for STREAM_COOKIE_HOURS, which the stream takes when the ticket no longer opens it: the
page stays live for as long as it is open, with no code of its own. The cookie opens streams
only (it is read nowhere else), which only read.

The ticket and the cookie carry, signed, the credential that asked for them
(todo_api.auth.credentials: the personal token, the built-in sign-in, or the user of an
external issuer's token), and open a stream only while it works: a revoked token, an ended
sign-in or a deleted user makes them 401, and the streams they opened end.
"""

import hashlib
import secrets
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete

from todo_api.auth import Credential, CredentialKind
from todo_api.db import Connection, Query, insert_bound
from todo_api.kit.ids import utcnow
from todo_api.kit.signing import InvalidToken, Signer
from todo_api.tables.live import event_tickets

TICKET_SECONDS = 60
STREAM_COOKIE = "todo_api_events"
STREAM_COOKIE_HOURS = 12

_ISSUE = Query(insert_bound(event_tickets, "token_hash", "user_id", "expires_at"))
_USE = Query(
    delete(event_tickets).where(
        event_tickets.c.token_hash == bindparam("token_hash"),
        event_tickets.c.expires_at > bindparam("now"),
    )
)
COOKIE_PURPOSE, TICKET_PURPOSE = STREAM_COOKIE, "ticket"


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def issue(conn: Connection, user_id: uuid.UUID, sealed: str) -> tuple[str, datetime]:
    """A new ticket for `user_id`, carrying its credential (`StreamCookies.seal`), and when it
    expires."""
    ticket = f"{secrets.token_urlsafe(32)}.{sealed}"
    expires_at = utcnow() + timedelta(seconds=TICKET_SECONDS)
    params = {"token_hash": _hash(ticket), "user_id": user_id, "expires_at": expires_at}
    await conn.execute(_ISSUE, params)
    return ticket, expires_at


async def use(conn: Connection, ticket: str) -> bool:
    """Whether the ticket is valid, using it up; False when it is used, expired or unknown."""
    used = await conn.execute(_USE, {"token_hash": _hash(ticket), "now": utcnow()})
    return bool(used.rowcount)


class StreamCookies:
    """A credential, signed, for the stream cookie's value or inside a ticket."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "todo-api event stream cookie")

    def seal(self, credential: Credential, purpose: str) -> str:
        c = credential
        fields = [c.user_id.hex, c.kind.value, c.id.hex if c.id else None, c.expires_at, c.seen_at]
        return self._signer.dumps(fields, purpose)

    def read(self, value: str, purpose: str = COOKIE_PURPOSE) -> Credential | None:
        """The credential a cookie (or a ticket: `purpose`) carries, or None when it is not
        one this service signed (for that purpose), or expired."""
        if purpose == TICKET_PURPOSE:
            value = value.partition(".")[2]
        try:
            user_hex, kind, credential_hex, expires, seen = self._signer.loads(value, purpose)
            credential = Credential(
                uuid.UUID(hex=user_hex),
                CredentialKind(kind),
                None if credential_hex is None else uuid.UUID(hex=credential_hex),
                None if expires is None else float(expires),
                float(seen),
            )
        except (InvalidToken, TypeError, ValueError):  # a cookie of an earlier release too
            return None
        return None if credential.expired(time.time()) else credential
