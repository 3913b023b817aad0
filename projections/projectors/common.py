"""Upserts that make projection order-independent: whatever order events arrive in,
each row ends as if they had arrived sorted by occurred_at, so a live read model and a
rebuilt one agree."""

from typing import Any

from sqlalchemy import Column, Connection, Table, func, or_

from domain.events import ContactEvent
from projections.dialect import greatest, insert, least
from projections.schema import contacts


def _key_columns(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def upsert_latest(conn: Connection, table: Table, event: ContactEvent, key: dict[str, Any],
                  values: dict[str, Any]) -> None:
    """Write `values` unless the row already holds a change that occurred later: the
    last writer by occurred_at wins, whatever order the events were recorded in. On a
    tie the later-applied event wins, which a rebuild (in store order) reproduces."""
    statement = insert(conn, table).values(
        contact_id=event.contact_id, changed_at=event.occurred_at, **key, **values)
    conn.execute(statement.on_conflict_do_update(
        index_elements=_key_columns(table),
        set_={name: statement.excluded[name] for name in (*values, "changed_at")},
        where=table.c.changed_at <= statement.excluded.changed_at,
    ))


def upsert_seen(conn: Connection, table: Table, event: ContactEvent, key: dict[str, Any],
                values: dict[str, Any] | None = None, *, first: str = "first_at",
                last: str | None = None) -> None:
    """Record that something happened: the row is created by the first event applied,
    and later ones only move `first` earlier and `last` later (min and max commute)."""
    at = event.occurred_at
    row = {"contact_id": event.contact_id, **key, **(values or {}), first: at}
    if last:
        row[last] = at
    statement = insert(conn, table).values(row)
    set_ = {first: least(conn, table.c[first], statement.excluded[first])}
    if last:
        set_[last] = greatest(conn, table.c[last], statement.excluded[last])
    conn.execute(statement.on_conflict_do_update(index_elements=_key_columns(table), set_=set_))


def earliest(conn: Connection, column: Column, new) -> Any:
    """min(column, new) for a nullable column: SQLite's min() of NULL is NULL."""
    return least(conn, func.coalesce(column, new), new)


def contact_earliest(conn: Connection, event: ContactEvent, column: str) -> None:
    """Move a nullable timestamp on the contact row earlier (or set it the first time);
    the row exists, every event touches it before its handlers run."""
    _set_contact_if(conn, event, {column: event.occurred_at},
                    or_(contacts.c[column].is_(None), contacts.c[column] > event.occurred_at))


def contact_latest(conn: Connection, event: ContactEvent, column: str,
                   values: dict[str, Any] | None = None) -> None:
    """Move a nullable timestamp later, writing `values` along with it (last writer)."""
    _set_contact_if(conn, event, {column: event.occurred_at, **(values or {})},
                    or_(contacts.c[column].is_(None), contacts.c[column] <= event.occurred_at))


def _set_contact_if(conn: Connection, event: ContactEvent, values: dict[str, Any], guard) -> None:
    conn.execute(contacts.update()
                 .where(contacts.c.contact_id == event.contact_id, guard).values(values))
