"""`Settings`: every group of settings as one object, read from the environment (or a `.env`
file), with the few settings of the process itself and the checks that tie groups together
(production's secret and emails, an identity provider's address, the web's origins in
development)."""

import logging
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from todo_api.config.accounts import (
    MIN_SECRET_BYTES,
    AccountSettings,
    EmailVerification,
    secret_variable,
)
from todo_api.config.attachments import AttachmentSettings
from todo_api.config.brand import BrandSettings
from todo_api.config.database import DatabaseSettings
from todo_api.config.http import HttpSettings
from todo_api.config.inbound import InboundSettings
from todo_api.config.limits import LimitSettings
from todo_api.config.mail import MailSettings
from todo_api.config.push import PushSettings
from todo_api.config.reminders import ReminderSettings
from todo_api.config.replicas import ReplicaSettings
from todo_api.config.retention import RetentionSettings
from todo_api.config.webhooks import WebhookSettings

log = logging.getLogger("todo_api")

# Also allowed by default in development: the same local frontend, opened by address.
DEVELOPMENT_ORIGIN = "http://127.0.0.1:3000"
SECRET_FILE_NAME = "jwt_secret"
# The file pydantic-settings reads beside the environment (in the working directory).
ENV_FILE = ".env"


class Environment(StrEnum):
    development = "development"
    production = "production"


# How log lines are written: text for people, JSON for machines.
LogFormat = Literal["text", "json"]


class Settings(
    AccountSettings,
    DatabaseSettings,
    HttpSettings,
    LimitSettings,
    MailSettings,
    PushSettings,
    ReminderSettings,
    RetentionSettings,
    WebhookSettings,
    AttachmentSettings,
    BrandSettings,
    InboundSettings,
    ReplicaSettings,
    BaseSettings,
):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", populate_by_name=True)

    env: Environment = Environment.development
    redis_url: str | None = None
    log_level: str = "INFO"
    # "text" for people, "json" (one object per line) for log collectors.
    log_format: LogFormat = "text"

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
                    f"{secret_variable()} must be at least {MIN_SECRET_BYTES} bytes "
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
    def vapid_contact(self) -> str:
        """VAPID's `sub`: VAPID_SUBJECT, else PUBLIC_URL when https, else a mailto: of
        REMINDER_EMAIL_FROM."""
        https = self.public_url if (self.public_url or "").startswith("https://") else None
        return self.vapid_subject or https or f"mailto:{self.reminder_email_from}"

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
