"""reminder emails keep their task and recipient: reminder_emails.task_id, recipient_id

The sender asks, before each attempt, whether the recipient still sees the task, so a
reminder never goes to someone who lost it between its firing and its sending. Two nullable
columns with no default: added to the catalogue alone, nothing rewritten; emails written
before them (null) are sent as they were.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reminder_emails", sa.Column("task_id", sa.Uuid(), nullable=True))
    op.add_column("reminder_emails", sa.Column("recipient_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("reminder_emails", "recipient_id")
    op.drop_column("reminder_emails", "task_id")
