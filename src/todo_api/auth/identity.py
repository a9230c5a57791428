"""Who a verified token speaks for: what every check of a credential answers, and what the
rest of the service reads of the caller."""

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a verified token speaks for."""

    user_id: uuid.UUID
    subject: str
    email: str | None
    name: str | None = None
    issued_at: float | None = None  # the token's `iat`, when it has a usable one
    # What the token may do: None for a signed-in session (a JWT, a Better Auth session),
    # which may do everything; a personal token's `read` or `write`.
    scope: str | None = None
    token_id: uuid.UUID | None = None  # the personal or OAuth access token's id
    # Where the token may be used: None anywhere a token is taken; "mcp" at /mcp only (an
    # OAuth access token, whose audience is the MCP resource).
    audience: str | None = None
    grant_id: uuid.UUID | None = None  # an OAuth access token's grant
    # A built-in sign-in's access token: the sign-in (its refresh family) that issued it.
    sign_in: uuid.UUID | None = None
    expires_at: float | None = None  # Unix seconds; None: never (a personal token may not)

    @property
    def may_create_user(self) -> bool:
        """Whether the subject becomes a user when it has none: only for an external
        issuer's token. This service's own tokens (personal, OAuth, a built-in sign-in's)
        belong to a user that exists, and are refused once it is deleted."""
        return self.token_id is None and self.grant_id is None and self.sign_in is None
