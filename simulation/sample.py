"""Simulating a sample of a flow's audience: per step, how many contacts reach it and
how many get each of its messages; per ending, how many end that way."""

import random
from collections import Counter

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from domain.flow import Flow
from projections.audience import audience_pages
from simulation.timeline import JourneyTimeline

# The audience is read in pages up to this many members; the sample is drawn from them.
MAX_DRAWN_FROM = 50_000


class StepReach(BaseModel):
    step_id: str
    kind: str
    name: str
    reached: int = Field(description="Contacts of the sample who reached the step.")
    messages: dict[str, int] = Field(
        default_factory=dict, description="Per channel: contacts it sent to."
    )
    variants: dict[str, int] = Field(
        default_factory=dict, description="An experiment step: " "visits given each variant."
    )
    skipped: dict[str, int] = Field(
        default_factory=dict,
        description="Visits that skipped " "the step, by reason (holdout, unsubscribed_topic...).",
    )


class SampleReport(BaseModel):
    flow_id: str
    flow_version: int
    draft: bool
    days: int
    audience: int = Field(
        description="Members the sample was drawn from (the flow's "
        f"audience now, read up to {MAX_DRAWN_FROM})."
    )
    sampled: int
    steps: list[StepReach]
    endings: dict[str, int] = Field(description="How the sampled journeys ended, by status.")


def draw(engine: Engine, flow: Flow, size: int, seed: int | None = None) -> tuple[list[str], int]:
    """Up to `size` members of the flow's audience, at random; and how many there were."""
    members: list[str] = []
    for page in audience_pages(engine, flow):
        members += page.contact_ids
        if len(members) >= MAX_DRAWN_FROM:
            break
    chosen = members if len(members) <= size else random.Random(seed).sample(members, size)
    return sorted(chosen), len(members)


def summarise(
    flow: Flow, draft: bool, days: int, audience: int, timelines: list[JourneyTimeline]
) -> SampleReport:
    reached: dict[str, set[str]] = {step.id: set() for step in flow.steps}
    sent: dict[str, Counter] = {step.id: Counter() for step in flow.steps}
    variants: dict[str, Counter] = {step.id: Counter() for step in flow.steps}
    skipped: dict[str, Counter] = {step.id: Counter() for step in flow.steps}
    for timeline in timelines:
        for entry in timeline.entries:
            if entry.kind != "step" or entry.step_id not in reached:
                continue
            reached[entry.step_id].add(timeline.contact_id)
            for channel in {m.channel for m in entry.messages}:
                sent[entry.step_id][channel] += 1
            if entry.variant is not None:
                variants[entry.step_id][entry.variant] += 1
            if entry.result == "skipped":
                skipped[entry.step_id][entry.reason or "other"] += 1
    return SampleReport(
        flow_id=flow.id,
        flow_version=flow.version,
        draft=draft,
        days=days,
        audience=audience,
        sampled=len(timelines),
        steps=[
            StepReach(
                step_id=step.id,
                kind=step.kind,
                name=step.describe(),
                reached=len(reached[step.id]),
                messages=dict(sent[step.id]),
                variants=dict(variants[step.id]),
                skipped=dict(skipped[step.id]),
            )
            for step in flow.steps
        ],
        endings=dict(Counter(t.status for t in timelines)),
    )
