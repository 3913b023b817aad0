"""Part 2 of `bench.enrollment`: events per second taken in through the HTTP API (the
batch and the single-event route), with routing on, sent with dripstone_client.

The events are the realistic generated histories of bench/workload.py. Routing is on:
every event is stored, projected, given a dispatch record, then routed: the live flows'
triggers are checked and the contact's journey in every other flow is signalled (these
contacts have none, so each signal is a NOT_FOUND round trip to Temporal, as for most
events in production). Senders run in parallel lanes, each owning a set of contacts, so
every contact's events still arrive in order."""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass

from bench.workload import Workload
from dripstone_client import AsyncDripstone


@dataclass
class IngestRun:
    endpoint: str  # "batch" or "single"
    events: int
    appended: int
    requests: int
    seconds: float
    batch_size: int = 1
    lanes: int = 1

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def generated_events(prefix: str, count: int, per_contact: int = 10, seed: int = 42) -> list[dict]:
    """About `count` events (whole contact histories) as the API takes them."""
    workload = Workload(
        contacts=max(1, round(count / per_contact)),
        events_per_contact=per_contact,
        seed=seed,
        prefix=prefix,
    )
    return [e.model_dump(mode="json") for e in workload.stream()]


def lanes_of(events: list[dict], lanes: int) -> list[list[dict]]:
    """Split by contact (a stable hash), keeping each contact's events in order."""
    out: list[list[dict]] = [[] for _ in range(lanes)]
    for event in events:
        out[zlib.crc32(event["contact_id"].encode()) % lanes].append(event)
    return [lane for lane in out if lane]


async def ingest_batches(
    api: AsyncDripstone, events: list[dict], *, batch_size: int, lanes: int
) -> IngestRun:
    async def lane(part: list[dict]) -> dict:
        return await api.send_events(part, chunk=batch_size)

    parts = lanes_of(events, lanes)
    began = time.perf_counter()
    results = await asyncio.gather(*(lane(p) for p in parts))
    seconds = time.perf_counter() - began
    requests = sum(-(-len(p) // batch_size) for p in parts)
    return IngestRun(
        "batch",
        len(events),
        sum(r["appended"] for r in results),
        requests,
        seconds,
        batch_size,
        len(parts),
    )


async def ingest_singles(api: AsyncDripstone, events: list[dict], *, lanes: int) -> IngestRun:
    async def lane(part: list[dict]) -> int:
        appended = 0
        for e in part:
            answer = await api.send_event(
                e["type"],
                e["contact_id"],
                e["payload"],
                event_id=e["event_id"],
                occurred_at=e["occurred_at"],
                source=e["source"],
            )
            appended += answer["appended"]
        return appended

    parts = lanes_of(events, lanes)
    began = time.perf_counter()
    appended = await asyncio.gather(*(lane(p) for p in parts))
    return IngestRun(
        "single",
        len(events),
        sum(appended),
        len(events),
        time.perf_counter() - began,
        1,
        len(parts),
    )


async def measure(
    api: AsyncDripstone,
    prefix: str,
    *,
    batch_events: int,
    single_events: int,
    batch_size: int = 500,
    lanes: int = 4,
) -> list[IngestRun]:
    """Fresh contacts for each route: a stored event sent again would be a free no-op."""
    runs = [
        await ingest_batches(
            api, generated_events(f"{prefix}-ab", batch_events), batch_size=batch_size, lanes=lanes
        )
    ]
    if single_events:
        runs.append(
            await ingest_singles(api, generated_events(f"{prefix}-as", single_events), lanes=lanes)
        )
    return runs
