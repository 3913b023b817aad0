"""Regenerate every read model from the event store."""

from itertools import islice

from sqlalchemy import Connection, delete

from projections import projector
from projections.event_store import read_all
from projections.schema import READ_MODELS

# Events projected per flush: big enough to amortise statements, small enough that a
# rebuild's memory does not grow with the store.
PAGE = 1000


def rebuild(conn: Connection) -> int:
    """Empty the read models and replay the whole store in order; returns events applied.
    Runs in the caller's transaction, so readers never see half-built models."""
    for table in reversed(READ_MODELS):
        conn.execute(delete(table))
    count = 0
    stream = read_all(conn, page_size=PAGE)
    while page := list(islice(stream, PAGE)):
        projector.apply(conn, page)
        count += len(page)
    return count
