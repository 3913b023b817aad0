"""Who gets what, as a pure function of identifiers: the same contact lands in the same
variant (and the same side of a holdout) on every replay, every worker, every release.
sha256 rather than hash(): Python salts str hashes per process."""

from __future__ import annotations

import hashlib

from domain.steps.experiments import Experiment

_SCALE = float(2**64)


def unit_draw(*parts: str) -> float:
    """A number in [0, 1) fixed by `parts`, evenly spread over contacts."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def assign_variant(step: Experiment, flow_id: str, contact_id: str) -> str:
    """The variant a contact gets while the test runs, by the variants' weights."""
    total = sum(v.weight for v in step.variants)
    point = unit_draw("experiment", flow_id, step.id, contact_id) * total
    reached = 0.0
    for variant in step.variants:
        reached += variant.weight
        if point < reached:
            return variant.name
    return step.variants[-1].name  # float rounding at the very top of the range


def in_holdout(flow_id: str, contact_id: str, percent: float) -> bool:
    """In the flow's control group. Drawn per flow (not per version), so raising the
    percentage keeps everyone already held out in the holdout."""
    return percent > 0 and unit_draw("holdout", flow_id, contact_id) * 100 < percent
