"""Who may create an account: REGISTRATION=open|invite|closed.

`open`: anyone; `invite`: whoever holds a list invitation token (the new account joins that
list in the same transaction, so a refused invitation leaves no account behind); `closed`:
nobody (403 FORBIDDEN), a first sign-in with the identity provider included. An invitation
given when registration is open is taken as well.

Joining a list is the lists domain's work, which this layer may not import: the application
hands it in (`Invitations`), as a function that says whether the token let the user in.
"""

import uuid
from collections.abc import Awaitable, Callable

from todo_api.auth.errors import InvitationRequired, RegistrationClosed
from todo_api.config import Settings
from todo_api.db import Connection

# (connection, the new user's id, the invitation token) -> whether the token was good.
Join = Callable[[Connection, uuid.UUID, str], Awaitable[bool]]


class Invitations:
    """How a new account joins the list of an invitation (the lists domain's `join`)."""

    def __init__(self, join: Join) -> None:
        self.join = join


def check_open(settings: Settings, invitation: str | None) -> None:
    """Refuse, before any work, a registration the policy cannot let through."""
    if settings.registration == "closed":
        raise RegistrationClosed
    if settings.registration == "invite" and not invitation:
        raise InvitationRequired


async def admit(
    conn: Connection, invitations: Invitations, user_id: uuid.UUID, invitation: str | None
) -> None:
    """Let the new account (inserted in the caller's transaction) join its invitation's list;
    InvitationRequired, undoing the account with the transaction, for a token unknown,
    expired or revoked."""
    if invitation and not await invitations.join(conn, user_id, invitation):
        raise InvitationRequired
