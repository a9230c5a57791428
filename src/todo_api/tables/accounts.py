"""What built-in accounts keep beyond the user row (todo_api.accounts): where each
sign-in was made, and the single-use tokens that account emails link to."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Table
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import timestamp_field

USER_AGENT_MAX_LENGTH = 300
# An IPv4 /24 or an IPv6 /48, as text ("203.0.113.0/24").
ADDRESS_MAX_LENGTH = 64
# `reset`, `verify`, `email_change`.
PURPOSE_MAX_LENGTH = 20
EMAIL_MAX_LENGTH = 320


class SignIn(SQLModel, table=True):
    """One sign-in (a refresh family: its id is the family's): what it was made from. Whether
    it still works is its refresh tokens' business (todo_api.accounts.service)."""

    __tablename__ = "sign_ins"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    user_agent: str | None = Field(default=None, sa_type=String(USER_AGENT_MAX_LENGTH))
    address: str | None = Field(default=None, sa_type=String(ADDRESS_MAX_LENGTH))
    created_at: datetime = timestamp_field()

    __table_args__ = (Index("ix_sign_ins_user_id", "user_id"),)


class AccountToken(SQLModel, table=True):
    """A token an account email links to (a password reset, an email to confirm): kept as the
    SHA-256 of its text, used once, and good until `expires_at`."""

    __tablename__ = "account_tokens"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    purpose: str = Field(sa_type=String(PURPOSE_MAX_LENGTH), nullable=False)
    token_hash: str = Field(sa_type=String(64), nullable=False, unique=True)
    # The address the token confirms (verification, a change of email); None for a reset.
    email: str | None = Field(default=None, sa_type=String(EMAIL_MAX_LENGTH))
    created_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),)


class RecoveryCode(SQLModel, table=True):
    """A two-factor recovery code: kept as its SHA-256, used once."""

    __tablename__ = "recovery_codes"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    code_hash: str = Field(sa_type=String(64), nullable=False)
    created_at: datetime = timestamp_field()
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)


sign_ins: Table = SignIn.__table__  # type: ignore[attr-defined]
account_tokens: Table = AccountToken.__table__  # type: ignore[attr-defined]
recovery_codes: Table = RecoveryCode.__table__  # type: ignore[attr-defined]
