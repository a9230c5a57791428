"""Personal access tokens (see todo_api.auth.personal): each kept as the SHA-256 of its text,
never the text itself, found by that hash on every request that carries one."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Table
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import timestamp_field

TOKEN_NAME_MAX_LENGTH = 100
TOKEN_PREFIX_LENGTH = 16
# `read` or `write`.
SCOPE_MAX_LENGTH = 10


class PersonalToken(SQLModel, table=True):
    __tablename__ = "personal_tokens"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    name: str = Field(sa_type=String(TOKEN_NAME_MAX_LENGTH), nullable=False)
    scope: str = Field(sa_type=String(SCOPE_MAX_LENGTH), nullable=False)
    # The SHA-256 of the whole token, as 64 hex digits: what a request's token is looked up by.
    token_hash: str = Field(sa_type=String(64), nullable=False, unique=True)
    prefix: str = Field(sa_type=String(TOKEN_PREFIX_LENGTH), nullable=False)
    created_at: datetime = timestamp_field()
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (Index("ix_personal_tokens_user_id_created_at", "user_id", "created_at"),)


personal_tokens: Table = PersonalToken.__table__  # type: ignore[attr-defined]
