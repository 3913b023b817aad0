"""Many rows through one statement without SQLAlchemy's per-row work.

`conn.execute(statement, rows)` builds every row's full parameter set (defaults merged,
each value through its type's bind processor) before the driver sees it; for a mailing
batch's thousand-row statements that cost several times what the database spends. Here
the statement is compiled once, the values fixed in the statement are processed once,
and each row only maps its own keys (through a processor where the type has one) into
the driver's parameter form. Statements this cannot reproduce exactly (Python-side
column defaults, expanding IN lists) go through `conn.execute` as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

Row = dict[str, Any]
# Rows per multi-row INSERT ... RETURNING, within SQLite's parameters per statement.
RETURNING_PAGE = 1000


def execute_many(conn: Connection, statement: Executable, rows: Sequence[Row]) -> None:
    """executemany of `statement` over `rows` (every row with the same keys)."""
    if not rows:
        return
    if len(rows) < BULK_FROM_ROWS:
        conn.execute(statement, list(rows))
        return
    compiled = _compile(conn, statement, rows[0])
    if compiled is None:
        conn.execute(statement, list(rows))
        return
    conn.exec_driver_sql(compiled.string, _parameters(conn, compiled, rows))


# Fewer rows than this go through SQLAlchemy as any statement does: its compiled cache
# makes a journey's one-row writes (a send's ledger row, outbox row and event) cheaper
# than compiling the statement here on every call, which cost a journey worker about 5%
# of its CPU; and SQLAlchemy's cursor events still see single writes such as one API
# event (the PostgreSQL pipeline bypasses them). Batches (mailings, ingest) take the
# paths below, where the per-row savings outweigh one compile.
BULK_FROM_ROWS = 20


def insert_returning(conn: Connection, statement: Executable, rows: Sequence[Row]) -> list[tuple]:
    """The RETURNING rows of a multi-row INSERT (from BULK_FROM_ROWS rows: on SQLite as
    multi-row VALUES pages; on PostgreSQL, as one pipelined executemany of the one-row
    statement). No order is promised."""
    if not rows:
        return []
    if len(rows) < BULK_FROM_ROWS:
        return [tuple(row) for row in conn.execute(statement, list(rows)).all()]
    if conn.dialect.name == "postgresql":
        return _pipelined_returning(conn, statement, rows)
    compiled = _compile(conn, statement, rows[0]) if conn.dialect.name == "sqlite" else None
    many = getattr(compiled, "_insertmanyvalues", None) if compiled is not None else None
    group = f"({many.single_values_expr})" if many is not None else ""
    if (
        compiled is None
        or many is None
        or many.is_default_expr
        or many.has_upsert_bound_parameters
        or compiled.string.count(group) != 1
    ):
        return [tuple(row) for row in conn.execute(statement, list(rows)).all()]
    params = _parameters(conn, compiled, rows)
    width = len(params[0])
    page = max(1, min(RETURNING_PAGE, _parameter_limit(conn) // max(width, 1)))
    before, after = compiled.string.split(group)
    found: list[tuple] = []
    for start in range(0, len(params), page):
        part = params[start : start + page]
        sql = before + ", ".join([group] * len(part)) + after
        flat = [value for row in part for value in row]
        found.extend(tuple(row) for row in conn.exec_driver_sql(sql, tuple(flat)).all())
    return found


def _pipelined_returning(conn: Connection, statement: Executable, rows: Sequence[Row]) -> list:
    """PostgreSQL: psycopg's executemany(returning=True) of the one-row statement, sent in
    one pipeline. Not SQLAlchemy's insertmanyvalues: its statement of a thousand VALUES
    groups is too long for psycopg's query cache, so psycopg re-parses it in Python on
    every page (about half of a mailing worker's CPU), on top of SQLAlchemy's per-row
    parameter work. The short statement is parsed once and prepared by the server; the
    rows travel in the same transaction, on the same connection."""
    compiled = _compile(conn, statement, rows[0])
    if compiled is None:
        return [tuple(row) for row in conn.execute(statement, list(rows)).all()]
    found: list[tuple] = []
    with conn.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.executemany(compiled.string, _parameters(conn, compiled, rows), returning=True)
        while True:  # one result per row: empty where ON CONFLICT DO NOTHING skipped it
            found.extend(cursor.fetchall())
            if not cursor.nextset():
                return found


def _compile(conn: Connection, statement: Executable, first: Row):
    """The statement compiled as conn.execute would for an executemany with these keys,
    or None when rows need more than their own values (defaults, expanding binds)."""
    compiled = statement.compile(
        dialect=conn.dialect, column_keys=sorted(first), for_executemany=True
    )
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.literal_execute_params
        or compiled.post_compile_params
    ):
        return None
    if any(bind.required and name not in first for bind, name in compiled.bind_names.items()):
        return None  # conn.execute names the missing parameter
    names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
    if any(compiled.escaped_bind_names.get(name, name) != name for name in names):
        return None
    return compiled


def _parameter_limit(conn: Connection) -> int:
    """SQLite's host parameters per statement (32,766 since 3.32; 999 before)."""
    driver = conn.connection.dbapi_connection
    try:
        return int(driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))  # type: ignore[union-attr]
    except AttributeError:  # Python before 3.11
        return 999


def _parameters(conn: Connection, compiled, rows: Sequence[Row]) -> list:
    """Each row's driver parameters: a tuple in placeholder order (positional styles) or
    a dict (named ones). Fixed values are processed once; per row, only its own keys."""
    processors = compiled._bind_processors
    fixed = compiled.construct_params(_check=False)
    keys = set(rows[0])
    names = compiled.positiontup if compiled.positional else list(fixed)
    constant = {
        name: (processors[name](value) if name in processors else value)
        for name, value in fixed.items()
        if name not in keys
    }
    plan = [(name, processors.get(name)) for name in names]
    if compiled.positional:
        if all(name in keys and process is None for name, process in plan):
            return [tuple([row[name] for name in names]) for row in rows]
        return [
            tuple(
                [
                    constant[name]
                    if name not in keys
                    else (process(row[name]) if process is not None else row[name])
                    for name, process in plan
                ]
            )
            for row in rows
        ]
    own = [(name, process) for name, process in plan if name in keys]
    return [
        {
            **constant,
            **{
                name: (process(row[name]) if process is not None else row[name])
                for name, process in own
            },
        }
        for row in rows
    ]
