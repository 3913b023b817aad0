"""The few places where SQLite and PostgreSQL differ, kept behind small hooks."""

from collections.abc import Collection

from sqlalchemy import Connection, String, Table, any_, bindparam, func, literal_column, text
from sqlalchemy.dialects import postgresql, sqlite


def insert(conn: Connection, table: Table):
    """An INSERT that supports ON CONFLICT on whichever backend `conn` talks to."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def among(conn: Connection, column, values: Collection):
    """`column IN values`. On PostgreSQL as `= ANY(array)`: one parameter whatever the
    count, so psycopg's query cache keeps the statement; a thousand-placeholder IN list
    is too long for it and is re-parsed in Python on every call (a mailing batch's reads)."""
    if conn.dialect.name != "postgresql":
        return column.in_(list(values))
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))


def lock_contacts(conn: Connection, contact_ids) -> None:
    """Transaction-scoped locks per contact on PostgreSQL, taken in a fixed order so two
    transactions never wait on each other in a circle. SQLite has one writer at a time."""
    if conn.dialect.name != "postgresql" or not contact_ids:
        return
    conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtext(c)) FROM "
            "(SELECT unnest(CAST(:ids AS text[])) AS c ORDER BY 1) AS ordered"
        ),
        {"ids": sorted(contact_ids)},
    )


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


def json_field(conn: Connection, column, name: str):
    """A top-level field of a JSON object column, as SQL text."""
    if conn.dialect.name == "sqlite":
        return func.json_extract(column, f"$.{name}")
    return column.op("->>", return_type=String)(literal_column(f"'{name}'"))


def json_rows(conn: Connection, *columns):
    """Aggregate a correlated query's rows into one JSON array of arrays, so a contact's
    snapshot comes back in a single statement (one round trip) whatever groups it needs.
    Used as select(json_rows(conn, a, b)).where(...); an empty set gives [] or NULL."""
    if conn.dialect.name == "sqlite":
        return func.json_group_array(func.json_array(*columns))
    return func.json_agg(func.json_build_array(*columns))


def json_value(conn: Connection, column):
    """A JSON column nested as JSON inside json_rows (SQLite keeps JSON as text)."""
    return func.json(column) if conn.dialect.name == "sqlite" else column
