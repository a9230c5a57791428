"""webhook deliveries: indexes for claiming in turns across webhooks

The claim takes each webhook's first due deliveries and counts those it has in flight
(kit/claims.py) through two partial indexes, instead of ranking every due delivery at every
claim: one on (webhook_id, next_attempt_at) of the pending deliveries, one on
(webhook_id, claimed_until) of the held ones. Built concurrently: nothing waits on them.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from todo_api.migrations import online

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        "webhook_id, next_attempt_at",
        where="next_attempt_at IS NOT NULL",
    )
    online.create_index(
        "ix_webhook_deliveries_held",
        "webhook_deliveries",
        "webhook_id, claimed_until",
        where="claimed_until IS NOT NULL",
    )


def downgrade() -> None:
    online.drop_index("ix_webhook_deliveries_held")
    online.drop_index("ix_webhook_deliveries_pending")
