"""CalDAV: dav_objects and dav_collections

What clients gave that a task or a list does not hold (todo_api.tables.dav): two new tables,
so nothing existing is locked or rewritten.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dav_objects",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("extra", sa.Text(), nullable=True),
        sa.Column("sent", sa.Text(), nullable=True),
        sa.Column("sent_version", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_by", sa.Uuid(), nullable=True),
        sa.Column("deleted_task", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_dav_objects")),
    )
    # New, empty tables: their indexes lock nothing anyone waits on.
    op.create_index("ix_dav_objects_name", "dav_objects", ["name"])
    op.create_index("ix_dav_objects_uid", "dav_objects", ["uid"])
    op.create_table(
        "dav_collections",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_dav_collections")),
    )
    op.create_index("ix_dav_collections_name", "dav_collections", ["name"])


def downgrade() -> None:
    op.drop_table("dav_collections")
    op.drop_table("dav_objects")
