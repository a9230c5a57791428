"""Tickets for live updates: how a browser's EventSource, which cannot send headers, opens
`GET /api/events` (see todo_api.live)."""

import uuid
from datetime import datetime

from sqlalchemy import String, Table
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.users import user_id_field


class EventTicket(SQLModel, table=True):
    """A single-use ticket, kept as the SHA-256 of its text: using it deletes it, in the one
    statement that checks it, so that of every process and instance one use wins."""

    __tablename__ = "event_tickets"

    token_hash: str = Field(sa_type=String(64), primary_key=True)
    user_id: uuid.UUID = user_id_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


event_tickets: Table = EventTicket.__table__  # type: ignore[attr-defined]
