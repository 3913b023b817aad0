"""The few places where SQLite and PostgreSQL differ, kept behind small hooks."""

from sqlalchemy import Connection, Table, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: Connection, table: Table):
    """An INSERT that supports ON CONFLICT on whichever backend `conn` talks to."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def least(conn: Connection, a, b):
    """Scalar minimum of two values (SQLite's two-argument min() is LEAST elsewhere)."""
    return func.min(a, b) if conn.dialect.name == "sqlite" else func.least(a, b)


def greatest(conn: Connection, a, b):
    return func.max(a, b) if conn.dialect.name == "sqlite" else func.greatest(a, b)


def json_text(conn: Connection, column):
    """A JSON scalar as SQL text (a JSON string without its quotes; JSON null is NULL)."""
    if conn.dialect.name == "sqlite":
        return func.json_extract(column, "$")
    return column.op("#>>")(literal_column("'{}'"))
