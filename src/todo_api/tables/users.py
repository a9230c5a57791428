import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Uuid,
    false,
    func,
    text,
)
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime

# A time zone is kept as its IANA name (todo_api.kit.zones); the longest has 32 characters.
DEFAULT_ZONE = "UTC"
ZONE_MAX_LENGTH = 64


def zone_field() -> Any:
    """A `timezone` column: every row made before zones existed reads "UTC"."""
    return Field(
        default=DEFAULT_ZONE,
        sa_column=Column(
            String(ZONE_MAX_LENGTH), nullable=False, server_default=text(f"'{DEFAULT_ZONE}'")
        ),
    )


def user_id_field() -> Any:
    """A user's id, never null; the row is deleted with the user."""
    return Field(sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    email: str | None = Field(default=None, sa_type=String(320))
    name: str | None = Field(default=None, sa_type=String(200))
    # Only for built-in accounts; users known from an external issuer's tokens have none.
    password_hash: str | None = Field(default=None, sa_type=String(255))
    # Two-factor sign-in (TOTP): the secret (base32), when it was turned on (None: off, the
    # secret only set up), and the last time step a code was accepted for (a code works once).
    totp_secret: str | None = Field(default=None, sa_type=String(64))
    totp_enabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_last_step: int | None = Field(default=None, sa_type=BigInteger)
    # Whether the account showed it receives mail at `email` (an identity provider saying
    # so counts): only such an account is linked to by an identity provider's sign-in.
    email_verified: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, server_default=false()),
    )
    # The zone the user's new tasks are read in, unless they name their own.
    timezone: str = zone_field()
    # The language the web app speaks to them (words.LANGUAGES); None: the browser's.
    language: str | None = Field(default=None, sa_type=String(8))
    # The web app's colours: "light" or "dark"; None: the system's (prefers-color-scheme).
    theme: str | None = Field(default=None, sa_type=String(8))
    # The day the calendar's weeks start on: "monday", "sunday" or "saturday"; None: the
    # language's (web.common.shown.first_weekday).
    week_start: str | None = Field(default=None, sa_type=String(8))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RefreshToken(SQLModel, table=True):
    """One refresh token, kept only as a hash. Tokens rotated from one login share a family."""

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    family_id: uuid.UUID = Field(nullable=False, index=True)
    token_hash: str = Field(sa_type=String(64), nullable=False, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


users: Table = User.__table__  # type: ignore[attr-defined]
refresh_tokens: Table = RefreshToken.__table__  # type: ignore[attr-defined]

# Emails are stored normalised; the unique index on lower() holds whatever path writes them.
# On SQLite the migrations make it `email COLLATE NOCASE` instead: the same rule there (SQLite's
# lower() folds ASCII only, as NOCASE does), and an index SQLite can reflect.
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
