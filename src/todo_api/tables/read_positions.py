"""Where each person's reads must start (todo_api.kit.reads), when Redis does not keep it."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime


class ReadPosition(SQLModel, table=True):
    """The primary's WAL position (bytes) after the last write a person made or was answered
        by the primary: a read replica answers them only once it has replayed that far. Written
        and read on the primary only; unlogged on PostgreSQL (no WAL of its own, not replicated:
        a crash of the primary empties it, and every replica starts over from it anyway). It goes
    with its person."""

    __tablename__ = "read_positions"

    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    lsn: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


read_positions: Table = ReadPosition.__table__  # type: ignore[attr-defined]
