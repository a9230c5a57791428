"""live updates: single-use tickets for GET /api/events

A browser's EventSource cannot send an Authorization header: it opens the stream with a
ticket made a moment before (`POST /api/events/ticket`), kept here as its hash until used or
expired. Nothing else: live updates read the change feed, and their wake-ups are sent by the
application, not by triggers (see todo_api.live.wakeups).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_tickets",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_event_tickets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_event_tickets")),
    )
    op.create_index(op.f("ix_event_tickets_expires_at"), "event_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_event_tickets_expires_at"), table_name="event_tickets")
    op.drop_table("event_tickets")
