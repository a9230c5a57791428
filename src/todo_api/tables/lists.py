import uuid
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Uuid, false
from sqlmodel import Field, SQLModel

from todo_api.tables.keys import NAME_KEY_MAX_LENGTH
from todo_api.tables.users import user_id_field
from todo_api.tables.versioned import (
    Tombstone,
    change_stamp_field,
    timestamp_field,
    version_field,
)

NAME_MAX_LENGTH = 100
# Lists inside lists go three levels deep, as Todoist's sub-projects: a list, its child and
# its grandchild.
MAX_DEPTH = 3
# `owner`, `editor` or `viewer`.
ROLE_MAX_LENGTH = 10


def list_id_field() -> Any:
    """A list's id, or null for the owner's inbox; the row is deleted with the list."""
    return Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), nullable=True),
    )


class TaskList(SQLModel, table=True):
    """A list of tasks (Todoist's project, Google Tasks' list). `user_id` is its owner; who
    else may see or change it is in `list_members`."""

    __tablename__ = "lists"

    id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = user_id_field()
    name: str = Field(sa_type=String(NAME_MAX_LENGTH), nullable=False)
    # The name as uniqueness sees it (keys.name_key): unique per user, written by the service.
    name_key: str = Field(sa_type=String(NAME_KEY_MAX_LENGTH), nullable=False)
    color: str | None = Field(default=None, sa_type=String(7))
    # The list it is inside (null: top level): a list of the same owner, in a tree at most
    # MAX_DEPTH deep, kept by the service (todo_api.lists.tree); the key's SET NULL is a
    # safety net, on PostgreSQL alone (migration 0052).
    parent_id: uuid.UUID | None = Field(
        default=None,
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="SET NULL"), nullable=True),
    )
    version: int = version_field()
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    # Who changed it last (null: the service, or a write older than the column), which its
    # activity names as the change's actor (migration 0040).
    updated_by: uuid.UUID | None = Field(default=None, nullable=True)


class ListTombstone(Tombstone, table=True):
    """A deleted list, remembered for the change feed (written by a trigger, like tasks')."""

    __tablename__ = "list_tombstones"

    list_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(nullable=False)


class ListMember(SQLModel, table=True):
    """Everyone with access to a list, its owner included (role `owner`), each with the list's
    place among their own lists (see todo_api.kit.ordering). Stamped for the change feed like
    lists, so that gaining a list or a new role reaches the member's feed; a membership that
    ends leaves a tombstone in `member_tombstones` (triggers, migration 0011)."""

    __tablename__ = "list_members"

    list_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    )
    role: str = Field(sa_type=String(ROLE_MAX_LENGTH), nullable=False)
    position: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Whether the member keeps the list's children folded away in the sidebar (migration 0052).
    folded: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    joined_at: datetime = timestamp_field()
    change_txid: int = change_stamp_field()
    change_seq: int = change_stamp_field()
    # The stamp of the membership's start (its first change stamp, kept): what the member's
    # feed sends the list's older tasks after. A move or a new role re-stamps the membership,
    # not this.
    joined_txid: int = change_stamp_field()
    joined_seq: int = change_stamp_field()


class MemberTombstone(Tombstone, table=True):
    """A membership that ended (left, removed, or the list deleted), for the member's feed."""

    __tablename__ = "member_tombstones"

    list_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(primary_key=True)
    # When the membership began (its `joined_*`; migration 0020): the feed names the list's
    # deletions and departures after it alone.
    joined_txid: int = change_stamp_field()
    joined_seq: int = change_stamp_field()


class ListInvitation(SQLModel, table=True):
    """An invitation link: its token is kept only as a hash (SHA-256 of 32 random bytes)."""

    __tablename__ = "list_invitations"

    id: uuid.UUID = Field(primary_key=True)
    list_id: uuid.UUID = Field(
        sa_column=Column(Uuid, ForeignKey("lists.id", ondelete="CASCADE"), nullable=False)
    )
    token_hash: str = Field(sa_type=String(64), nullable=False, unique=True)
    role: str = Field(sa_type=String(ROLE_MAX_LENGTH), nullable=False)
    created_at: datetime = timestamp_field()
    expires_at: datetime = timestamp_field()


lists: Table = TaskList.__table__  # type: ignore[attr-defined]
list_tombstones: Table = ListTombstone.__table__  # type: ignore[attr-defined]
list_members: Table = ListMember.__table__  # type: ignore[attr-defined]
member_tombstones: Table = MemberTombstone.__table__  # type: ignore[attr-defined]
list_invitations: Table = ListInvitation.__table__  # type: ignore[attr-defined]


class ListRow(TypedDict):
    """A row of `lists` as the service reads it for one caller: the caller's place for it and
    role, its members and open tasks counted."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    name_key: str
    color: str | None
    parent_id: uuid.UUID | None
    version: int
    change_txid: int
    change_seq: int
    created_at: datetime
    updated_at: datetime
    updated_by: uuid.UUID | None
    position: int
    role: str
    member_count: int
    open_count: int


# A name is unique per user, whatever its case, compatibility forms and invisible characters.
Index("uq_lists_user_id_name_key", lists.c.user_id, lists.c.name_key, unique=True)
# A user's lists in their order (and "which lists may this user see", the access rule).
Index(
    "ix_list_members_user_id_position_list_id",
    list_members.c.user_id,
    list_members.c.position,
    list_members.c.list_id,
)
Index(
    "ix_list_members_user_id_change",
    list_members.c.user_id,
    list_members.c.change_txid,
    list_members.c.change_seq,
)
Index(
    "ix_member_tombstones_user_id_change",
    member_tombstones.c.user_id,
    member_tombstones.c.change_txid,
    member_tombstones.c.change_seq,
)
Index(
    "ix_list_invitations_list_id_created_at",
    list_invitations.c.list_id,
    list_invitations.c.created_at,
)
# A list's children (migration 0052).
Index(
    "ix_lists_parent_id",
    lists.c.parent_id,
    postgresql_where=lists.c.parent_id.is_not(None),
    sqlite_where=lists.c.parent_id.is_not(None),
)
# The change feed.
Index("ix_lists_user_id_change", lists.c.user_id, lists.c.change_txid, lists.c.change_seq)
Index(
    "ix_list_tombstones_user_id_change",
    list_tombstones.c.user_id,
    list_tombstones.c.change_txid,
    list_tombstones.c.change_seq,
)
