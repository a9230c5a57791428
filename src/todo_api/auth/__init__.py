"""Who is calling: token verification, the current-user dependency, user rows.

The face other rooms use (pyproject.toml's contract "Other rooms use auth only through its
face"): this package alone. It re-exports who is calling and the users, the errors other rooms
raise, and what a long-lived grant is bound to (`Credential`). Everything else of auth is its
own and that of the rooms built on it.
"""

from todo_api.auth.credentials import Credential
from todo_api.auth.credentials import Kind as CredentialKind
from todo_api.auth.credentials import ended as ended_credentials
from todo_api.auth.credentials import of as credential_of
from todo_api.auth.dependencies import MCP_PATH, Caller, authenticate, caller, require_write
from todo_api.auth.errors import EmailUnavailable, InvalidToken, Unauthorized
from todo_api.auth.hashed_tokens import KnownTokens
from todo_api.auth.identity import Identity
from todo_api.auth.personal import list_tokens as list_personal_tokens
from todo_api.auth.profile import SeenProfiles
from todo_api.auth.users import KnownUsers, ensure_user

__all__ = [
    "MCP_PATH",
    "Caller",
    "Credential",
    "CredentialKind",
    "EmailUnavailable",
    "Identity",
    "InvalidToken",
    "KnownTokens",
    "KnownUsers",
    "SeenProfiles",
    "Unauthorized",
    "authenticate",
    "caller",
    "credential_of",
    "ended_credentials",
    "ensure_user",
    "list_personal_tokens",
    "require_write",
]
