"""projections/bulk.py against conn.execute on the same statements: the same rows
stored (UTC datetimes, JSON, values fixed in the statement), the same RETURNING rows,
on SQLite and on the PostgreSQL lane."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import StatementError

from projections.bulk import BULK_FROM_ROWS, execute_many, insert_returning
from projections.dialect import among, insert
from projections.schema import events, message_ledger

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event_rows(first: int, count: int) -> list[dict]:
    return [
        {
            "event_id": f"e-{n}",
            "type": "tag.added",
            "schema_version": 1,
            "contact_id": f"c-{n % 7}",
            "occurred_at": T0 + timedelta(seconds=n),
            "recorded_at": T0,
            "source": "test",
            "payload": {"tag": f"t{n}", "n": [n]},
        }
        for n in range(first, first + count)
    ]


def returning_insert(conn):
    return (
        insert(conn, events)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(events.c.event_id, events.c.position)
    )


def test_insert_returning_gives_only_new_rows_over_several_pages_and_stores_them_whole(engine):
    with engine.begin() as conn:
        first = insert_returning(conn, returning_insert(conn), event_rows(0, 2500))
        again = insert_returning(conn, returning_insert(conn), event_rows(2400, 200))
        stored = conn.execute(select(events).order_by(events.c.position)).all()
    assert sorted(event_id for event_id, _ in first) == sorted(f"e-{n}" for n in range(2500))
    assert sorted(event_id for event_id, _ in again) == [f"e-{n}" for n in range(2500, 2600)]
    assert len({position for _, position in first + again}) == 2600
    assert len(stored) == 2600
    e_7 = next(row for row in stored if row.event_id == "e-7")
    assert (e_7.occurred_at, e_7.recorded_at) == (T0 + timedelta(seconds=7), T0)
    assert e_7.payload == {"tag": "t7", "n": [7]}


def test_insert_returning_writes_in_the_callers_transaction(engine):
    """Rolled back with it: the ledger claim and its outbox row must commit together."""
    with engine.connect() as conn:
        with conn.begin() as transaction:
            assert len(insert_returning(conn, returning_insert(conn), event_rows(0, 30))) == 30
            transaction.rollback()
        assert conn.execute(select(events.c.event_id)).all() == []


def test_among_finds_what_in_finds_for_long_and_empty_lists(engine):
    with engine.begin() as conn:
        insert_returning(conn, returning_insert(conn), event_rows(0, 50))
        wanted = [f"e-{n}" for n in range(0, 3000, 3)]  # 1,000 ids, 17 of them stored

        def found(ids):
            query = select(events.c.event_id).where(among(conn, events.c.event_id, ids))
            return sorted(conn.execute(query).scalars())

        assert found(wanted) == sorted(f"e-{n}" for n in range(0, 50, 3))
        assert found(tuple(wanted[:2])) == ["e-0", "e-3"]
        assert found([]) == []


# Below BULK_FROM_ROWS rows SQLAlchemy executes them; from it, the module's own path.
SIZES = pytest.mark.parametrize("size", [2, BULK_FROM_ROWS], ids=["few", "bulk"])


@SIZES
def test_execute_many_stores_what_conn_execute_would(engine, size):
    later = T0 + timedelta(hours=1)
    claimed = [
        {
            "idempotency_key": f"k-{n}",
            "channel": "email",
            "contact_id": f"c-{n}",
            "status": "pending",
            "attempts": 1,
            "uncertain_retries": 0,
            "created_at": T0,
            "updated_at": T0,
        }
        for n in range(3 * size)
    ]
    ours, theirs = range(0, size), range(size, 2 * size)  # the rest stays pending
    ML = message_ledger.c
    with engine.begin() as conn:
        execute_many(conn, message_ledger.insert(), claimed[: 3 * size : 2])
        conn.execute(message_ledger.insert(), claimed[1 : 3 * size : 2])
        mark = (
            message_ledger.update()
            .where(ML.idempotency_key == bindparam("k"))
            .values(status="sent", provider_message_id=bindparam("p"), updated_at=later)
        )
        execute_many(conn, mark, [{"k": f"k-{n}", "p": f"p-{n}" if n % 2 else None} for n in ours])
        conn.execute(mark, [{"k": f"k-{n}", "p": f"p-{n}" if n % 2 else None} for n in theirs])
        stored = {row.idempotency_key: row for row in conn.execute(select(message_ledger))}
    assert len(stored) == 3 * size
    for n in range(3 * size):
        row = stored[f"k-{n}"]
        marked = n < 2 * size
        assert row.status == ("sent" if marked else "pending")
        assert row.provider_message_id == (f"p-{n}" if marked and n % 2 else None)
        assert row.updated_at == (later if marked else T0)
        assert row.created_at == T0
    execute_many(engine.connect(), mark, [])  # nothing to do is no statement at all


@SIZES
def test_a_row_missing_a_parameter_is_refused_naming_it(engine, size):
    ML = message_ledger.c
    mark = (
        message_ledger.update()
        .where(ML.idempotency_key == bindparam("k"))
        .values(status="sent", provider_message_id=bindparam("p"))
    )
    with engine.begin() as conn, pytest.raises(StatementError, match="'p'"):
        execute_many(conn, mark, [{"k": f"k-{n}"} for n in range(size)])


@SIZES
def test_insert_returning_gives_the_new_rows_whatever_the_count(engine, size):
    with engine.begin() as conn:
        first = insert_returning(conn, returning_insert(conn), event_rows(0, size))
        again = insert_returning(conn, returning_insert(conn), event_rows(0, size + 1))
    assert sorted(event_id for event_id, _ in first) == sorted(f"e-{n}" for n in range(size))
    assert [event_id for event_id, _ in again] == [f"e-{size}"]
