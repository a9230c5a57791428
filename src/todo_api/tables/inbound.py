"""Tasks by email (todo_api.inbound): each list's address and the messages it took.

An address's secret is never stored: only its SHA-256 (the lookup of a message's recipient)
and the id it is derived from with the service's signing secret (so that the list's people can
see it again), neither of which is the address."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Uuid, false
from sqlmodel import Field, SQLModel

from todo_api.tables.versioned import timestamp_field


class InboundAddress(SQLModel, table=True):
    """A list's settings for mail: its address (none while turned off) and whether mail from
    people who are not its members is taken."""

    __tablename__ = "inbound_addresses"

    list_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    )
    # The address's secret is HMAC(signing secret, key), shown to the list's writers; a new key
    # is a new address (rotated). Null with `secret_hash`: turned off.
    key: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    secret_hash: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, unique=True)
    )
    allow_others: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class InboundMessage(SQLModel, table=True):
    """A message a list took (or refused once it was over its day's count): its `Message-ID`
    (as a SHA-256) is taken once per list."""

    __tablename__ = "inbound_messages"

    list_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    )
    message_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    received_at: datetime = timestamp_field()
    task_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))


inbound_addresses: Table = InboundAddress.__table__  # type: ignore[attr-defined]
inbound_messages: Table = InboundMessage.__table__  # type: ignore[attr-defined]
Index(
    "ix_inbound_messages_list_id_received_at",
    inbound_messages.c.list_id,
    inbound_messages.c.received_at,
)
Index("ix_inbound_messages_received_at", inbound_messages.c.received_at)
