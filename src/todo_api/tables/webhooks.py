"""Webhooks and their deliveries (see todo_api.webhooks and todo_api.kit.events).

A delivery row is the outbox: it is written in the transaction of the change it tells about,
one per webhook that should hear of it, with the event's JSON as it will be sent. Each row is
claimed by one worker at a time (todo_api.kit.claims) while it is attempted.
"""

import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, Uuid
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.jobs import CLAIMANT_LENGTH
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import count_field, timestamp_field

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 500
EVENT_TYPE_MAX_LENGTH = 50
# `pending`, `succeeded` or `failed`.
STATUS_MAX_LENGTH = 10
# What a delivery keeps of an answer or a failure (the contract: up to 1 KiB of the answer).
ERROR_MAX_LENGTH = 1200
SECRET_MAX_LENGTH = 100


class Webhook(SQLModel, table=True):
    """Where a user wants to hear of events: a URL, the event types (`events`, as given;
    `event_mask` is the same as bits, which the outbox's statement tests), and the secret that
    signs each delivery (the one a rotation replaced signs too, for a day)."""

    __tablename__ = "webhooks"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    url: str = Field(sa_type=String(URL_MAX_LENGTH), nullable=False)
    events: list[str] = Field(sa_column=Column(JSON, nullable=False))
    event_mask: int = Field(sa_column=Column(Integer, nullable=False))
    description: str | None = Field(default=None, sa_type=String(DESCRIPTION_MAX_LENGTH))
    secret: str = Field(sa_type=String(SECRET_MAX_LENGTH), nullable=False)
    previous_secret: str | None = Field(default=None, sa_type=String(SECRET_MAX_LENGTH))
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=sql_text("true"))
    )
    disabled_reason: str | None = Field(default=None, sa_type=String(200))
    # Deliveries that ended `failed` since the last success or re-enabling.
    failures_in_row: int = count_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()

    __table_args__ = (Index("ix_webhooks_user_id_created_at", "user_id", "created_at"),)


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: its JSON (`payload`, the same on every attempt), where its
    attempts stand, and who attempts it now (`claimed_by`, `claimed_until`). `next_attempt_at`
    is set while it is pending and null once it ended, so that the due ones are one range of
    its index."""

    __tablename__ = "webhook_deliveries"

    id: uuid.UUID = Field(primary_key=True)
    webhook_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    )
    event_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    event_type: str = Field(sa_type=String(EVENT_TYPE_MAX_LENGTH), nullable=False)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_type=String(STATUS_MAX_LENGTH), nullable=False)
    attempts: int = count_field()
    # A manual retry's attempt: whatever it gives ends the delivery (no schedule after it).
    manual: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=sql_text("false"))
    )
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    response_status: int | None = Field(default=None, sa_type=Integer)
    error: str | None = Field(default=None, sa_type=String(ERROR_MAX_LENGTH))
    duration_ms: int | None = Field(default=None, sa_type=Integer)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    claimed_by: str | None = Field(default=None, sa_type=String(CLAIMANT_LENGTH))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_webhook_deliveries_webhook_id_created_at", "webhook_id", "created_at", "id"),
        # The claim's: each webhook's first pending deliveries, and those it holds.
        Index(
            "ix_webhook_deliveries_pending",
            "webhook_id",
            "next_attempt_at",
            postgresql_where=sql_text("next_attempt_at IS NOT NULL"),
            sqlite_where=sql_text("next_attempt_at IS NOT NULL"),
        ),
        Index(
            "ix_webhook_deliveries_held",
            "webhook_id",
            "claimed_until",
            postgresql_where=sql_text("claimed_until IS NOT NULL"),
            sqlite_where=sql_text("claimed_until IS NOT NULL"),
        ),
    )


class WebhookRow(TypedDict):
    id: uuid.UUID
    user_id: uuid.UUID
    url: str
    events: list[str]
    event_mask: int
    description: str | None
    secret: str
    previous_secret: str | None
    rotated_at: datetime | None
    active: bool
    disabled_reason: str | None
    failures_in_row: int
    created_at: datetime
    updated_at: datetime


webhooks: Table = Webhook.__table__  # type: ignore[attr-defined]
webhook_deliveries: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
