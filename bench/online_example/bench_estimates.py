"""An example migration written by the online rules (migrations/online.py), for
`bench/online_migrations.py --versions bench/online_example`: what a migration after 0021 may
do on a million tasks while the service runs. It is not shipped: it follows whatever the
package's newest migration is.

A nullable column (a change of the catalogue alone), a check constraint added NOT VALID and
validated after the commit, an index built concurrently; the column's backfill is declared
(BACKFILLS) for the running service to do, in batches (the benchmark runs it after the
migration, as the service's job would).
"""

import sqlalchemy as sa

from todo_api.migrations import head_revision, online

revision = "bench_estimates"
down_revision = head_revision()
branch_labels = None
depends_on = None
BACKFILLS = [online.Backfill("tasks", "estimate_minutes = 30", "estimate_minutes IS NULL")]


def upgrade() -> None:
    online.add_column("tasks", sa.Column("estimate_minutes", sa.Integer(), nullable=True))
    online.add_check("ck_tasks_estimate_minutes", "tasks", "estimate_minutes > 0")
    online.validate("ck_tasks_estimate_minutes", "tasks")
    online.create_index("ix_tasks_user_id_estimate_minutes", "tasks", "user_id, estimate_minutes")


def downgrade() -> None:
    raise NotImplementedError("a benchmark's example: its database is dropped instead")
