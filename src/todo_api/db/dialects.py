"""Statements whose spelling differs by database."""

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from todo_api.db.database import Connection


def insert_or_ignore(conn: Connection, table: Table) -> Insert:
    """`INSERT ... ON CONFLICT DO NOTHING` in the connection's dialect."""
    if conn.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
