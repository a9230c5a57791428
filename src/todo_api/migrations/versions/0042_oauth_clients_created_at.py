"""oauth_clients: an index on `created_at` for the clean-up job

`ix_oauth_clients_created_at`: the OAuth housekeeping deletes the registered clients a week
old that no grant names (todo_api.oauth.store's `prune`), which read the whole table by age.

Online: the index is built concurrently. The previous release works on the result (it only
reads the table).

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from todo_api.migrations import online

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    online.create_index("ix_oauth_clients_created_at", "oauth_clients", "created_at")


def downgrade() -> None:
    online.drop_index("ix_oauth_clients_created_at")
