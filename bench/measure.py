"""The two measurements: projection throughput (events appended and projected per
second through event_store.ingest) and condition-evaluation latency, done the way the
evaluate_condition activity does it (connect, load_snapshot, evaluate)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from sqlalchemy import Engine, func, select

from bench.workload import NOW, Workload
from domain.conditions import (
    AllOf,
    AnyOf,
    Condition,
    Not,
    evaluate,
    fact_groups,
    lead_event_names,
)
from domain.events import ContactEvent
from domain.predicates import (
    AttributeCompare,
    ClickedLink,
    DateTest,
    HasTag,
    LastActive,
    OpenedEmail,
    PurchasedProduct,
    Unsubscribed,
)
from projections import contacts as contact_reads
from projections.event_store import ingest
from projections.schema import events

# A journey's typical gate: a valuable, reachable, engaged and recently active contact.
CONDITION: Condition = AllOf(
    conditions=[
        AnyOf(
            conditions=[
                HasTag(tag="vip"),
                AttributeCompare(field="plan", op="in", value=["pro", "team"]),
            ]
        ),
        Not(condition=Unsubscribed(channel="email")),
        AnyOf(
            conditions=[
                OpenedEmail(flow_id="welcome"),
                ClickedLink(),
                PurchasedProduct(product="course-pro"),
            ]
        ),
        LastActive(test=DateTest(op="within_last", within="30d")),
    ]
)

Progress = Callable[[int], None]  # called with the number of events just ingested


@dataclass
class IngestFigures:
    events: int = 0
    new_events: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


@dataclass
class LatencyFigures:
    samples_ms: list[float]
    matched: int
    groups: set[str]

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, so every figure is a latency that really happened."""
        ordered = sorted(self.samples_ms)
        rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats
        return ordered[int(rank) - 1]

    @property
    def summary(self) -> dict[str, float]:
        return {
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": max(self.samples_ms),
        }


@dataclass
class BenchResult:
    dialect: str
    workload: Workload
    load: IngestFigures
    batch_sizes: dict[int, IngestFigures] = field(default_factory=dict)
    latency: LatencyFigures | None = None
    # The same contacts again, straight after: their pages are now in the OS cache.
    latency_repeat: LatencyFigures | None = None


def batches(stream: Iterable[ContactEvent], size: int) -> Iterator[list[ContactEvent]]:
    it = iter(stream)
    while chunk := list(islice(it, size)):
        yield chunk


def timed_ingest(
    engine: Engine,
    stream: Iterable[ContactEvent],
    batch_size: int,
    progress: Progress | None = None,
) -> IngestFigures:
    """Only the ingest calls are timed: generating the stream is the benchmark's cost."""
    figures = IngestFigures()
    for batch in batches(stream, batch_size):
        started = time.perf_counter()
        figures.new_events += len(ingest(engine, batch))
        figures.seconds += time.perf_counter() - started
        figures.events += len(batch)
        if progress:
            progress(len(batch))
    return figures


def compare_batch_sizes(
    engine: Engine,
    workload: Workload,
    sizes: tuple[int, ...],
    slice_contacts: int,
    progress: Progress | None = None,
) -> dict[int, IngestFigures]:
    """Ingest one fresh slice of contacts per batch size, on the already loaded store, so
    each size pays for the same table sizes and indexes; the slices are disjoint because
    an already stored event would be a free no-op."""
    results = {}
    for n, size in enumerate(sizes):
        start = workload.contacts + n * slice_contacts
        stream = workload.stream(start, start + slice_contacts)
        results[size] = timed_ingest(engine, stream, size, progress)
    return results


def time_conditions(
    engine: Engine,
    contact_ids: list[str],
    samples: int,
    seed: int,
    condition: Condition = CONDITION,
    warmup: int = 50,
) -> LatencyFigures:
    """Each sample is one activity's work: read_snapshot with the condition's fact groups
    (a pooled connection, one statement), then evaluate as of the benchmark's fixed now."""
    groups = fact_groups(condition)
    rng = random.Random(seed)
    picks = [rng.choice(contact_ids) for _ in range(samples + warmup)]
    latencies, matched = [], 0
    for n, contact_id in enumerate(picks):
        started = time.perf_counter()
        snapshot = contact_reads.read_snapshot(
            engine, contact_id, groups, lead_events=lead_event_names(condition)
        )
        decided = evaluate(condition, snapshot, NOW)
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The first calls compile statements and fill the pool: not a journey's steady state.
        if n >= warmup:
            latencies.append(elapsed_ms)
            matched += decided
    return LatencyFigures(latencies, matched, groups)


def count_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(events)).scalar_one()
