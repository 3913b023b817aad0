"""The embedded default provider: messages land in the local database and the log.

Because the outbox row and its idempotency key are written in one transaction, the
outbox can always say whether an earlier attempt delivered, which makes retries exact."""

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine, select

from activities.ports import BatchOutcome, EmailMessage, SmsMessage
from projections.bulk import insert_returning
from projections.dialect import insert
from projections.schema import outbox_messages

log = structlog.get_logger("dripstone.outbox")


class Outbox:
    def __init__(self, engine: Engine, channel: str):
        self.engine = engine
        self.channel = channel
        self.name = f"outbox-{channel}"

    def send(self, message: EmailMessage | SmsMessage) -> str | None:
        subject = getattr(message, "subject", None)
        with self.engine.begin() as conn:
            row = conn.execute(
                insert(conn, outbox_messages)
                .values(
                    idempotency_key=message.idempotency_key,
                    channel=self.channel,
                    contact_id=message.contact_id,
                    to_address=message.to,
                    subject=subject,
                    body=message.body,
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(outbox_messages.c.id)
            ).first()
        if row is None:
            return self.find_sent(message.idempotency_key)[1]
        # No address or rendered subject: logs are read more widely than the outbox table.
        log.info(
            "message.outboxed",
            channel=self.channel,
            contact_id=message.contact_id,
            key=message.idempotency_key,
            outbox_id=row.id,
        )
        return f"outbox-{row.id}"

    batch_size = 1000

    def send_many(
        self,
        messages: list[EmailMessage | SmsMessage],
        before: Callable[[int], object] = lambda permits: None,
        after: Callable[[list, BatchOutcome], object] = lambda *a: None,
    ) -> BatchOutcome:
        """A batch in one transaction (mailings). Keys already in the outbox keep their
        first row, as send() does."""
        if not messages:
            return BatchOutcome()
        before(len(messages))
        now = datetime.now(UTC)
        cols = outbox_messages.c
        with self.engine.begin() as conn:
            ids = dict(
                insert_returning(
                    conn,
                    insert(conn, outbox_messages)
                    .on_conflict_do_nothing(index_elements=["idempotency_key"])
                    .returning(cols.idempotency_key, cols.id),
                    [
                        {
                            "idempotency_key": m.idempotency_key,
                            "channel": self.channel,
                            "contact_id": m.contact_id,
                            "to_address": m.to,
                            "subject": getattr(m, "subject", None),
                            "body": m.body,
                            "created_at": now,
                        }
                        for m in messages
                    ],
                )
            )
            missing = [m.idempotency_key for m in messages if m.idempotency_key not in ids]
            if missing:
                ids.update(
                    conn.execute(
                        select(cols.idempotency_key, cols.id).where(
                            cols.idempotency_key.in_(missing)
                        )
                    ).all()
                )
        log.info("messages.outboxed", channel=self.channel, count=len(messages))
        outcome = BatchOutcome(sent={key: f"outbox-{row_id}" for key, row_id in ids.items()})
        after(messages, outcome)
        return outcome

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(outbox_messages.c.id).where(
                    outbox_messages.c.idempotency_key == idempotency_key
                )
            ).scalar()
        return True, (f"outbox-{found}" if found is not None else None)
