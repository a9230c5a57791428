import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Uuid, func
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(primary_key=True)
    email: str | None = Field(default=None, sa_type=String(320))
    name: str | None = Field(default=None, sa_type=String(200))
    # Only for built-in accounts; users known from an external issuer's tokens have none.
    password_hash: str | None = Field(default=None, sa_type=String(255))
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
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
