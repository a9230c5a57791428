"""lists name who changed them; the clean-up jobs' indexes

- `lists.updated_by`: who changed a list last, set by every write of the service (as
  `tasks.changed_by`, migration 0034). The trigger that writes a list's activity names it as
  the change's actor, where it named the list's owner: a list passed to an editor when its
  owner's account goes was recorded as the heir's doing. A row no write of this release has
  touched (null) still names its owner. Nullable, no default: the catalogue alone changes.
- `ix_notification_emails_created_at` (the emails done with): the notifications'
  housekeeping deletes those older than the retention, which read the whole table.
- `ix_oauth_grants_client_id`: the OAuth housekeeping deletes the clients no grant names,
  a look-up of each client's grants that `ix_oauth_grants_user_id_client_id` (led by the
  user) does not serve.

Online: the column is added to the catalogue alone; replacing the list trigger's function
(and SQLite's trigger) takes `lists`' lock for that moment, bounded by the runner's
`lock_timeout` (migrations/online.py); the indexes are built concurrently. The previous
release works on the result (it does not read the column; its writes leave it as it was).

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-27
"""

# The statements are written from this module's own and earlier migrations' constants:
# nothing from outside reaches their SQL.
# ruff: noqa: S608

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from todo_api.migrations import online

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_0034 = importlib.import_module("todo_api.migrations.versions.0034_activity")

_INDEXES = {
    "ix_notification_emails_created_at": (
        "notification_emails",
        "created_at",
        "status <> 'pending'",
    ),
    "ix_oauth_grants_client_id": ("oauth_grants", "client_id", None),
}


def _postgresql_function(actor: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION lists_record_activity() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        changed jsonb := '{{}}'::jsonb;
    BEGIN
{_0034._pg_changes(_0034.LIST_FIELDS)}
        {_0034._INSERT}
        VALUES (gen_random_uuid(), clock_timestamp(), NEW.id, NULL, NULL, {actor},
                'list.updated', changed::json);
        RETURN NULL;
    END $$
    """


def _sqlite_trigger(actor: str) -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS lists_activity_update",
        f"""
        CREATE TRIGGER lists_activity_update AFTER UPDATE ON lists
        WHEN {_0034._sqlite_differs(tuple(_0034.LIST_FIELDS))} BEGIN
            {_0034._INSERT}
            SELECT {_0034._SQLITE_ID}, {_0034._SQLITE_NOW}, NEW.id, NULL, NULL, {actor},
                'list.updated', {_0034._sqlite_changes(_0034.LIST_FIELDS)};
        END
        """,
    ]


_WRITER = "coalesce(NEW.updated_by, NEW.user_id)"
_OWNER = "NEW.user_id"


def _record_list_changes_as(actor: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_postgresql_function(actor))
    else:
        for statement in _sqlite_trigger(actor):
            op.execute(statement)


def upgrade() -> None:
    online.add_column("lists", sa.Column("updated_by", sa.Uuid(), nullable=True))
    _record_list_changes_as(_WRITER)
    for name, (table, columns, where) in _INDEXES.items():
        online.create_index(name, table, columns, where=where)


def downgrade() -> None:
    for name in _INDEXES:
        online.drop_index(name)
    _record_list_changes_as(_OWNER)
    op.drop_column("lists", "updated_by")
