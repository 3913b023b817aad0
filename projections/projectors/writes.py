"""A batch's read-model writes, run as one executemany per statement.

Building an upsert per event (its ON CONFLICT clause, the `excluded` columns) cost far
more than running it; so each statement is built once per database dialect, handlers
only queue its parameters, and the whole batch goes out as one executemany per
statement (psycopg pipelines those, sqlite3 loops in C).

Why regrouping keeps a rebuild identical to live projection:
- rows of one statement run in the order they were queued, which is store order, and
  every read model table has exactly one statement per kind of write, so two writes to
  the same row keep their relative order;
- statements that share a row commute otherwise (min/max, or guards on occurred_at);
- the contact row's insert is queued first by every event, so its group runs first, and
  `finally` groups (work that reads other read models) run after every other group."""

from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Executable

from projections.bulk import execute_many

Build = Callable[[Connection], Executable]

# (dialect name, statement key) -> statement. Statements are immutable and hold no
# connection, so one compiled form serves every batch and every engine of that dialect.
_STATEMENTS: dict[tuple[str, Hashable], Executable] = {}


class Writes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._rows: dict[Hashable, list[dict[str, Any]]] = {}
        self._final: dict[Hashable, dict[tuple, dict[str, Any]]] = {}
        self._builds: dict[Hashable, Build] = {}

    def add(self, key: Hashable, build: Build, params: dict[str, Any]) -> None:
        """Queue one row for the statement named `key`; `build` makes it the first time.
        Every row of one key must have the same parameter names."""
        self._builds.setdefault(key, build)
        self._rows.setdefault(key, []).append(params)

    def add_finally(self, key: Hashable, build: Build, params: dict[str, Any]) -> None:
        """Queue a row for after every `add` group; equal rows run once."""
        self._builds.setdefault(key, build)
        self._final.setdefault(key, {})[tuple(sorted(params.items()))] = params

    def flush(self) -> None:
        groups = [*self._rows.items(), *((k, list(v.values())) for k, v in self._final.items())]
        for key, rows in groups:
            execute_many(self.conn, self._statement(key), rows)
        self._rows.clear()
        self._final.clear()

    def _statement(self, key: Hashable) -> Executable:
        cache_key = (self.conn.dialect.name, key)
        statement = _STATEMENTS.get(cache_key)
        if statement is None:
            statement = _STATEMENTS[cache_key] = self._builds[key](self.conn)
        return statement
