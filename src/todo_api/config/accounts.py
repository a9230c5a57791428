"""The settings of signing in: the tokens the service signs and checks (JWT_*), an external
issuer's keys or sessions (JWKS, Better Auth), the built-in accounts (who may register, email
verification, the tokens' lives, attempts allowed, password hashing), signing in with an OpenID
Connect provider, and the authorization server /mcp names. A group of its own, which
`todo_api.config.Settings` inherits."""

import os
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

MIN_SECRET_BYTES = 32
# Argon2id's cost for new password hashes: Argon2's default (RFC 9106's second choice, which
# pwdlib uses), and OWASP's floor for it (todo_api.accounts.passwords).
DEFAULT_HASH_MEMORY_KIB, DEFAULT_HASH_ITERATIONS = 65536, 3
MIN_HASH_MEMORY_KIB, MIN_HASH_ITERATIONS = 19456, 2

EmailVerification = Literal["off", "optional", "required"]
# Who may create an account (REGISTRATION).
Registration = Literal["open", "invite", "closed"]


def secret_variable() -> str:
    """The name the secret was given by (JWT_SECRET wins over its alias BETTER_AUTH_SECRET, as
    the setting reads them), for an error to name what the operator wrote."""
    names = {name.upper() for name in os.environ}
    if "JWT_SECRET" in names or "BETTER_AUTH_SECRET" not in names:
        return "JWT_SECRET"
    return "BETTER_AUTH_SECRET"


class AccountSettings(BaseSettings):
    jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("JWT_SECRET", "BETTER_AUTH_SECRET", "jwt_secret"),
    )
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    # An external issuer's public keys (Better Auth: https://your-frontend/api/auth/jwks).
    jwt_jwks_url: str | None = None
    # Least time between two fetches of the key set (for a `kid` it does not know yet).
    jwt_jwks_min_refetch_seconds: float = Field(default=1, ge=0, le=3600)
    # A Better Auth server (https://your-frontend): its session tokens (the `bearer` plugin's)
    # are checked with its /api/auth/get-session, and each answer kept this long at most.
    better_auth_url: str | None = None
    better_auth_session_cache_seconds: float = Field(default=60, ge=0, le=3600)
    # The service's own accounts (register, login, token, refresh, logout); None means "on
    # unless JWT_JWKS_URL is set", since an external issuer then owns sign-up and sign-in.
    builtin_accounts: bool | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # A refresh token exchanged again this soon after its first exchange (two tabs at once)
    # gets new tokens of the same family instead of being treated as stolen; 0 turns it off.
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=300)
    # Attempts allowed per window. Sign-in (login and token): ATTEMPTS per client address and
    # email, ADDRESS_ATTEMPTS per address (default 3x) and EMAIL_ATTEMPTS per email from any
    # address (default 10x). Register: ATTEMPTS per address and per email; refresh: per address;
    # an OAuth client's registration (/oauth/register): ATTEMPTS per address.
    auth_rate_limit_attempts: int = Field(default=10, ge=1)
    auth_rate_limit_address_attempts: int | None = Field(default=None, ge=1)
    auth_rate_limit_email_attempts: int | None = Field(default=None, ge=1)
    auth_rate_limit_window_seconds: int = Field(default=60, ge=1)
    # Password hashing (Argon2: CPU time and 64 MiB each) runs at most this many at once per
    # process (unset: one per CPU). A sign-in or registration that finds them all busy waits
    # up to PASSWORD_HASH_MAX_WAIT_SECONDS, behind at most PASSWORD_HASH_QUEUE others;
    # otherwise it gets 429 with Retry-After.
    password_hash_concurrency: int | None = Field(default=None, ge=1, le=256)
    password_hash_queue: int = Field(default=32, ge=0)
    password_hash_max_wait_seconds: float = Field(default=5, ge=0, le=60)
    # Argon2id's memory and passes for new hashes (todo_api.accounts.passwords): Argon2's
    # default, lowered on a small machine no further than OWASP's floor.
    password_hash_memory_kib: int = Field(
        default=DEFAULT_HASH_MEMORY_KIB, ge=MIN_HASH_MEMORY_KIB, le=4 * 1024 * 1024
    )
    password_hash_iterations: int = Field(
        default=DEFAULT_HASH_ITERATIONS, ge=MIN_HASH_ITERATIONS, le=64
    )
    # Where an account email links to: a frontend's page, `{action}` (reset-password,
    # verify-email) and `{token}` standing for what it does and its token
    # (https://app.example.com/account/{action}?token={token}). Unset: the service's own pages
    # under PUBLIC_URL.
    account_url_template: str | None = None
    # Whether a built-in account's email is confirmed by a link: `off`, `optional` (a link is
    # sent; signing in does not wait for it) or `required` (no sign-in before it). Unset:
    # optional with SMTP_URL (and a base for links), else off.
    email_verification: EmailVerification | None = None
    # The authorization server that /mcp's protected resource metadata names when an external
    # issuer (JWT_JWKS_URL) signs /mcp's tokens; unset: JWT_ISSUER.
    oauth_issuer: str | None = None
    # Signing in with an OpenID Connect provider (todo_api.accounts.oidc): its issuer URL (its
    # metadata is read from {OIDC_ISSUER}/.well-known/openid-configuration), this service's
    # client id and secret there, and the name its button shows. Needs PUBLIC_URL (the
    # provider sends people back to {PUBLIC_URL}/api/auth/oidc/callback) and built-in accounts.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_name: str = Field(default="single sign-on", min_length=1, max_length=100)
    # Who may create an account: anyone (`open`), holders of a list invitation (`invite`), or
    # nobody (`closed`); a first sign-in with the identity provider creates one too.
    registration: Registration = "open"

    @field_validator("account_url_template")
    @classmethod
    def _account_url_template(cls, template: str | None) -> str | None:
        if template is None or not template.strip():
            return None
        template = template.strip()
        parts = urlsplit(template.replace("{action}", "a").replace("{token}", "0"))
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("ACCOUNT_URL_TEMPLATE must be an absolute http:// or https:// URL")
        if "{token}" not in template:
            raise ValueError("ACCOUNT_URL_TEMPLATE must say where the link's token goes: {token}")
        return template

    @field_validator("oidc_issuer")
    @classmethod
    def _oidc_issuer(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip()  # kept as given: an issuer is compared exactly (a trailing / counts)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("OIDC_ISSUER must be an absolute https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("OIDC_ISSUER must not have a query or a fragment")
        return url

    @property
    def builtin_accounts_enabled(self) -> bool:
        if self.builtin_accounts is None:
            return not self.jwt_jwks_url
        return self.builtin_accounts

    @property
    def oidc_enabled(self) -> bool:
        """Whether people may sign in with the OpenID Connect provider (todo_api.accounts.oidc)."""
        return self.oidc_issuer is not None and self.builtin_accounts_enabled

    @property
    def login_address_attempts(self) -> int:
        return self.auth_rate_limit_address_attempts or 3 * self.auth_rate_limit_attempts

    @property
    def login_email_attempts(self) -> int:
        return self.auth_rate_limit_email_attempts or 10 * self.auth_rate_limit_attempts
