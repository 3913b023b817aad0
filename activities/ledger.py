"""Message ledger: intent is recorded before a provider call and the result after it,
keyed by the workflow-built idempotency key, so a retried activity never sends twice."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, bindparam, select
from temporalio.exceptions import ApplicationError

from domain.events import ContactEvent, EventType, sent_event_id
from projections.bulk import execute_many, insert_returning
from projections.dialect import among, insert
from projections.dispatch_bell import BELL
from projections.event_store import append
from projections.schema import message_ledger


@dataclass(frozen=True)
class Claim:
    already_sent: bool
    provider_message_id: str | None
    retry: bool  # an earlier attempt got as far as the provider call, outcome unknown


def claim(
    engine: Engine, key: str, channel: str, contact_id: str, in_flight_for: timedelta | None = None
) -> Claim:
    """Claim `key` for this attempt. A `pending` row renewed less than `in_flight_for`
    (CLAIM_LEASE) ago, by an attempt that did not say it ended, is still sending (its
    attempt was timed out, not stopped): SendInFlight, a retryable error timed for when
    its lease runs out, rather than a second send."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        inserted = conn.execute(
            insert(conn, message_ledger)
            .values(
                idempotency_key=key,
                channel=channel,
                contact_id=contact_id,
                status="pending",
                attempts=1,
                uncertain_retries=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(message_ledger.c.idempotency_key)
        ).first()
        if inserted is not None:
            return Claim(already_sent=False, provider_message_id=None, retry=False)
        row = conn.execute(
            select(message_ledger).where(message_ledger.c.idempotency_key == key)
        ).one()
        if row.status == "sent":
            return Claim(
                already_sent=True, provider_message_id=row.provider_message_id, retry=False
            )
        if row.status == "pending" and row.detail is None and in_flight_for is not None:
            left = (row.updated_at + in_flight_for - now).total_seconds()
            if left > 0:
                raise ApplicationError(
                    f"an earlier attempt may still be sending {key}; retrying once it is over",
                    type="SendInFlight",
                    next_retry_delay=timedelta(seconds=left + 1),
                )
        # detail: None while this attempt is in flight (see record_ended).
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key)
            .values(attempts=row.attempts + 1, updated_at=now, detail=None)
        )
        return Claim(already_sent=False, provider_message_id=None, retry=row.status == "pending")


def sent_already(engine: Engine, key: str) -> Claim | None:
    """Read-only: the claim of a message an earlier attempt sent, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(message_ledger.c.status, message_ledger.c.provider_message_id).where(
                message_ledger.c.idempotency_key == key
            )
        ).first()
    if row is None or row.status != "sent":
        return None
    return Claim(already_sent=True, provider_message_id=row.provider_message_id, retry=False)


# A claimed send renews its row this often while it runs (Delivery.deliver); a pending
# row not renewed for CLAIM_LEASE belongs to an attempt that is gone (a killed worker),
# so the retry goes ahead instead of waiting out the whole attempt timeout.
CLAIM_RENEW_SECONDS = 5.0
CLAIM_LEASE = timedelta(seconds=20)


RENEW_PAGE = 500  # keys per statement, well within any driver's parameter limit


def renew_claims(engine: Engine, keys: Sequence[str]) -> None:
    """These attempts are still sending `keys` (see CLAIM_LEASE)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for start in range(0, len(keys), RENEW_PAGE):
            conn.execute(
                message_ledger.update()
                .where(
                    among(conn, message_ledger.c.idempotency_key, keys[start : start + RENEW_PAGE]),
                    message_ledger.c.status == "pending",
                    message_ledger.c.detail.is_(None),
                )
                .values(updated_at=now)
            )


def record_ended(engine: Engine, key: str, detail: str) -> None:
    """The attempt stopped without an outcome (the provider may or may not have the
    message): the row stays `pending` (the next attempt asks the provider), but is no
    longer in flight, so the next attempt need not wait out the attempt timeout."""
    with engine.begin() as conn:
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key, message_ledger.c.status == "pending")
            .values(detail=("attempt ended: " + detail)[:2000])
        )


def claim_many(engine: Engine, wanted: list[tuple[str, str, str]]) -> dict[str, Claim]:
    """claim() for a batch of (key, channel, contact_id) in one transaction: one
    multi-row insert claims the new keys; the others are read back and counted as
    another attempt, exactly as claim() would one by one."""
    if not wanted:
        return {}  # an empty executemany would be one INSERT of default values
    now = datetime.now(UTC)
    ML = message_ledger.c
    with engine.begin() as conn:
        inserted = {
            row[0]
            for row in insert_returning(
                conn,
                insert(conn, message_ledger)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(ML.idempotency_key),
                [
                    {
                        "idempotency_key": key,
                        "channel": channel,
                        "contact_id": contact_id,
                        "status": "pending",
                        "attempts": 1,
                        "uncertain_retries": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for key, channel, contact_id in wanted
                ],
            )
        }
        claims = {
            key: Claim(already_sent=False, provider_message_id=None, retry=False)
            for key in inserted
        }
        others = [key for key, _, _ in wanted if key not in inserted]
        for chunk in (others[i : i + 500] for i in range(0, len(others), 500)):
            for row in conn.execute(
                select(ML.idempotency_key, ML.status, ML.provider_message_id).where(
                    ML.idempotency_key.in_(chunk)
                )
            ):
                claims[row.idempotency_key] = Claim(
                    already_sent=row.status == "sent",
                    provider_message_id=row.provider_message_id,
                    retry=row.status == "pending",
                )
            conn.execute(
                message_ledger.update()
                .where(ML.idempotency_key.in_(chunk), ML.status != "sent")
                .values(attempts=ML.attempts + 1, updated_at=now)
            )
    return claims


def mark_sent(conn: Connection, provider_ids: dict[str, str | None]) -> None:
    """The batch form of record_sent's ledger half, inside the caller's transaction (the
    caller appends the message.sent events in the same one)."""
    if not provider_ids:
        return
    ML = message_ledger.c
    execute_many(
        conn,
        message_ledger.update()
        .where(ML.idempotency_key == bindparam("k"))
        .values(status="sent", provider_message_id=bindparam("p"), updated_at=datetime.now(UTC)),
        [{"k": key, "p": pid} for key, pid in provider_ids.items()],
    )


def count_uncertain_retry(engine: Engine, key: str) -> None:
    """The provider cannot tell whether the earlier attempt went out; resending may
    duplicate, so the risk is counted where ops can report on it."""
    with engine.begin() as conn:
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key)
            .values(uncertain_retries=message_ledger.c.uncertain_retries + 1)
        )


def record_sent(
    engine: Engine, key: str, provider_message_id: str | None, sent_event: ContactEvent
) -> None:
    """Mark sent and append message.sent in one transaction, so the read model and
    the ledger cannot disagree."""
    with engine.begin() as conn:
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key)
            .values(
                status="sent", provider_message_id=provider_message_id, updated_at=datetime.now(UTC)
            )
        )
        appended = append(conn, [sent_event], dispatch=True, fast_path=False)
    if appended:
        BELL.ring()  # message.sent reaches triggers and waits like any event


def record_not_sent(engine: Engine, key: str, detail: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key)
            .values(status="not_sent", detail=detail[:2000], updated_at=datetime.now(UTC))
        )


def record_failed(engine: Engine, key: str, detail: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            message_ledger.update()
            .where(message_ledger.c.idempotency_key == key)
            .values(status="failed", detail=detail[:2000], updated_at=datetime.now(UTC))
        )


def sent_event(
    key: str,
    contact_id: str,
    channel: str,
    to: str,
    flow_id: str | None,
    step_id: str,
    provider_message_id: str | None,
    *,
    source: str = "dripstone.journey",
    occurred_at: datetime | None = None,
    **extra,
) -> ContactEvent:
    """`occurred_at`: a mailing batch's one time for all its sends (one datetime object,
    so writing a thousand of them converts it once: projections/types.py)."""
    return ContactEvent(
        event_id=sent_event_id(key),
        type=EventType.MESSAGE_SENT,
        contact_id=contact_id,
        occurred_at=occurred_at or datetime.now(UTC),
        source=source,
        payload={
            "channel": channel,
            "message_key": key,
            "flow_id": flow_id,
            "step_id": step_id,
            "to": to,
            "provider_message_id": provider_message_id,
            **extra,
        },
    )
