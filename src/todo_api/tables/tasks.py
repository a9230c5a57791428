import enum
import uuid
from datetime import date, datetime
from typing import Any, TypedDict

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from todo_api.db.types import UTCDateTime
from todo_api.tables.lists import list_id_field
from todo_api.tables.sections import sections
from todo_api.tables.users import user_id_field, zone_field
from todo_api.tables.versioned import (
    Tombstone,
    change_stamp_field,
    count_field,
    timestamp_field,
    version_field,
)

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 2000
TAG_MAX_LENGTH = 50
TAGS_MAX_COUNT = 20
RECURRENCE_MAX_LENGTH = 500


class Priority(enum.IntEnum):
    """Stored as a number so that sorting by priority is sorting by importance."""

    none = 0
    low = 1
    medium = 2
    high = 3


# A JSON array of strings: JSONB on PostgreSQL, JSON text on SQLite. The tag filter reads
# `task_tags`, which database triggers derive from this column.
TagList = JSON().with_variant(JSONB(), "postgresql")


class Task(SQLModel, table=True):
    __tablename__ = "tasks"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    # The task's list (null: the inbox); deleting the list deletes its tasks.
    list_id: uuid.UUID | None = list_id_field()
    # The task this one is a subtask of (one level only); deleting the parent deletes it.
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True),
    )
    # The section of its list it is in (null: none; a subtask: its parent's). Deleting a
    # section is the service's (its tasks go, or stay without one); the foreign key's SET NULL
    # is a safety net, and on PostgreSQL alone (migration 0046).
    section_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey(sections.c.id, ondelete="SET NULL"), nullable=True),
    )
    # The task's place among its siblings, the tasks of the same list and parent (see
    # todo_api.kit.ordering); opaque to clients.
    position: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default=text("0"))
    )
    title: str = Field(sa_type=String(TITLE_MAX_LENGTH), nullable=False)
    description: str | None = Field(default=None, sa_type=String(DESCRIPTION_MAX_LENGTH))
    # What a search (`q`) compares: keys.search_key of the title and of the description, written
    # with them (never in a response). Unbounded: a key can be longer than its text.
    title_key: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    description_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    is_completed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    priority: int = Field(
        default=0, sa_column=Column(SmallInteger, nullable=False, server_default=text("0"))
    )
    # When the task is due. For an all-day task (`due_date` set), the instant its date starts
    # in its zone, kept with the date, so that sorting and filtering by due time read one
    # indexed column for both kinds; the API shows it as null then.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_date: date | None = Field(default=None, sa_type=Date)
    # When work on it starts (CalDAV's DTSTART), stored as the due time is: an instant, or a
    # day (`start_date`, all day) with the instant that day starts in its zone as `start_at`,
    # which `sort=start` and the start filters read; the API shows it as null then.
    start_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    start_date: date | None = Field(default=None, sa_type=Date)
    # The zone its date and its recurrence are read in (IANA name; see todo_api.kit.zones).
    timezone: str = zone_field()
    tags: list[str] = Field(
        default_factory=list,
        sa_column=Column(TagList, nullable=False, server_default=text("'[]'")),
    )
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Its reminders as the API shows them (`[{"id", "at"} | {"id", "before_due"}]`), read
    # with the row; `reminder_fires` is the schedule made from them.
    reminders: list[dict[str, str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
    recurrence: str | None = Field(default=None, sa_type=String(RECURRENCE_MAX_LENGTH))
    # The local date and time (on the wall clock of `timezone`) its recurring series started
    # at, kept by the occurrences completion makes: each is read from it, as RFC 5545 reads
    # DTSTART. Null: the task's own due time starts its series (a write to its due time, zone
    # or rule starts a new one).
    series_start: datetime | None = Field(default=None, sa_type=DateTime)
    # Who made the task, who completed it (null while open), and whom it is assigned to (null,
    # or a user who can see it). `user_id` is the owner of the task's list (the inbox's: its
    # user), whoever created it.
    created_by: uuid.UUID | None = Field(default=None, nullable=True)
    completed_by: uuid.UUID | None = Field(default=None, nullable=True)
    assignee_id: uuid.UUID | None = Field(default=None, nullable=True)
    # Who changed it last (null: the service), which its activity names (migration 0034).
    changed_by: uuid.UUID | None = Field(default=None, nullable=True)
    # Set once a recurring task has created its next occurrence, so that completing it again
    # (after a reopen) creates no second one.
    next_occurrence_id: uuid.UUID | None = Field(default=None)
    # How many comments it has (todo_api.collaboration), kept by the comments' triggers
    # (migration 0033); not a change of the task: its version stays.
    comment_count: int = count_field()
    # Moves on every write; the ETag, and what If-Match compares in the UPDATE itself.
    version: int = version_field()
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    # The stamp of the write that created it or moved it into its list (migration 0020): a
    # member who loses the list is told of the tasks that arrived before, and of no others.
    arrived_txid: int = change_stamp_field()
    arrived_seq: int = change_stamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class TaskTombstone(Tombstone, table=True):
    """A deleted task, remembered for the change feed until the retention has passed.

    Written by a database trigger on every delete. No foreign key: a user's tombstones may
    outlive the user until they are pruned."""

    __tablename__ = "task_tombstones"

    task_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(nullable=False)
    # The list it was in: its members' feeds carry the deletion too.
    list_id: uuid.UUID | None = Field(default=None, nullable=True)
    arrived_txid: int = change_stamp_field()
    arrived_seq: int = change_stamp_field()


class TaskDeparture(Tombstone, table=True):
    """A task that moved out of a list, remembered like a deletion for that list's members'
    feeds (those who cannot see where it went); written by a trigger (migration 0011)."""

    __tablename__ = "task_departures"

    task_id: uuid.UUID = Field(primary_key=True)
    list_id: uuid.UUID = Field(primary_key=True)
    # When it first came into the list (see Task.arrived_txid): the list's members may have
    # seen it from then on, whatever stays it had after.
    arrived_txid: int = change_stamp_field()
    arrived_seq: int = change_stamp_field()


tasks: Table = Task.__table__  # type: ignore[attr-defined]


class TaskTag(SQLModel, table=True):
    """One tag of one task, kept by database triggers from `tasks.tags` (migration 0006),
    `list_id` and `created_at` (0016), and `is_completed` (0021).

    Led by (user_id, tag), "this user's tasks with this tag" is one short index range however
    many tasks the user has or the tag has across users; led by (list_id, tag), the same for a
    list shared with its member."""

    __tablename__ = "task_tags"

    user_id: uuid.UUID = Field(primary_key=True)
    tag: str = Field(primary_key=True, sa_type=String(TAG_MAX_LENGTH))
    task_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, index=True
        )
    )
    # The task's list (null: the inbox) and when it was made: a shared list's tasks with a tag
    # in creation order, from the index alone.
    list_id: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid, nullable=True))
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The task's state (0021): a tag's open or done tasks counted from the entries alone.
    is_completed: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


task_tags: Table = TaskTag.__table__  # type: ignore[attr-defined]


class TaskCount(SQLModel, table=True):
    """The open and done tasks of one list, or of one user's inbox, kept by database triggers
    in each write's own transaction (migrations 0018, 0019): a page's total and a list's
    `open_count` are the sum of a few rows, not a count. Every list and every user has its
    first row (slot 0) from the start; on PostgreSQL a write that finds every row of its scope
    held by other writes' commits adds a row of its own rather than wait, and housekeeping
    folds them back into one (todo_api.tasks.scheduled)."""

    __tablename__ = "task_counts"

    # The list's id; for the inbox, its user's.
    scope_id: uuid.UUID = Field(primary_key=True)
    # 0 for the first row; a number from a sequence for a row a write added while every other
    # was held (PostgreSQL; SQLite: always 0, and not in the key).
    slot: int = Field(
        default=0,
        sa_column=Column(Integer, primary_key=True, nullable=False, server_default=text("0")),
    )
    # The owner of the list (the tasks' `user_id`), or the inbox's user.
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    list_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(
            Uuid, ForeignKey("lists.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    open_count: int = count_field()
    done_count: int = count_field()


task_counts: Table = TaskCount.__table__  # type: ignore[attr-defined]


class TaskRow(TypedDict):
    """A row of `tasks` as the service reads it (a list page adds its sort value and total)."""

    id: uuid.UUID
    user_id: uuid.UUID
    list_id: uuid.UUID | None
    parent_id: uuid.UUID | None
    section_id: uuid.UUID | None
    position: int
    title: str
    description: str | None
    title_key: str
    description_key: str | None
    is_completed: bool
    priority: int
    due_at: datetime | None
    due_date: date | None
    start_at: datetime | None
    start_date: date | None
    timezone: str
    tags: list[str]
    completed_at: datetime | None
    reminders: list[dict[str, str]]
    recurrence: str | None
    series_start: datetime | None
    created_by: uuid.UUID | None
    completed_by: uuid.UUID | None
    assignee_id: uuid.UUID | None
    changed_by: uuid.UUID | None
    next_occurrence_id: uuid.UUID | None
    comment_count: int
    version: int
    change_txid: int
    change_seq: int
    arrived_txid: int
    arrived_seq: int
    created_at: datetime
    updated_at: datetime


tombstones: Table = TaskTombstone.__table__  # type: ignore[attr-defined]
departures: Table = TaskDeparture.__table__  # type: ignore[attr-defined]


def _where(predicate: ColumnElement[bool]) -> dict[str, Any]:
    """A partial index's predicate, on both databases."""
    return {"postgresql_where": predicate, "sqlite_where": predicate}


# Only tasks in a list: every query on these indexes names a list.
_IN_A_LIST = _where(tasks.c.list_id.is_not(None))

# One index per sort order, each led by user_id: "this user's tasks, by X" is an equality on
# user_id and then an ordered scan (backwards for descending), with id breaking ties.
Index("ix_tasks_user_id_created_at_id", tasks.c.user_id, tasks.c.created_at, tasks.c.id)
Index("ix_tasks_user_id_updated_at_id", tasks.c.user_id, tasks.c.updated_at, tasks.c.id)
Index("ix_tasks_user_id_due_at_id", tasks.c.user_id, tasks.c.due_at, tasks.c.id)
# sort=start and the start filters, as the due date's (migration 0028).
Index("ix_tasks_user_id_start_at_id", tasks.c.user_id, tasks.c.start_at, tasks.c.id)
# Open or done rides along, so that counting the open tasks by priority reads the index alone.
Index(
    "ix_tasks_user_id_priority_id_completed",
    tasks.c.user_id,
    tasks.c.priority,
    tasks.c.id,
    tasks.c.is_completed,
)
# The change feed: this user's changes in change order.
Index("ix_tasks_user_id_change", tasks.c.user_id, tasks.c.change_txid, tasks.c.change_seq)
Index(
    "ix_task_tombstones_user_id_change",
    tombstones.c.user_id,
    tombstones.c.change_txid,
    tombstones.c.change_seq,
)

# Lists, subtasks and manual order (migration 0007): a (list, parent) group in its order, the
# inbox included (list_id null is shared by every user, so user_id leads); every task of the
# user by position; a parent's subtasks in order (and the cascade when it is deleted).
Index(
    "ix_tasks_user_id_list_id_parent_id_position_id",
    tasks.c.user_id,
    tasks.c.list_id,
    tasks.c.parent_id,
    tasks.c.position,
    tasks.c.id,
)
Index("ix_tasks_user_id_position_id", tasks.c.user_id, tasks.c.position, tasks.c.id)
Index(
    "ix_tasks_parent_id_position_id",
    tasks.c.parent_id,
    tasks.c.position,
    tasks.c.id,
    **_where(tasks.c.parent_id.is_not(None)),
)
# A section's tasks in order (migration 0046), and the foreign key's look-up when one goes.
Index(
    "ix_tasks_section_id_position_id",
    tasks.c.section_id,
    tasks.c.position,
    tasks.c.id,
    **_where(tasks.c.section_id.is_not(None)),
)
# Shared lists (migration 0011): a list's changes, deletions and departures in change order,
# for its members' feeds.
Index(
    "ix_tasks_list_id_change",
    tasks.c.list_id,
    tasks.c.change_txid,
    tasks.c.change_seq,
    **_IN_A_LIST,
)
# A shared list's tasks in each sort's order (migration 0012; the title's and due date
# descending's are written there alone, as the user-led ones).
for _sort in ("created_at", "updated_at", "due_at", "start_at", "position"):
    Index(f"ix_tasks_list_id_{_sort}_id", tasks.c.list_id, tasks.c[_sort], tasks.c.id, **_IN_A_LIST)
Index(
    "ix_tasks_list_id_priority_id_completed",
    tasks.c.list_id,
    tasks.c.priority,
    tasks.c.id,
    tasks.c.is_completed,
    **_IN_A_LIST,
)
Index(
    "ix_task_tags_list_id_tag_created_at_task_id",
    task_tags.c.list_id,
    task_tags.c.tag,
    task_tags.c.created_at,
    task_tags.c.task_id,
    postgresql_include=["is_completed"],
    **_where(task_tags.c.list_id.is_not(None)),
)
# The caller's tasks with a tag in a state, counted from the index alone (migration 0021); a
# shared list's, from the list-led index, which includes the state on PostgreSQL.
Index(
    "ix_task_tags_user_id_tag_is_completed",
    task_tags.c.user_id,
    task_tags.c.tag,
    task_tags.c.is_completed,
)
Index(
    "ix_task_tombstones_list_id_change",
    tombstones.c.list_id,
    tombstones.c.change_txid,
    tombstones.c.change_seq,
)
Index(
    "ix_task_departures_list_id_change",
    departures.c.list_id,
    departures.c.change_txid,
    departures.c.change_seq,
)

# Indexes the migrations write in SQL, which Alembic cannot reflect faithfully, so schema
# comparison leaves them out: on PostgreSQL, the title order in code-point collation; on both,
# due date and start descending with undated tasks last.
MIGRATION_ONLY_INDEXES = frozenset(
    {
        "ix_tasks_user_id_title_id",
        "ix_tasks_user_id_due_at_desc_id",
        "ix_tasks_list_id_title_id",
        "ix_tasks_list_id_due_at_desc_id",
        "ix_tasks_user_id_start_at_desc_id",
        "ix_tasks_list_id_start_at_desc_id",
    }
)
# The change counter SQLite's triggers keep (PostgreSQL uses a sequence).
SQLITE_ONLY_TABLES = frozenset({"sync_counter"})
# Foreign keys on PostgreSQL alone: SQLite adds one to a table only by copying it, which would
# drop the table's triggers (migrations/online.py).
POSTGRESQL_ONLY_FOREIGN_KEYS = frozenset(
    {"fk_tasks_section_id_sections", "fk_lists_parent_id_lists"}
)
