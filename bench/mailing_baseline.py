"""The mailing benchmark's segment and its baseline (bench/mailing.py): the contacts it
mails, and the plain script the engine is measured against, writing per recipient a
ledger row, an outbox row and a message.sent event, a transaction per batch of 1,000:
the floor of what the database itself can take."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.events import ContactEvent, EventType
from projections.dialect import insert
from projections.event_store import append, ingest
from projections.schema import message_ledger, outbox_messages

CONTACT_BATCH = 5000
BASELINE_BATCH = 1000


def load_contacts(engine: Engine, count: int) -> None:
    now = datetime.now(UTC)
    for first in range(0, count, CONTACT_BATCH):
        ingest(
            engine,
            [
                ContactEvent(
                    event_id=f"bench-contact-{i}",
                    type=EventType.CONTACT_CREATED,
                    contact_id=f"r{i:07d}",
                    occurred_at=now,
                    source="bench",
                    payload={"email": f"r{i}@example.com", "attributes": {"first_name": f"R{i}"}},
                )
                for i in range(first, min(first + CONTACT_BATCH, count))
            ],
        )


def baseline(engine: Engine, count: int) -> float:
    """Seconds for the plain script: three rows per recipient, a transaction per batch."""
    started = time.perf_counter()
    for first in range(0, count, BASELINE_BATCH):
        now = datetime.now(UTC)
        ids = range(first, min(first + BASELINE_BATCH, count))
        keys = {i: f"baseline/{i}" for i in ids}
        with engine.begin() as conn:
            conn.execute(
                insert(conn, message_ledger),
                [
                    {
                        "idempotency_key": keys[i],
                        "channel": "email",
                        "contact_id": f"r{i:07d}",
                        "status": "sent",
                        "attempts": 1,
                        "uncertain_retries": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(conn, outbox_messages),
                [
                    {
                        "idempotency_key": keys[i],
                        "channel": "email",
                        "contact_id": f"r{i:07d}",
                        "to_address": f"r{i}@example.com",
                        "subject": f"Hello R{i}",
                        "body": f"Spring sale for R{i}.",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            append(
                conn,
                [
                    ContactEvent(
                        event_id=f"sent:{keys[i]}",
                        type=EventType.MESSAGE_SENT,
                        contact_id=f"r{i:07d}",
                        occurred_at=now,
                        source="bench",
                        payload={
                            "channel": "email",
                            "message_key": keys[i],
                            "to": f"r{i}@example.com",
                        },
                    )
                    for i in ids
                ],
            )
    return time.perf_counter() - started
