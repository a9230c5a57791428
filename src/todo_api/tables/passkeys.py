"""Passkeys (see todo_api.accounts.webauthn): each a WebAuthn credential of a user's, with its
public key and the signature count its authenticator last reported; and the challenges handed out
for registering one or signing in with one, each single-use and short-lived."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, LargeBinary, String, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.versioned import timestamp_field

PASSKEY_NAME_MAX_LENGTH = 100
# A credential id is at most 1023 bytes (WebAuthn level 3), 1364 characters in base64url.
CREDENTIAL_ID_MAX_LENGTH = 1364
# `register` or `login`.
PURPOSE_MAX_LENGTH = 10


class Passkey(SQLModel, table=True):
    __tablename__ = "passkeys"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    name: str = Field(sa_type=String(PASSKEY_NAME_MAX_LENGTH), nullable=False)
    # The credential's id, base64url without padding: what a sign-in finds it by.
    credential_id: str = Field(
        sa_type=String(CREDENTIAL_ID_MAX_LENGTH), nullable=False, unique=True
    )
    # The COSE public key, as the authenticator gave it at registration.
    public_key: bytes = Field(sa_type=LargeBinary, nullable=False)
    # The authenticator's signature count at its last use (0: it does not count).
    sign_count: int = Field(sa_type=BigInteger, nullable=False)
    created_at: datetime = timestamp_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PasskeyChallenge(SQLModel, table=True):
    """A challenge handed out, kept as the SHA-256 of its bytes: a ceremony's answer names it
    (in its signed client data), and using it deletes it, in the statement that checks it."""

    __tablename__ = "passkey_challenges"

    challenge_hash: str = Field(sa_type=String(64), primary_key=True)
    purpose: str = Field(sa_type=String(PURPOSE_MAX_LENGTH), nullable=False)
    # Whose registration it is for; null for a sign-in (anyone's passkey may answer it).
    user_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    )
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


passkeys: Table = Passkey.__table__  # type: ignore[attr-defined]
passkey_challenges: Table = PasskeyChallenge.__table__  # type: ignore[attr-defined]
