"""The settings of reminders by Web Push (todo_api.push): the VAPID key pair (RFC 8292; unset: no
push) and the contact the push services are given. A group of its own, which
`todo_api.config.Settings` inherits."""

import base64
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings

# VAPID keys (RFC 8292) as pywebpush takes them: a P-256 point, uncompressed; its scalar.
VAPID_KEYS = {
    "VAPID_PUBLIC_KEY": (65, "a 65-byte uncompressed P-256 point"),
    "VAPID_PRIVATE_KEY": (32, "a 32-byte P-256 private key"),
}


class PushSettings(BaseSettings):
    # The key pair (VAPID_KEYS), and the contact the push services are given (`mailto:` or
    # `https:`; unset: `Settings.vapid_contact`).
    vapid_public_key: str | None = None
    vapid_private_key: SecretStr | None = None
    vapid_subject: str | None = None

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
