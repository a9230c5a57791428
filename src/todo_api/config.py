"""Settings from the environment (or a `.env` file), with URL normalisation and secret checks."""

import base64
import functools
import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from todo_api import config_replicas
from todo_api.config_attachments import AttachmentSettings
from todo_api.config_brand import BrandSettings
from todo_api.config_inbound import InboundSettings
from todo_api.config_replicas import ReplicaSettings

log = logging.getLogger("todo_api")

MIN_SECRET_BYTES = 32
# Also allowed by default in development: the same local frontend, opened by address.
DEVELOPMENT_ORIGIN = "http://127.0.0.1:3000"
SECRET_FILE_NAME, SQLITE_FILE_NAME = "jwt_secret", "todo.db"
# Bounds of WEBHOOK_RETRY_SCHEDULE: a week per delay, twenty retries.
MAX_RETRY_DELAY_SECONDS, MAX_RETRIES = 7 * 86400, 20
# Argon2id's cost for new password hashes: Argon2's default (RFC 9106's second choice, which
# pwdlib uses), and OWASP's floor for it (todo_api.accounts.passwords).
DEFAULT_HASH_MEMORY_KIB, DEFAULT_HASH_ITERATIONS = 65536, 3
MIN_HASH_MEMORY_KIB, MIN_HASH_ITERATIONS = 19456, 2
# VAPID keys (RFC 8292) as pywebpush takes them: a P-256 point, uncompressed; its scalar.
VAPID_KEYS = {
    "VAPID_PUBLIC_KEY": (65, "a 65-byte uncompressed P-256 point"),
    "VAPID_PRIVATE_KEY": (32, "a 32-byte P-256 private key"),
}

# SMTP_URL's value that writes emails to the log instead of sending them (development).
CONSOLE_MAIL = "console"
# The file pydantic-settings reads beside the environment (in the working directory).
ENV_FILE = ".env"
# Names that are no field of Settings but are read all the same: `todo-api serve` takes HOST
# and PORT from the environment; compose takes POSTGRES_PASSWORD from the same `.env`
# (.env.example).
OTHER_VARIABLES = frozenset({"HOST", "PORT", "POSTGRES_PASSWORD"})

# libpq options that people paste in URLs and asyncpg does not take as keywords.
_LIBPQ_ONLY_PARAMS = frozenset(
    ["sslmode", "channel_binding", "sslrootcert", "sslcert", "sslkey", "gssencmode"]
)


class Environment(StrEnum):
    development = "development"
    production = "production"


class ConfigError(ValueError):
    """Raised when the configuration cannot be used; the message names the variable."""


# How log lines are written: text for people, JSON for machines.
LogFormat = Literal["text", "json"]
EmailVerification = Literal["off", "optional", "required"]
# Who may create an account (REGISTRATION).
Registration = Literal["open", "invite", "closed"]


def _secret_variable() -> str:
    """The name the secret was given by (JWT_SECRET wins over its alias BETTER_AUTH_SECRET, as
    the setting reads them), for an error to name what the operator wrote."""
    names = {name.upper() for name in os.environ}
    if "JWT_SECRET" in names or "BETTER_AUTH_SECRET" not in names:
        return "JWT_SECRET"
    return "BETTER_AUTH_SECRET"


class Settings(AttachmentSettings, BrandSettings, InboundSettings, ReplicaSettings, BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", populate_by_name=True)

    env: Environment = Environment.development
    database_url: str | None = None
    # Where migrations run when DATABASE_URL is a pooler in transaction mode (Neon's pooled
    # URL): advisory locks need a session. Unset: DATABASE_URL.
    database_direct_url: str | None = None
    # At start-up, an unreachable database is tried again for this long, then the process
    # exits (non-zero) with one line.
    database_connect_timeout: float = Field(default=30, ge=0, le=3600)
    # A migration that does not get its lock within lock_timeout is tried again, this many
    # times in all, with a pause between (migrations/online.py).
    migration_lock_attempts: int = Field(default=8, ge=1, le=100)
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
    # The web app at /app/ (todo_api.web): on or off. Its pages need the built-in accounts;
    # without them /app/ is a page saying so.
    web_app: bool = True
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
    redis_url: str | None = None
    # A retried POST with the same Idempotency-Key gets the first response for this long.
    idempotency_key_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Deleted tasks are remembered for the change feed this long; older sync tokens get 410.
    sync_retention_days: int = Field(default=30, ge=1, le=3650)
    # The activity of lists and tasks (todo_api.collaboration) is kept this long.
    activity_retention_days: int = Field(default=90, ge=1, le=3650)
    # A transaction open this long holds every user's change feed back: the log names it (at
    # most once a check, every this many seconds). `feed_lag_seconds` in /metrics says how long.
    feed_lag_warn_seconds: float = Field(default=10, gt=0, le=3600)
    # Live updates (GET /api/events): open streams per user in each process (the next one is
    # 429), and the seconds between two `: keep-alive` comments on an idle stream.
    event_streams_per_user: int = Field(default=10, ge=1, le=1000)
    event_keepalive_seconds: float = Field(default=15, gt=0, le=300)
    # Webhooks (todo_api.webhooks): an attempt's time limit; the delays before each retry,
    # counted from the end of the failed attempt (comma-separated seconds: a delivery makes at
    # most 1 + len attempts, then is `failed`); failed deliveries in a row that disable a
    # webhook; whether a URL may point at a loopback, private or otherwise non-global address
    # (development, tests, a private network); how often each process looks for due
    # deliveries when nothing woke it; and how long ended deliveries are kept.
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=50)
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = (
        5,
        300,
        1800,
        7200,
        18000,
        36000,
    )
    webhook_disable_after: int = Field(default=10, ge=1, le=1000)
    webhook_allow_private_urls: bool = False
    webhook_poll_seconds: float = Field(default=1, gt=0, le=60)
    webhook_retention_days: int = Field(default=30, ge=1, le=3650)
    # Reminders (todo_api.reminders): the mail server (`smtp://` with STARTTLS when it offers
    # it, `smtps://` for TLS from the start; `user:password@` when it wants a login; unset: no
    # email, events only) and the sender's address; how late a reminder missed while the
    # service was down may still fire (hours, fractions allowed); an email attempt's time
    # limit and the delays before each retry (comma-separated seconds, like the webhooks');
    # and the longest a scheduler sleeps with nothing due (a write wakes it sooner).
    # `console` writes each email to the log instead (trying the account flows on a laptop).
    smtp_url: SecretStr | None = None
    reminder_email_from: str = "todo-api@localhost"
    reminder_max_late_hours: float = Field(default=24, ge=0, le=24 * 365)
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=50)
    reminder_email_retry_schedule: Annotated[tuple[float, ...], NoDecode] = (
        60,
        300,
        1800,
        7200,
        21600,
    )
    reminder_sleep_seconds: float = Field(default=60, gt=0, le=3600)
    # Notifications (todo_api.notifications): when the daily digest goes, on each recipient's
    # clock (HH:MM), and how often the changes are read for new notifications and due emails.
    notification_digest_time: str = Field(
        default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
    )
    notification_poll_seconds: float = Field(default=2, gt=0, le=60)
    # Reminders by Web Push (todo_api.push): the VAPID key pair (VAPID_KEYS; unset: no push),
    # and the contact the push services are given (`mailto:` or `https:`; `vapid_contact`).
    vapid_public_key: str | None = None
    vapid_private_key: SecretStr | None = None
    vapid_subject: str | None = None
    # How often expired idempotency keys and old tombstones are removed (by one worker of
    # every instance: see todo_api.kit.jobs).
    maintenance_interval_seconds: int = Field(default=600, ge=1)
    frontend_url: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    log_level: str = "INFO"
    # "text" for people, "json" (one object per line) for log collectors.
    log_format: LogFormat = "text"
    # When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: SecretStr | None = None
    data_dir: Path = Path("data")
    # Connections kept per process (as many again may open under bursts). Sized for the
    # concurrency one worker sees, so that busy periods do not open and close connections.
    database_pool_size: int = Field(default=20, ge=1, le=200)
    # asyncpg's prepared-statement cache breaks behind PgBouncer in transaction mode
    # (Neon's "-pooler" hosts); None means "off for pooler hosts, on otherwise".
    database_statement_cache: bool | None = None
    # On SIGTERM, /ready answers 503 at once; the server goes on accepting requests for
    # SHUTDOWN_DELAY_SECONDS (time for a load balancer to notice), then stops accepting and
    # gives the requests under way up to SHUTDOWN_GRACE_SECONDS to finish.
    shutdown_delay_seconds: float = Field(default=0, ge=0, le=300)
    shutdown_grace_seconds: int = Field(default=30, ge=0, le=3600)
    # A request body over this many bytes is refused with 413 before the rest is read.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    # ... except on POST /api/import, whose body is a file exported from another app.
    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    # A client gets this long to send a request's line and headers, from its first byte (or
    # from connecting); then the connection is closed.
    request_header_timeout_seconds: float = Field(default=10, gt=0, le=300)
    # ... and this long, from the end of the headers, to send the body; then the connection
    # is closed (with a 408 if the request has not been answered).
    request_body_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # An answer the client does not read for this long (the socket's buffers stay full) drops
    # the connection.
    response_send_timeout_seconds: float = Field(default=30, gt=0, le=3600)
    # Addresses or networks of the proxies whose X-Forwarded-For / X-Forwarded-Proto are
    # believed; by default nobody's, so a client cannot choose the address it is counted as.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # The base of absolute URLs (scheme, host and any path prefix), e.g.
    # https://api.example.com; never taken from the Host header. Unset: URLs are relative.
    public_url: str | None = None
    # Where a reminder email links to: a frontend's page of the task, `{id}` standing for its
    # id (https://app.example.com/tasks/{id}). Unset: the API's own URL under PUBLIC_URL.
    task_url_template: str | None = None
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

    @field_validator("frontend_url", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("frontend_url")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        if "*" in origins:
            raise ValueError(
                "FRONTEND_URL must list origins; a wildcard is refused with credentials"
            )
        return origins

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if proxy == "*":
                continue
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {proxy!r} is not an IP address or network (CIDR)"
                ) from None
        return proxies

    @field_validator("webhook_retry_schedule", "reminder_email_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: Any, info: ValidationInfo) -> Any:
        name = (info.field_name or "").upper()
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",")]
            if items == [""]:
                return ()
            try:
                return tuple(float(item) for item in items)
            except ValueError:
                raise ValueError(
                    f"{name} must be seconds separated by commas (e.g. 5,300,1800)"
                ) from None
        return value

    @field_validator("webhook_retry_schedule", "reminder_email_retry_schedule")
    @classmethod
    def _sensible_delays(cls, delays: tuple[float, ...], info: ValidationInfo) -> tuple[float, ...]:
        name = (info.field_name or "").upper()
        if len(delays) > MAX_RETRIES:
            raise ValueError(f"{name} has at most {MAX_RETRIES} delays")
        for delay in delays:
            if not 0 <= delay <= MAX_RETRY_DELAY_SECONDS:  # NaN fails too
                raise ValueError(f"{name} delays are seconds from 0 to {MAX_RETRY_DELAY_SECONDS}")
        return delays

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is None or not url.get_secret_value().strip():
            return None
        if url.get_secret_value().strip().lower() == CONSOLE_MAIL:
            return SecretStr(CONSOLE_MAIL)
        parts = urlsplit(url.get_secret_value().strip())
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("SMTP_URL must be smtp://host[:port], smtps://host[:port] or console")
        try:
            parts.port  # noqa: B018 (a port that is not a number raises)
        except ValueError:
            raise ValueError("SMTP_URL has a port that is not a number") from None
        return url

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("PUBLIC_URL must be an absolute http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("PUBLIC_URL must not have a query or a fragment")
        return url

    @field_validator("task_url_template")
    @classmethod
    def _task_url_template(cls, template: str | None) -> str | None:
        if template is None or not template.strip():
            return None
        template = template.strip()
        parts = urlsplit(template.replace("{id}", "0"))
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("TASK_URL_TEMPLATE must be an absolute http:// or https:// URL")
        if "{id}" not in template:
            raise ValueError("TASK_URL_TEMPLATE must say where the task's id goes: {id}")
        return template

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

    @field_validator("vapid_public_key", "vapid_private_key", "vapid_subject", mode="before")
    @classmethod
    def _vapid(cls, value: Any, info: ValidationInfo) -> Any:
        """Unset when empty; each key base64url of its length (kept without padding)."""
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(text, str) or not text.strip():
            return None
        name, text = str(info.field_name).upper(), text.strip()
        if name == "VAPID_SUBJECT":
            if not text.startswith(("mailto:", "https://")):
                raise ValueError("VAPID_SUBJECT must be a mailto: or https:// URL")
            return text
        size, what = VAPID_KEYS[name]
        raw = _base64url(text)
        if raw is None or len(raw) != size or (name == "VAPID_PUBLIC_KEY" and raw[0] != 4):
            raise ValueError(f"{name} must be base64url of {what} (`todo-api vapid-keys`)")
        return text.rstrip("=")

    @model_validator(mode="after")
    def _vapid_pair(self) -> Self:
        private = self.vapid_private_key.get_secret_value() if self.vapid_private_key else None
        if (self.vapid_public_key is None) != (private is None):
            raise ValueError("VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together")
        if private is not None and self.vapid_public_key != _public_of(private):
            raise ValueError("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY")
        return self

    @property
    def web_push_enabled(self) -> bool:
        return self.vapid_private_key is not None  # and so the public key

    @property
    def vapid_contact(self) -> str:
        """VAPID's `sub`: VAPID_SUBJECT, else PUBLIC_URL when https, else a mailto: of
        REMINDER_EMAIL_FROM."""
        https = self.public_url if (self.public_url or "").startswith("https://") else None
        return self.vapid_subject or https or f"mailto:{self.reminder_email_from}"

    @model_validator(mode="after")
    def _oidc_needs_a_client(self) -> Self:
        if self.oidc_issuer is None:
            return self
        if not self.oidc_client_id:
            raise ValueError("OIDC_CLIENT_ID is required with OIDC_ISSUER")
        if not self.public_url:
            raise ValueError(
                "PUBLIC_URL is required with OIDC_ISSUER: the provider sends people back to "
                "{PUBLIC_URL}/api/auth/oidc/callback"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        level = level.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"LOG_LEVEL {level!r} is not a log level")
        return level

    @model_validator(mode="after")
    def _production_needs_a_strong_secret(self) -> Self:
        if self.env is Environment.production:
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if not secret:
                raise ValueError("JWT_SECRET is required when ENV=production")
            if len(secret.encode()) < MIN_SECRET_BYTES:
                raise ValueError(
                    f"{_secret_variable()} must be at least {MIN_SECRET_BYTES} bytes "
                    "when ENV=production"
                )
        return self

    @model_validator(mode="after")
    def _production_sends_its_emails(self) -> Self:
        if self.env is Environment.production and self.mails_to_log:
            raise ValueError(
                "SMTP_URL=console writes emails (and the links in them) to the log: "
                "refused when ENV=production"
            )
        return self

    @property
    def mails_to_log(self) -> bool:
        """Whether emails are written to the log instead of sent (SMTP_URL=console)."""
        return self.smtp_url is not None and self.smtp_url.get_secret_value() == CONSOLE_MAIL

    @model_validator(mode="after")
    def _verification_needs_email(self) -> Self:
        if self.email_verification in ("optional", "required") and not self.sends_account_email:
            raise ValueError(
                f"EMAIL_VERIFICATION={self.email_verification} needs SMTP_URL, and PUBLIC_URL "
                "or ACCOUNT_URL_TEMPLATE for the links"
            )
        return self

    @property
    def sends_account_email(self) -> bool:
        """Whether account emails (with links in them) can be sent."""
        return self.smtp_url is not None and bool(self.account_url_template or self.public_url)

    @property
    def email_verification_mode(self) -> EmailVerification:
        if self.email_verification is not None:
            return self.email_verification
        return "optional" if self.sends_account_email else "off"

    @model_validator(mode="after")
    def _development_origins(self) -> Self:
        if "frontend_url" not in self.model_fields_set and self.env is Environment.development:
            self.frontend_url = [*self.frontend_url, DEVELOPMENT_ORIGIN]
        return self

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
    def oauth_server_enabled(self) -> bool:
        """Whether this service is the authorization server of /mcp (todo_api.oauth)."""
        return bool(self.public_url) and self.builtin_accounts_enabled and not self.jwt_jwks_url

    @property
    def mcp_authorization_server(self) -> str | None:
        """The issuer /mcp's protected resource metadata names (None: no metadata)."""
        if not self.public_url:
            return None
        if self.jwt_jwks_url:
            return self.oauth_issuer or self.jwt_issuer
        return self.public_url if self.oauth_server_enabled else None

    @property
    def login_address_attempts(self) -> int:
        return self.auth_rate_limit_address_attempts or 3 * self.auth_rate_limit_attempts

    @property
    def login_email_attempts(self) -> int:
        return self.auth_rate_limit_email_attempts or 10 * self.auth_rate_limit_attempts

    @property
    def sqlalchemy_url(self) -> URL:
        return normalize_database_url(self.database_url or self.default_sqlite_url())

    def database_summary(self) -> str:
        """Which database, for the log: never the password."""
        url = self.sqlalchemy_url
        if self.is_sqlite:
            return f"SQLite file {url.database}"
        return f"PostgreSQL {url.host}:{url.port or 5432}/{url.database}"

    def for_migrations(self) -> "Settings":
        """These settings with DATABASE_DIRECT_URL, when it is set, as the database."""
        if not self.database_direct_url:
            return self
        return self.model_copy(update={"database_url": self.database_direct_url})

    def default_sqlite_url(self) -> str:
        return f"sqlite:///{self.data_dir / SQLITE_FILE_NAME}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.get_backend_name() == "sqlite"

    def connect_args(self) -> dict[str, Any]:
        """Driver keywords that do not travel in the URL (asyncpg's ssl and statement cache)."""
        if self.is_sqlite:
            return {}
        original = make_url(config_replicas.with_driver(self.database_url or "", "postgresql"))
        args: dict[str, Any] = {}
        sslmode = original.query.get("sslmode")
        if isinstance(sslmode, str) and sslmode != "disable":
            args["ssl"] = sslmode
        cache = self.database_statement_cache
        if cache is None:
            cache = "-pooler" not in (original.host or "")
        if not cache:
            args["statement_cache_size"] = 0
        return args

    def development_secret_file(self) -> Path | None:
        """Where the development secret is kept (relative to where the process runs, as
        DATA_DIR is), or None when JWT_SECRET is set."""
        if self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            return None
        return (self.data_dir / SECRET_FILE_NAME).absolute()

    def signing_secret(self) -> str:
        """The HS256 secret; in development one is generated once and kept in the data folder."""
        path = self.development_secret_file()
        if path is None:
            assert self.jwt_secret is not None
            return self.jwt_secret.get_secret_value()
        existing = path.read_text().strip() if path.exists() else ""
        if existing:
            return existing
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        # Written whole to a private file, then put in place in one step: a reader never sees
        # a half-written secret, and of two processes starting at once the first one wins.
        draft = path.with_name(f".{SECRET_FILE_NAME}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secret)
        try:
            os.link(draft, path)
        except FileExistsError:
            if winner := path.read_text().strip():
                secret = winner
            else:  # an empty file left by a crash
                os.replace(draft, path)
        finally:
            draft.unlink(missing_ok=True)
        # Loud: a process started in another directory makes its own secret there, and each
        # then refuses the other's tokens (INVALID_TOKEN).
        log.warning(
            "JWT_SECRET is not set: created a NEW development secret in %s. Only tokens signed "
            "with it are valid here: run the server and `todo-api token` from the same directory, "
            "or set JWT_SECRET (or BETTER_AUTH_SECRET) to your frontend's secret",
            path,
        )
        return secret


def _base64url(text: str) -> bytes | None:
    """The bytes of base64url text (padding optional); None when it is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:  # binascii.Error is one
        return None


def _public_of(private_key: str) -> str | None:
    """The base64url uncompressed point of a P-256 private scalar (None: not a valid one)."""
    raw = _base64url(private_key) or b""
    try:
        key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        return None
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(point).decode().rstrip("=")


def normalize_database_url(raw: str, variable: str = "DATABASE_URL") -> URL:
    """Turn what people paste into the async URL SQLAlchemy needs.

    `postgres://`, `postgresql://`, `postgresql+psycopg2://` and `postgresql+asyncpg://` all
    become asyncpg; libpq-only query options (Neon's `sslmode`, `channel_binding`) are removed
    here and translated by `Settings.connect_args`. `sqlite:///path` becomes aiosqlite.
    """
    scheme = raw.partition("://")[0].lower()
    if scheme in {"postgres", "postgresql"} or scheme.startswith("postgresql+"):
        try:
            url = make_url(config_replicas.with_driver(raw, "postgresql+asyncpg"))
            url.port  # noqa: B018 - a port that is not a number fails here, not at connect time
        except ValueError:
            raise ConfigError(f"{variable} is not a valid URL (check the host and port)") from None
        if not url.host or not url.database:
            # libpq would fill in its own defaults: refuse rather than use some other database.
            raise ConfigError(f"{variable} must name the host and the database")
        query = {k: v for k, v in url.query.items() if k not in _LIBPQ_ONLY_PARAMS}
        return url.set(query=query)
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        return make_url(config_replicas.with_driver(raw, "sqlite+aiosqlite"))
    raise ConfigError(
        f"{variable} must start with postgresql://, postgres:// or sqlite:/// "
        f"(got a URL starting with {scheme!r})"
    )


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning pydantic's error into one line that names each variable as
    it was set (`PORT`, `database_pool_size`, `BETTER_AUTH_SECRET`)."""
    from pydantic import ValidationError

    as_set = _names_as_set(overrides.get("_env_file", ENV_FILE))
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_variable(err['loc'], as_set)}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    # The URLs now, not on first use.
    normalize_database_url(
        settings.database_url or settings.default_sqlite_url(), _variable(("database_url",), as_set)
    )
    if settings.database_direct_url:
        normalize_database_url(
            settings.database_direct_url, _variable(("database_direct_url",), as_set)
        )
    return settings


def _env_file_names(env_file: Any) -> list[str]:
    """The names a `.env` file sets, as written (none when there is no such file)."""
    if not env_file or not Path(env_file).is_file():
        return []
    return list(dotenv_values(env_file))


def _names_as_set(env_file: Any) -> dict[str, str]:
    """Each variable set, upper-cased, to its name as written (the environment wins over
    `.env`, as it does for the values)."""
    names = {name.upper(): name for name in _env_file_names(env_file)}
    names.update({name.upper(): name for name in os.environ})
    return names


def _variable(loc: tuple[int | str, ...], as_set: Mapping[str, str]) -> str:
    """The variable an error of the setting at `loc` is about, as the user wrote it."""
    if not loc:
        return "settings"
    field = Settings.model_fields.get(str(loc[0]))
    candidates = [str(loc[0]).upper()]
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        candidates += [str(choice).upper() for choice in field.validation_alias.choices]
    return next((as_set[name] for name in candidates if name in as_set), candidates[0])


@functools.cache
def setting_names() -> frozenset[str]:
    """Every name the service reads, upper-cased (the environment's case does not matter)."""
    names = set(OTHER_VARIABLES)
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        if isinstance(field.validation_alias, AliasChoices):
            names.update(str(choice).upper() for choice in field.validation_alias.choices)
    return frozenset(names)


def _edit_distance(a: str, b: str) -> int:
    """Levenshtein's distance (difflib has ratios, not edit distances)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def resembled_setting(name: str) -> str | None:
    """The setting `name` looks like a typo of: at most 2 edits away, and fewer for short
    names (1 for up to 7 letters), so that HOME is not taken for HOST nor TERM for PORT."""
    upper = name.upper()
    if upper in (known := setting_names()):
        return None
    # Only names within 2 letters of its length can be 2 edits away (a container has hundreds).
    near = (setting for setting in known if abs(len(setting) - len(upper)) <= 2)
    distance, closest = min(((_edit_distance(upper, s), s) for s in near), default=(3, ""))
    return closest if distance <= min(2, max(1, len(closest) // 4)) else None


def misnamed_variables(
    environ: Mapping[str, str] | None = None, env_file: Any = ENV_FILE
) -> list[str]:
    """One warning line for each name that is no setting but close to one (in the environment
    or `.env`), and for every other name in `.env`: a typo would otherwise do nothing."""
    environ = os.environ if environ is None else environ
    known = setting_names()
    lines = []
    for name in sorted(environ):
        if (resembles := resembled_setting(name)) is not None:
            lines.append(f"{name} is not a setting; did you mean {resembles}?")
    for name in _env_file_names(env_file):
        if name.upper() in known:
            continue
        resembles = resembled_setting(name)
        hint = f"; did you mean {resembles}?" if resembles else " (docs/configuration.md)"
        lines.append(f"{env_file}: {name} is not a setting{hint}")
    return lines
