"""projections/bulk.py against conn.execute on the same statements: the same rows
stored (UTC datetimes, JSON, values fixed in the statement), the same RETURNING rows,
on SQLite and on the PostgreSQL lane."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import StatementError

from projections.bulk import execute_many, insert_returning
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


def test_execute_many_stores_what_conn_execute_would(engine):
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
        for n in range(6)
    ]
    ML = message_ledger.c
    with engine.begin() as conn:
        execute_many(conn, message_ledger.insert(), claimed[:3])
        conn.execute(message_ledger.insert(), claimed[3:])
        mark = (
            message_ledger.update()
            .where(ML.idempotency_key == bindparam("k"))
            .values(status="sent", provider_message_id=bindparam("p"), updated_at=later)
        )
        execute_many(conn, mark, [{"k": "k-0", "p": "p-0"}, {"k": "k-3", "p": None}])
        conn.execute(mark, [{"k": "k-1", "p": "p-1"}, {"k": "k-4", "p": None}])
        stored = {row.idempotency_key: row for row in conn.execute(select(message_ledger))}
    assert [stored[f"k-{n}"].status for n in range(6)] == ["sent", "sent", "pending"] * 2
    assert [stored[f"k-{n}"].provider_message_id for n in (0, 1, 3, 4)] == [
        "p-0",
        "p-1",
        None,
        None,
    ]
    assert {stored[k].updated_at for k in ("k-0", "k-1", "k-3", "k-4")} == {later}
    assert {stored[k].created_at for k in stored} == {T0}
    execute_many(engine.connect(), mark, [])  # nothing to do is no statement at all


def test_a_row_missing_a_parameter_is_refused_naming_it(engine):
    ML = message_ledger.c
    mark = (
        message_ledger.update()
        .where(ML.idempotency_key == bindparam("k"))
        .values(status="sent", provider_message_id=bindparam("p"))
    )
    with engine.begin() as conn, pytest.raises(StatementError, match="'p'"):
        execute_many(conn, mark, [{"k": "k-0"}])
