"""Part 1 of `bench.enrollment`: journeys per second for contacts enrolled into a 3-step
flow, next to the bare workflow (bench/bare_workflow.py) running the same activities on
the same server and worker. The two alternate in rounds (J B, B J, J B...), so drift on
a noisy machine (compactions, GC, a neighbour's load) falls on both alike."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from bench.bare_workflow import BareInput, BareWorkflow
from bench.cpu import CpuMeter
from bench.history_cost import HistoryCost, sample
from domain.events import ContactEvent, EventType
from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus, journey_workflow_id
from projections.event_store import ingest
from projections.flow_catalogue import publish
from routing.router import Router

THREE_STEP = {
    "id": "bench-3step",
    "name": "Bench: three steps",
    "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "bench-3step"}]},
    "steps": [
        {
            "id": "welcome",
            "kind": "send_email",
            "subject": "Welcome {{ first_name }}",
            "body": "Hello {{ first_name }}, thanks for signing up.",
        },
        {"id": "tag", "kind": "add_tag", "tag": "bench-welcomed"},
        {"id": "nudge", "kind": "send_sms", "text": "Hi {{ first_name }}, welcome aboard."},
    ],
}
# What each run must have done, so a cheaper path (a skipped send) never passes as fast.
JOURNEY_TRAIL = ["email sent", f"{EventType.TAG_ADDED.value} bench-welcomed", "sms sent"]
BARE_OUTCOMES = ["sent", "tagged", "sent"]


@dataclass
class Round:
    variant: str  # "journey" or "bare"
    count: int
    seconds: float
    failures: list[str] = field(default_factory=list)
    cpu_here: float = 0.0  # CPU seconds of this process: worker, activities, load generator
    cpu_server: float | None = None  # of the dev server, when it runs on this machine

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


@dataclass
class EnrollmentFigures:
    rounds: list[Round]
    history: dict[str, HistoryCost] = field(default_factory=dict)  # by variant

    def count(self, variant: str) -> int:
        return sum(r.count for r in self.rounds if r.variant == variant)

    def seconds(self, variant: str) -> float:
        return sum(r.seconds for r in self.rounds if r.variant == variant)

    def rate(self, variant: str) -> float:
        seconds = self.seconds(variant)
        return self.count(variant) / seconds if seconds else 0.0

    @property
    def ratio(self) -> float:
        bare = self.rate("bare")
        return self.rate("journey") / bare if bare else 0.0

    def cpu_ms(self, variant: str, where: str) -> float | None:
        """CPU per run, in ms, of this process ("here") or the dev server ("server")."""
        rounds = [r for r in self.rounds if r.variant == variant and r.count]
        spent = [getattr(r, f"cpu_{where}") for r in rounds]
        if not rounds or None in spent:
            return None
        return 1000 * sum(spent) / sum(r.count for r in rounds)

    @property
    def cpu_ratio(self) -> float | None:
        """bare / journey CPU per run, both processes: how many journeys the CPU that runs
        one bare workflow would run (1.0 = no overhead), whatever else the machine does."""
        totals = []
        for variant in ("bare", "journey"):
            here, server = self.cpu_ms(variant, "here"), self.cpu_ms(variant, "server")
            if here is None or server is None:
                return None
            totals.append(here + server)
        return totals[0] / totals[1] if totals[1] else None

    @property
    def failures(self) -> list[str]:
        return [f for r in self.rounds for f in r.failures]


def publish_flow(engine: Engine, document: dict) -> Flow:
    with engine.begin() as conn:
        return publish(conn, Flow.model_validate(document))


def seed_contacts(engine: Engine, contact_ids: list[str], batch: int = 500) -> None:
    """Contacts with an address for each channel and a merge field, so every send is
    rendered and delivered (a skipped send would flatter the figures)."""
    now = datetime.now(UTC)
    created = [
        ContactEvent(
            event_id=f"{c}-created",
            type=EventType.CONTACT_CREATED,
            contact_id=c,
            occurred_at=now,
            source="bench",
            payload={
                "email": f"{c}@example.com",
                "phone": f"+1415555{n % 10**4:04d}",
                "attributes": {"first_name": "Ada"},
            },
        )
        for n, c in enumerate(contact_ids)
    ]
    for start in range(0, len(created), batch):
        ingest(engine, created[start : start + batch])


def trigger(contact_id: str, flow_id: str) -> ContactEvent:
    return ContactEvent(
        event_id=f"{contact_id}-trigger",
        type=EventType.FORM_SUBMITTED,
        contact_id=contact_id,
        occurred_at=datetime.now(UTC),
        source="bench",
        payload={"form_id": flow_id},
    )


async def run_journey(
    router: Router, flow: Flow, contact_id: str, starts: asyncio.Semaphore
) -> str | None:
    """Enrolled the way routing enrolls (signal-with-start of the trigger event); awaited
    to its end. A failure description, or None."""
    event = trigger(contact_id, flow.id)
    async with starts:
        routed = await router.enroll(flow, contact_id, event.event_id, event)
    if routed.outcome != "enrolled":
        return f"{contact_id}: {routed.outcome}"
    handle = router.client.get_workflow_handle(routed.workflow_id, result_type=JourneyState)
    state = await handle.result()
    trail = [v.outcome for v in state.trail]
    if state.status != JourneyStatus.COMPLETED or trail != JOURNEY_TRAIL:
        return f"{contact_id}: {state.status.value} {trail}"
    return None


def bare_workflow_id(flow: Flow, contact_id: str) -> str:
    return f"bench-bare/{flow.id}/{contact_id}"


async def run_bare(
    router: Router, flow: Flow, contact_id: str, starts: asyncio.Semaphore
) -> str | None:
    event = trigger(contact_id, flow.id)
    async with starts:
        handle = await router.client.start_workflow(
            BareWorkflow.run,
            BareInput(flow=flow, contact_id=contact_id, enrollment_id=event.event_id),
            id=bare_workflow_id(flow, contact_id),
            task_queue=router.task_queue,
        )
    outcomes = await handle.result()
    return None if outcomes == BARE_OUTCOMES else f"{contact_id}: {outcomes}"


Runner = Callable[[Router, Flow, str, asyncio.Semaphore], Awaitable[str | None]]
RUNNERS: dict[str, Runner] = {"journey": run_journey, "bare": run_bare}


async def timed_round(
    router: Router,
    flow: Flow,
    variant: str,
    contact_ids: list[str],
    concurrency: int,
    server_pid: int | None = None,
) -> Round:
    """From the first start request to the last run completed."""
    starts = asyncio.Semaphore(concurrency)
    runner = RUNNERS[variant]
    cpu = CpuMeter(server_pid)
    cpu.start()
    began = time.perf_counter()
    results = await asyncio.gather(*(runner(router, flow, c, starts) for c in contact_ids))
    seconds = time.perf_counter() - began
    cpu.stop()
    return Round(
        variant,
        len(contact_ids),
        seconds,
        [r for r in results if r is not None],
        cpu.here,
        cpu.server,
    )


def schedule(total: int, rounds: int) -> list[tuple[str, int]]:
    """(variant, size) in ABBA order: J B, B J, J B... each variant gets `total` runs."""
    sizes = [total // rounds + (1 if k < total % rounds else 0) for k in range(rounds)]
    order = []
    for k, size in enumerate(sizes):
        pair = ("journey", "bare") if k % 2 == 0 else ("bare", "journey")
        order += [(variant, size) for variant in pair if size]
    return order


async def measure(
    router: Router,
    engine: Engine,
    prefix: str,
    contacts: int,
    *,
    rounds: int = 4,
    concurrency: int = 50,
    warmup: int = 10,
    server_pid: int | None = None,
    history_sample: int = 20,
    progress: Callable[[Round], None] | None = None,
) -> EnrollmentFigures:
    """`contacts` journeys and as many bare runs; a fresh contact for every run so no
    idempotency key, tag or outbox row is shared between them. Then the histories of
    `history_sample` runs of each variant's last round, counted."""
    plan = [("journey", warmup), ("bare", warmup)] + schedule(contacts, rounds)
    batches = [[f"{prefix}-{v[0]}{n}-{i}" for i in range(size)] for n, (v, size) in enumerate(plan)]
    # Contacts first: publishing checks the merge tags against fields contacts have.
    seed_contacts(engine, [c for batch in batches for c in batch])
    flow = publish_flow(engine, {**THREE_STEP, "id": f"{prefix}-3step"})
    figures = EnrollmentFigures([])
    for n, ((variant, _), contact_ids) in enumerate(zip(plan, batches, strict=False)):
        done = await timed_round(router, flow, variant, contact_ids, concurrency, server_pid)
        if n >= 2:  # the warm-up pair (imports, caches, first connections) is not reported
            figures.rounds.append(done)
            if progress:
                progress(done)
        elif done.failures:
            figures.rounds.append(Round(variant, 0, 0.0, done.failures))
    last = {
        variant: ids for (variant, _), ids in zip(plan, batches, strict=False)
    }  # each variant's last
    steps = len(flow.steps)
    figures.history = {
        "journey": await sample(
            router.client,
            "journey",
            [journey_workflow_id(flow.id, c) for c in last["journey"][:history_sample]],
            steps,
        ),
        "bare": await sample(
            router.client,
            "bare",
            [bare_workflow_id(flow, c) for c in last["bare"][:history_sample]],
            steps,
        ),
    }
    return figures
