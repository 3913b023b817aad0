"""One simulation as the CLI and the API ask for it: a flow (version or draft) and either
one contact (a timeline) or a sample of the audience (counts per step)."""

import asyncio

from sqlalchemy import Engine

from settings import Settings
from simulation.flows import flow_to_simulate
from simulation.runner import Plan, simulate
from simulation.sample import SampleReport, draw, summarise
from simulation.scenario import ScheduledEvent, SimulationRefused
from simulation.timeline import JourneyTimeline


def _flow(
    engine: Engine,
    settings: Settings,
    flow_id: str,
    version: int | None,
    draft: bool,
    known_scripts: frozenset[str] | None,
):
    with engine.connect() as conn:
        return flow_to_simulate(
            conn,
            flow_id,
            version,
            draft,
            allow_private_targets=settings.webhook_allow_private_targets,
            known_scripts=known_scripts,
        )


async def simulate_flow(
    settings: Settings,
    engine: Engine,
    flow_id: str,
    *,
    version: int | None = None,
    draft: bool = False,
    contact_id: str | None = None,
    sample: int | None = None,
    events: list[ScheduledEvent] = (),
    days: int = 30,
    known_scripts: frozenset[str] | None = None,
    seed: int | None = None,
) -> JourneyTimeline | SampleReport:
    """UnknownFlow / UnknownVersion (catalogue), UnknownContact, SimulationRefused."""
    if (contact_id is None) == (sample is None):
        raise SimulationRefused("contact", "give one contact or a sample size, not both")
    flow = await asyncio.to_thread(_flow, engine, settings, flow_id, version, draft, known_scripts)
    if contact_id is not None:
        [timeline] = await simulate(
            settings, engine, Plan(flow, draft, [contact_id], list(events), days)
        )
        return timeline
    members, audience = await asyncio.to_thread(draw, engine, flow, sample, seed)
    if not members:
        raise SimulationRefused(
            "sample",
            f"the audience of flow {flow_id!r} is empty: no " "contact matches its trigger now",
        )
    timelines = await simulate(settings, engine, Plan(flow, draft, members, list(events), days))
    return summarise(flow, draft, days, audience, timelines)
