"""The settings of sending email: the mail server (SMTP_URL, or `console` to write each email to
the log), the sender's address, an attempt's time limit and the delays before each retry of a
reminder's email. A group of its own, which `todo_api.config.Settings` inherits."""

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from todo_api.config.schedules import RetrySchedule

# SMTP_URL's value that writes emails to the log instead of sending them (development).
CONSOLE_MAIL = "console"


class MailSettings(BaseSettings):
    # The mail server (`smtp://` with STARTTLS when it offers it, `smtps://` for TLS from the
    # start; `user:password@` when it wants a login; unset: no email, events only) and the
    # sender's address; an email attempt's time limit and the delays before each retry of a
    # reminder's email (comma-separated seconds, like the webhooks'). `console` writes each
    # email to the log instead (trying the account flows on a laptop).
    smtp_url: SecretStr | None = None
    reminder_email_from: str = "todo-api@localhost"
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=50)
    reminder_email_retry_schedule: RetrySchedule = (60, 300, 1800, 7200, 21600)

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

    @property
    def mails_to_log(self) -> bool:
        """Whether emails are written to the log instead of sent (SMTP_URL=console)."""
        return self.smtp_url is not None and self.smtp_url.get_secret_value() == CONSOLE_MAIL
