"""The idempotency keys a request claims (see todo_api.kit.idempotency)."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime

KEY_MAX_LENGTH = 255


class IdempotencyKey(SQLModel, table=True):
    """A key's claim and, once the work has committed, its response. No foreign key to users:
    a claim must not fail for a user whose row is being re-created; expiry cleans up."""

    __tablename__ = "idempotency_keys"

    user_id: uuid.UUID = Field(primary_key=True)
    key: str = Field(sa_type=String(KEY_MAX_LENGTH), primary_key=True)
    request_hash: str = Field(sa_type=String(64), nullable=False)
    # Which request holds the claim: a request whose claim was taken over must not answer.
    claim_id: uuid.UUID = Field(nullable=False)
    status_code: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    response_headers: dict[str, str] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


idempotency_keys: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]
