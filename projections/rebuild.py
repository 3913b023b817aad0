"""Regenerate every read model from the event store."""

from sqlalchemy import Connection, delete

from projections import projector
from projections.event_store import read_all
from projections.schema import READ_MODELS


def rebuild(conn: Connection) -> int:
    """Empty the read models and replay the whole store in order; returns events applied.
    Runs in the caller's transaction, so readers never see half-built models."""
    for table in reversed(READ_MODELS):
        conn.execute(delete(table))
    count = 0
    for event in read_all(conn):
        projector.apply(conn, event)
        count += 1
    return count
