"""Upserts that make projection order-independent: whatever order events arrive in,
each row ends as if they had arrived sorted by occurred_at, so a live read model and a
rebuilt one agree. Each queues a row on a statement built once (see writes.py)."""

from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, func, or_

from domain.events import ContactEvent
from projections.dialect import greatest, insert, least
from projections.projectors.writes import Writes
from projections.schema import contacts


def _key_columns(table: Table) -> list[str]:
    return [column.name for column in table.primary_key.columns]


def upsert_latest(
    w: Writes, table: Table, event: ContactEvent, key: dict[str, Any], values: dict[str, Any]
) -> None:
    """Write `values` unless the row already holds a change that occurred later: the
    last writer by occurred_at wins, whatever order the events were recorded in. On a
    tie the later-applied event wins, which a rebuild (in store order) reproduces."""

    def build(conn: Connection):
        statement = insert(conn, table)
        return statement.on_conflict_do_update(
            index_elements=_key_columns(table),
            set_={name: statement.excluded[name] for name in (*values, "changed_at")},
            where=table.c.changed_at <= statement.excluded.changed_at,
        )

    w.add(
        ("latest", table.name, tuple(key), tuple(values)),
        build,
        {"contact_id": event.contact_id, "changed_at": event.occurred_at, **key, **values},
    )


def upsert_seen(
    w: Writes,
    table: Table,
    event: ContactEvent,
    key: dict[str, Any],
    values: dict[str, Any] | None = None,
    *,
    first: str = "first_at",
    last: str | None = None,
) -> None:
    """Record that something happened: the row is created by the first event applied,
    and later ones only move `first` earlier and `last` later (min and max commute)."""
    at = event.occurred_at
    row = {"contact_id": event.contact_id, **key, **(values or {}), first: at}
    if last:
        row[last] = at

    def build(conn: Connection):
        statement = insert(conn, table)
        set_ = {first: least(conn, table.c[first], statement.excluded[first])}
        if last:
            set_[last] = greatest(conn, table.c[last], statement.excluded[last])
        return statement.on_conflict_do_update(index_elements=_key_columns(table), set_=set_)

    w.add(("seen", table.name, tuple(row), first, last), build, row)


def insert_once(w: Writes, table: Table, row: dict[str, Any], unique: str | None = None) -> None:
    """Insert a row the first time its `unique` value (default: its primary key) is
    seen; later copies change nothing."""
    keys = [unique] if unique else _key_columns(table)
    w.add(
        ("once", table.name, tuple(row)),
        lambda conn: insert(conn, table).on_conflict_do_nothing(index_elements=keys),
        row,
    )


def earliest(conn: Connection, column: Column, new) -> Any:
    """min(column, new) for a nullable column: SQLite's min() of NULL is NULL."""
    return least(conn, func.coalesce(column, new), new)


def contact_earliest(w: Writes, event: ContactEvent, column: str) -> None:
    """Move a nullable timestamp on the contact row earlier (or set it the first time);
    the row exists, every event touches it before its handlers run."""

    def build(_conn: Connection):
        at = bindparam("p_at")
        return _update_contact(
            {column: at}, or_(contacts.c[column].is_(None), contacts.c[column] > at)
        )

    w.add(("contact-earliest", column), build, _contact_params(event))


def contact_latest(
    w: Writes, event: ContactEvent, column: str, values: dict[str, Any] | None = None
) -> None:
    """Move a nullable timestamp later, writing `values` along with it (last writer)."""
    extra = values or {}

    def build(_conn: Connection):
        at = bindparam("p_at")
        return _update_contact(
            {column: at, **{name: bindparam(f"p_{name}") for name in extra}},
            or_(contacts.c[column].is_(None), contacts.c[column] <= at),
        )

    w.add(("contact-latest", column, tuple(extra)), build, _contact_params(event, extra))


# Bind names carry a p_ prefix: SQLAlchemy reserves a column's own name in SET.
def _update_contact(set_: dict[str, Any], guard):
    return (
        contacts.update()
        .where(contacts.c.contact_id == bindparam("p_contact_id"), guard)
        .values(set_)
    )


def _contact_params(event: ContactEvent, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "p_contact_id": event.contact_id,
        "p_at": event.occurred_at,
        **{f"p_{name}": value for name, value in (extra or {}).items()},
    }
