"""Sections (see todo_api.sections): named parts of a list, in the list's own order; a task
names at most one of its list's (`tasks.section_id`)."""

import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import BigInteger, Column, ForeignKey, Index, String, Table, Uuid
from sqlmodel import Field, SQLModel

from todo_api.tables.keys import NAME_KEY_MAX_LENGTH
from todo_api.tables.versioned import (
    Tombstone,
    change_stamp_field,
    timestamp_field,
    version_field,
)

SECTION_NAME_MAX_LENGTH = 100
# Sections a list may have.
SECTIONS_MAX_COUNT = 100


class Section(SQLModel, table=True):
    __tablename__ = "sections"

    id: uuid.UUID = Field(primary_key=True)
    list_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)
    )
    name: str = Field(sa_type=String(SECTION_NAME_MAX_LENGTH), nullable=False)
    # The name as uniqueness sees it (keys.name_key), as lists' names: unique in the list.
    name_key: str = Field(sa_type=String(NAME_KEY_MAX_LENGTH), nullable=False)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    version: int = version_field()
    # The change feed's stamp, from the tasks' sequence (migration 0047).
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


sections: Table = Section.__table__  # type: ignore[attr-defined]


class SectionTombstone(Tombstone, table=True):
    """A deleted section (on its own, or with its list), for the change feed (a trigger's)."""

    __tablename__ = "section_tombstones"

    section_id: uuid.UUID = Field(primary_key=True)
    list_id: uuid.UUID = Field(nullable=False)


section_tombstones: Table = SectionTombstone.__table__  # type: ignore[attr-defined]

Index("uq_sections_list_id_name_key", sections.c.list_id, sections.c.name_key, unique=True)
# The list's sections in their order, and the count the limit reads.
Index("ix_sections_list_id_position_id", sections.c.list_id, sections.c.position, sections.c.id)
# The change feed: a list's sections, and those deleted from it, in change order.
Index(
    "ix_sections_list_id_change", sections.c.list_id, sections.c.change_txid, sections.c.change_seq
)
Index(
    "ix_section_tombstones_list_id_change",
    section_tombstones.c.list_id,
    section_tombstones.c.change_txid,
    section_tombstones.c.change_seq,
)


class SectionRow(TypedDict):
    id: uuid.UUID
    list_id: uuid.UUID
    name: str
    name_key: str
    position: int
    version: int
    change_txid: int
    change_seq: int
    created_at: datetime
    updated_at: datetime
