"""Part 3 of `bench.enrollment`: event-to-journey wake-up latency.

M journeys are parked on a wait_for_event step (sms.received, then send_email). The
bench notes the wall clock, posts the contact's event to POST /v1/events, and goes on
to the next contact after a fixed gap, so each event meets an otherwise idle system.
The wake-up is dated by the system itself: the `created_at` the outbox wrote for the
journey's next action (the e-mail after the wait). Nothing polls while events are in
flight, so the figure carries no polling interval and no query load; the outbox rows
are read once at the end. The latency therefore spans API request, store, routing,
signal, the journey's workflow task, and the send activity up to its insert."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from bench.enroll_load import publish_flow, seed_contacts, trigger
from domain.flow import Flow
from domain.journey import JourneyStatus
from dripstone_client import AsyncDripstone
from projections.schema import outbox_messages
from routing.router import Router
from workflows import search_attributes as sa

WAIT_FLOW = {
    "id": "bench-wait",
    "name": "Bench: wait for a reply",
    "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "bench-wait"}]},
    "steps": [
        {
            "id": "reply",
            "kind": "wait_for_event",
            "event": "sms.received",
            "timeout": "1d",
            "on_event": "thanks",
        },
        {
            "id": "thanks",
            "kind": "send_email",
            "subject": "Thanks for your reply",
            "body": "We got it.",
        },
    ],
}


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank, so every figure is a latency that really happened."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


@dataclass
class WakeFigures:
    wake_ms: list[float]  # POST sent -> the journey's e-mail written to the outbox
    accepted_ms: list[float]  # POST sent -> its 202 (stored, routed, signal accepted)
    missed: list[str]

    def summary(self, which: str) -> dict[str, float]:
        samples = getattr(self, which)
        if not samples:
            return {}
        return {"p50": percentile(samples, 50), "p99": percentile(samples, 99), "max": max(samples)}


async def park(
    router: Router, flow: Flow, contact_ids: list[str], concurrency: int = 50, timeout: float = 120
) -> None:
    """Enroll, then wait until visibility lists them all at the wait step: one count
    query at a time, rather than a state query per journey (which would load the worker
    and the server while the others are still being parked)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(contact_id: str) -> None:
        async with gate:
            event = trigger(contact_id, flow.id)
            await router.enroll(flow, contact_id, event.event_id, event)

    await asyncio.gather(*(one(c) for c in contact_ids))
    step = flow.steps[0].id
    query = (
        f"{sa.FLOW_ID.name} = '{flow.id}' AND {sa.CURRENT_STEP.name} = '{step}' AND "
        f"{sa.STATUS.name} = '{JourneyStatus.WAITING.value}' AND ExecutionStatus = 'Running'"
    )
    deadline = time.monotonic() + timeout
    while (await router.client.count_workflows(query)).count < len(contact_ids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the journeys of {flow.id} never all reached {step!r}")
        await asyncio.sleep(0.2)


def _outboxed(engine: Engine, contact_ids: list[str], subject: str) -> dict[str, datetime]:
    query = select(outbox_messages.c.contact_id, outbox_messages.c.created_at).where(
        outbox_messages.c.contact_id.in_(contact_ids), outbox_messages.c.subject == subject
    )
    with engine.connect() as conn:
        return {row.contact_id: row.created_at for row in conn.execute(query)}


async def measure(
    api: AsyncDripstone,
    router: Router,
    engine: Engine,
    prefix: str,
    count: int,
    *,
    gap: float = 0.1,
    settle: float = 30,
) -> WakeFigures:
    flow = publish_flow(engine, {**WAIT_FLOW, "id": f"{prefix}-wait"})
    contact_ids = [f"{prefix}-w-{i}" for i in range(count)]
    seed_contacts(engine, contact_ids)
    await park(router, flow, contact_ids)
    sent, accepted_ms, missed = {}, [], []
    for contact_id in contact_ids:
        sent[contact_id] = datetime.now(UTC)
        began = time.perf_counter()
        answer = await api.send_event("sms.received", contact_id, {"body": "yes"})
        accepted_ms.append((time.perf_counter() - began) * 1000)
        if not any(
            r["flow_id"] == flow.id and r["outcome"] == "signalled" for r in answer["routed"]
        ):
            missed.append(f"{contact_id}: routed {answer['routed']}")
        await asyncio.sleep(gap)
    subject = flow.steps[1].subject
    deadline = time.monotonic() + settle
    while len(found := await asyncio.to_thread(_outboxed, engine, contact_ids, subject)) < count:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    missed += [f"{c}: no e-mail after the event" for c in contact_ids if c not in found]
    wake_ms = [(found[c] - sent[c]).total_seconds() * 1000 for c in contact_ids if c in found]
    return WakeFigures(wake_ms, accepted_ms, missed)
