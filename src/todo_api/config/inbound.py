"""The settings of tasks by email (todo_api.inbound): the domain a list's address is at, the
SMTP listener's port and limits, and the credentials each provider's inbound webhook is checked
with. A group of its own, which `todo_api.config.Settings` inherits, as config/attachments.py is.

Unset, a provider's webhook answers 404 (it is not there), and without INBOUND_DOMAIN no list
can have an address."""

import re

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

MIB = 1024 * 1024
# An address's secret: 32 characters of base32 (160 random-looking bits), lower case because
# mail systems may change the case of a local part. The logs know its shape (process/logs.py).
SECRET_LENGTH = 32
SECRET_PATTERN = f"[a-z2-7]{{{SECRET_LENGTH}}}"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class InboundSettings(BaseSettings):
    # The domain of every list's address, `<secret>@INBOUND_DOMAIN` (its MX points at
    # `todo-api inbound-smtp`, or at a provider whose webhook posts here). Unset: off.
    inbound_domain: str | None = None
    # Where `todo-api inbound-smtp` listens (behind the operator's MX, or as it).
    inbound_smtp_port: int = Field(default=2525, ge=1, le=65535)
    # The largest message taken, whichever way it comes (SMTP's SIZE; a webhook's body).
    inbound_max_message_bytes: int = Field(default=25 * MIB, ge=1024, le=200 * MIB)
    # Postmark's inbound webhook: the user and password of the Basic credentials written into
    # the webhook's URL at Postmark (`https://user:password@host/inbound/postmark`).
    inbound_postmark_user: str | None = None
    inbound_postmark_password: SecretStr | None = None
    # Mailgun's HTTP webhook signing key: each inbound post's signature is checked with it.
    inbound_mailgun_signing_key: SecretStr | None = None

    @field_validator("inbound_domain", mode="before")
    @classmethod
    def _a_domain(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        domain = str(value).strip().lower().rstrip(".")
        if not _DOMAIN.match(domain):
            raise ValueError(f"{value!r} is not a domain name (such as tasks.example.com)")
        return domain
