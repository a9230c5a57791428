"""Notifications (see todo_api.notifications): what needs a user's attention, made from the
activity of what they see, their settings, and the emails that carry them."""

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    false,
)
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.jobs import CLAIMANT_LENGTH
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import count_field

NotificationKey = BigInteger().with_variant(Integer(), "sqlite")


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    seq: int | None = Field(
        default=None, sa_column=Column(NotificationKey, Identity(), primary_key=True)
    )
    id: uuid.UUID = Field(sa_column=Column(Uuid, nullable=False, unique=True))
    user_id: uuid.UUID = user_id_field()
    kind: str = Field(sa_type=String(20), nullable=False)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    read: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    actor_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    task_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    comment_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    # To go out by email (the recipient's settings when it was made), until an email took it.
    email_pending: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


notifications: Table = Notification.__table__  # type: ignore[attr-defined]
Index("ix_notifications_user_id_seq", notifications.c.user_id, notifications.c.seq)
Index(
    "ix_notifications_user_id_unread",
    notifications.c.user_id,
    notifications.c.seq,
    postgresql_where=notifications.c.read.is_(False),
    sqlite_where=notifications.c.read.is_(False),
)
Index("ix_notifications_at", notifications.c.at)


class NotificationSettings(SQLModel, table=True):
    __tablename__ = "notification_settings"

    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    email: str = Field(sa_type=String(10), nullable=False)
    kinds: dict[str, bool] = Field(sa_column=Column(JSON, nullable=False))


notification_settings: Table = NotificationSettings.__table__  # type: ignore[attr-defined]


class NotificationEmail(SQLModel, table=True):
    """One email to a user, gathering their notifications pending when it goes: an instant
    one (at most one a minute) or the daily digest. Claimed and sent as reminder emails are."""

    __tablename__ = "notification_emails"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    digest: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_type=String(10), nullable=False)
    attempts: int = count_field()
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    error: str | None = Field(default=None, sa_type=String(1024))
    subject: str | None = Field(default=None, sa_type=String(200))
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(CLAIMANT_LENGTH))
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


notification_emails: Table = NotificationEmail.__table__  # type: ignore[attr-defined]
Index(
    "ix_notification_emails_user_id_status",
    notification_emails.c.user_id,
    notification_emails.c.status,
)
# The emails done with, oldest first: what the housekeeping prunes past the retention.
Index(
    "ix_notification_emails_created_at",
    notification_emails.c.created_at,
    postgresql_where=notification_emails.c.status != "pending",
    sqlite_where=notification_emails.c.status != "pending",
)


class NotificationScan(SQLModel, table=True):
    """How far the activity has been read for notifications: one row."""

    __tablename__ = "notification_scan"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    txid: int = Field(sa_column=Column(BigInteger, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))


notification_scan: Table = NotificationScan.__table__  # type: ignore[attr-defined]
