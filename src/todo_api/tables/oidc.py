"""Signing in with an OpenID Connect provider (see todo_api.accounts.oidc): which account each of
the provider's people is (its issuer and subject, never its email, which may change), and the
one-time codes that hand a finished sign-in to the frontend (kept as their SHA-256)."""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.tables.versioned import timestamp_field

ISSUER_MAX_LENGTH = 2048
SUBJECT_MAX_LENGTH = 255  # OpenID Connect Core, section 2: at most 255 ASCII characters
HASH_LENGTH = 64


class OidcIdentity(SQLModel, table=True):
    """A person of the provider and the account they sign in to."""

    __tablename__ = "oidc_identities"

    issuer: str = Field(sa_type=String(ISSUER_MAX_LENGTH), primary_key=True)
    subject: str = Field(sa_type=String(SUBJECT_MAX_LENGTH), primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = timestamp_field()


class OidcCode(SQLModel, table=True):
    """A sign-in finished at the provider, waiting (a minute at most) for its exchange."""

    __tablename__ = "oidc_codes"

    code_hash: str = Field(sa_type=String(HASH_LENGTH), primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    expires_at: datetime = timestamp_field()

    __table_args__ = (Index("ix_oidc_codes_expires_at", "expires_at"),)


oidc_identities: Table = OidcIdentity.__table__  # type: ignore[attr-defined]
oidc_codes: Table = OidcCode.__table__  # type: ignore[attr-defined]
