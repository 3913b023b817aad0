"""The embedded default provider: messages land in the local database and the log.

Because the outbox row and its idempotency key are written in one transaction, the
outbox can always say whether an earlier attempt delivered, which makes retries exact."""

from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine, select

from activities.ports import EmailMessage, SmsMessage
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
                insert(conn, outbox_messages).values(
                    idempotency_key=message.idempotency_key, channel=self.channel,
                    contact_id=message.contact_id, to_address=message.to, subject=subject,
                    body=message.body, created_at=datetime.now(UTC),
                ).on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(outbox_messages.c.id)
            ).first()
        if row is None:
            return self.find_sent(message.idempotency_key)[1]
        log.info("message.outboxed", channel=self.channel, to=message.to, subject=subject,
                 contact_id=message.contact_id, key=message.idempotency_key, outbox_id=row.id)
        return f"outbox-{row.id}"

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]:
        with self.engine.connect() as conn:
            found = conn.execute(
                select(outbox_messages.c.id)
                .where(outbox_messages.c.idempotency_key == idempotency_key)
            ).scalar()
        return True, (f"outbox-{found}" if found is not None else None)
