"""Web Push: the browsers' subscriptions, and the messages a fired reminder leaves for each
(see todo_api.push).

A subscription is its user's row (deleted with the account by its foreign key); a message is
the outbox row of one reminder to one subscription, written in the reminder's firing
transaction and sent by its own job, claimed (todo_api.kit.claims) while it is attempted. It
goes with its subscription (dropped on 404/410, or by its owner).
"""

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.reminders import ReminderMessage
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import count_field

ENDPOINT_MAX_LENGTH = 2000
# base64url without padding: a 65-byte P-256 point is 87 characters, a 16-byte secret 22.
P256DH_MAX_LENGTH = 100
AUTH_MAX_LENGTH = 50
ERROR_MAX_LENGTH = 500


class PushSubscription(SQLModel, table=True):
    """Where a browser takes pushes for its user: the push service's URL and the keys that
    encrypt for it (the body of `PushSubscription.toJSON()`)."""

    __tablename__ = "push_subscriptions"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    endpoint: str = Field(sa_type=String(ENDPOINT_MAX_LENGTH), nullable=False)
    p256dh: str = Field(sa_type=String(P256DH_MAX_LENGTH), nullable=False)
    auth: str = Field(sa_type=String(AUTH_MAX_LENGTH), nullable=False)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)

    __table_args__ = (
        Index("ix_push_subscriptions_user_id_endpoint", "user_id", "endpoint", unique=True),
    )


class PushMessage(ReminderMessage, table=True):
    """One reminder for one subscription: the JSON the browser gets (encrypted when sent),
    retried on the reminder emails' schedule."""

    __tablename__ = "push_messages"

    id: uuid.UUID = Field(primary_key=True)
    subscription_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid,
            ForeignKey("push_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    reminder_id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = count_field()
    error: str | None = Field(default=None, sa_type=String(ERROR_MAX_LENGTH))


push_subscriptions: Table = PushSubscription.__table__  # type: ignore[attr-defined]
push_messages: Table = PushMessage.__table__  # type: ignore[attr-defined]

__all__ = ["push_messages", "push_subscriptions"]
