"""What CalDAV clients gave that a task or a list does not hold (see todo_api.dav).

`dav_objects`: per task, the resource name and `UID` a client chose, the iCalendar text of what
the mapping does not cover (todo_api.ical), and the body as the client last sent it with the
task's version then (given back as sent until the task changes). No foreign key: the row
outlives its task for a while, so that a client's move (a DELETE, then a PUT of the same UID
elsewhere) keeps the task, and a sync names the deleted object by the name the client knows.
`dav_collections`: the path segment a client gave a list with MKCALENDAR.
`dav_filter_syncs`: what a saved filter's calendar held when a sync token was given for it
(its tasks' versions and names), so that the next sync tells which tasks entered, changed or
left it, however they did (a change, the clock, a list shared no more).
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, Uuid
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime

NAME_MAX_LENGTH = 255
UID_MAX_LENGTH = 255


class DavObject(SQLModel, table=True):
    __tablename__ = "dav_objects"
    __table_args__ = (
        Index("ix_dav_objects_name", "name"),
        Index("ix_dav_objects_uid", "uid"),
    )

    task_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_type=String(NAME_MAX_LENGTH), nullable=False)
    uid: str = Field(sa_type=String(UID_MAX_LENGTH), nullable=False)
    extra: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_version: int | None = Field(default=None, nullable=True)
    # Set when a client deleted the task: who, when, and the task as it was (for a move).
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    deleted_task: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class DavCollection(SQLModel, table=True):
    __tablename__ = "dav_collections"
    __table_args__ = (Index("ix_dav_collections_name", "name"),)

    list_id: uuid.UUID = Field(primary_key=True)
    name: str = Field(sa_type=String(NAME_MAX_LENGTH), nullable=False)


dav_objects: Table = DavObject.__table__  # type: ignore[attr-defined]
dav_collections: Table = DavCollection.__table__  # type: ignore[attr-defined]


class DavFilterSync(SQLModel, table=True):
    __tablename__ = "dav_filter_syncs"
    __table_args__ = (Index("ix_dav_filter_syncs_filter_id_created_at", "filter_id", "created_at"),)

    id: uuid.UUID = Field(primary_key=True)  # the sync token's
    filter_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("saved_filters.id", ondelete="CASCADE"), nullable=False)
    )
    digest: str = Field(sa_type=String(64), nullable=False)
    # {task id: [version, resource name]}
    members: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


dav_filter_syncs: Table = DavFilterSync.__table__  # type: ignore[attr-defined]
