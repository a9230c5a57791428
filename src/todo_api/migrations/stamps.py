"""Pausing the change feed's stamping triggers while a migration writes rows that clients need
not fetch again (a new column filled in, a key computed): no client re-reads every row."""

from collections.abc import Sequence

import sqlalchemy as sa

# Each table's stamping trigger: one on PostgreSQL (before insert or update), the update one on
# SQLite (migrations 0004, 0007).
POSTGRESQL_STAMPS = {"tasks": "tasks_stamp_change", "lists": "lists_stamp_change"}
SQLITE_STAMPS = {"tasks": "tasks_stamp_update", "lists": "lists_stamp_update"}


def pause_stamps(conn: sa.Connection, tables: Sequence[str]) -> tuple[Sequence[str], list[str]]:
    """Stop stamping the tables' rows for the change feed; what `resume_stamps` needs."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {POSTGRESQL_STAMPS[table]}")
        return tables, []
    definitions = []
    for table in tables:
        trigger = SQLITE_STAMPS[table]
        definitions.append(
            conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)
            ).scalar_one()
        )
        conn.exec_driver_sql(f"DROP TRIGGER {trigger}")
    return tables, definitions


def resume_stamps(conn: sa.Connection, paused: tuple[Sequence[str], list[str]]) -> None:
    tables, definitions = paused
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {POSTGRESQL_STAMPS[table]}")
    for definition in definitions:
        conn.exec_driver_sql(definition)
