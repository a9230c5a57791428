"""The columns every row clients sync carries: its version (the ETag, moved on by every
UPDATE; what If-Match compares in the statement), its place in the change feed (stamped by
database triggers: the writing transaction's id, then a sequence number; migrations 0004 and
0007), and its timestamps; and a count from zero, which many tables keep (attempts, failures,
counts of tasks). Each call makes new columns: a Column belongs to one table."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, text
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime


def version_field() -> Any:
    return Field(default=1, sa_column=Column(Integer, nullable=False, server_default=text("1")))


def change_stamp_field() -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0")))


def count_field() -> Any:
    return Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))


def timestamp_field() -> Any:
    return Field(sa_type=UTCDateTime, nullable=False)


class Tombstone(SQLModel):
    """What a row leaves for the change feed when it goes (deleted, or a membership or a
    task's place in a list that ended): when, and its place in the feed. Written by database
    triggers; pruned once the feed's retention has passed."""

    deleted_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    change_txid: int = Field(sa_type=BigInteger, nullable=False)
    change_seq: int = Field(sa_type=BigInteger, nullable=False)
