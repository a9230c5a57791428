"""Who is calling: token verification, the current-user dependency, user rows.

The face other rooms use (pyproject.toml's contract "Other rooms use auth only through its
face"): this package for who is calling and the users, `auth.errors` for its errors, and
`auth.credentials` for what a long-lived grant is bound to. Everything else of auth is its own.
"""

from todo_api.auth.dependencies import MCP_PATH, Caller, authenticate, caller, require_write
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.identity import Identity
from todo_api.auth.personal import list_tokens as list_personal_tokens
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.users import KnownUsers, ensure_user

__all__ = [
    "MCP_PATH",
    "Caller",
    "Identity",
    "KnownTokens",
    "KnownUsers",
    "SeenProfiles",
    "authenticate",
    "caller",
    "ensure_user",
    "list_personal_tokens",
    "require_write",
]
