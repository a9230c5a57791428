"""inbound mail: each list's address for tasks by email, and the messages it took

`inbound_addresses` holds a list's address (the SHA-256 of its secret, and the key the secret
is derived from) and whether mail from people who are not its members is taken;
`inbound_messages` the `Message-ID` of each message a list took (taken once; at most 100 a
day), pruned after a month.

Online: two new tables with their indexes, created empty; no lock on any table that exists.

Revision ID: 0054
Revises: 0053
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.db import UTCDateTime

revision: str = "0054"
down_revision: str | None = "0053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_addresses",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.Uuid(), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=True),
        sa.Column("allow_others", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_inbound_addresses_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_inbound_addresses")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_inbound_addresses_secret_hash")),
        if_not_exists=True,  # (every step may run twice: migrations/online.py)
    )
    op.create_table(
        "inbound_messages",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("message_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["lists.id"],
            name=op.f("fk_inbound_messages_list_id_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "message_hash", name=op.f("pk_inbound_messages")),
        if_not_exists=True,
    )
    # The tables are new and empty: their indexes are built at once, not concurrently.
    op.create_index(
        "ix_inbound_messages_list_id_received_at",
        "inbound_messages",
        ["list_id", "received_at"],
        if_not_exists=True,
    )
    op.create_index(
        "ix_inbound_messages_received_at", "inbound_messages", ["received_at"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("inbound_messages")
    op.drop_table("inbound_addresses")
