"""Which flow a simulation plays: a published version (the live one by default) or the
draft, read from the real catalogue. A draft with errors is refused, as publishing
would refuse it: the journey could not run it either."""

from sqlalchemy import Connection

from domain.flow import Flow
from domain.steps.flow_control import StartFlow
from domain.validation import parse_flow
from projections.contacts import known_fields
from projections.flow_catalogue import find_flow, get_flow, get_version
from simulation.scenario import SimulationRefused


def flow_to_simulate(
    conn: Connection,
    flow_id: str,
    version: int | None = None,
    draft: bool = False,
    *,
    allow_private_targets: bool = False,
    known_scripts: frozenset[str] | None = None,
) -> Flow:
    """UnknownFlow / UnknownVersion from the catalogue; SimulationRefused otherwise."""
    if draft and version is not None:
        raise SimulationRefused("version", "give a version or the draft, not both")
    record = get_flow(conn, flow_id)
    if draft:
        if record.draft is None:
            raise SimulationRefused("draft", f"flow {flow_id!r} has no unpublished draft")
        flow, problems = parse_flow(
            record.draft,
            known_fields(conn),
            allow_private_targets=allow_private_targets,
            known_scripts=known_scripts,
        )
        errors = [p for p in problems if p.severity == "error"]
        if flow is None or errors:
            listed = "; ".join(str(p) for p in errors)
            raise SimulationRefused("draft", f"the draft of {flow_id!r} has errors: {listed}")
        return flow
    if version is None:
        if record.current_version == 0:
            raise SimulationRefused(
                "version", f"flow {flow_id!r} has no published version " "yet; simulate its draft"
            )
        version = record.current_version
    return get_version(conn, flow_id, version)


def reachable_flows(conn: Connection, flow: Flow) -> list[Flow]:
    """The live versions of the flows a journey of `flow` may start (start_flow steps),
    and of those they may start in turn: the simulation's catalogue needs them, or the
    step fails there for want of a flow that exists in the real one. A flow not
    published (or missing) is left out, so the step fails as it would in production."""
    found: dict[str, Flow] = {}
    pending = [flow]
    while pending:
        for step in pending.pop().steps:
            if not isinstance(step, StartFlow) or not step.flow_id or step.flow_id in found:
                continue
            record = find_flow(conn, step.flow_id)
            if record is None or not record.current_version:
                continue
            found[step.flow_id] = get_version(conn, step.flow_id, record.current_version)
            pending.append(found[step.flow_id])
    return [found[flow_id] for flow_id in sorted(found)]
