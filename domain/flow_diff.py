"""What changed between two versions of a flow, field by field.

Steps are matched by id, not position, so inserting a step shows up as one addition
instead of every later step "changing". Values are JSON-mode dumps, so the diff reads
like the documents people edit (durations as "2d", not timedeltas).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.flow import Flow

# Assigned by publishing, so they differ between any two versions and say nothing.
_IGNORED = {"version", "published_at"}


@dataclass(frozen=True)
class FlowChange:
    path: str
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.path.startswith("steps[+"):
            return "added"
        if self.path.startswith("steps[-"):
            return "removed"
        return "changed"


def diff_flows(old: Flow, new: Flow) -> list[FlowChange]:
    before = old.model_dump(mode="json", exclude=_IGNORED)
    after = new.model_dump(mode="json", exclude=_IGNORED)
    old_steps, new_steps = before.pop("steps"), after.pop("steps")
    return _diff_fields("", before, after) + _diff_steps(old_steps, new_steps)


def _diff_steps(
    old_steps: list[dict[str, Any]], new_steps: list[dict[str, Any]]
) -> list[FlowChange]:
    old_by_id = {s["id"]: s for s in old_steps}
    new_ids = {s["id"] for s in new_steps}
    changes: list[FlowChange] = []
    for step in new_steps:
        previous = old_by_id.get(step["id"])
        if previous is None:
            changes.append(FlowChange(f"steps[+{step['id']}]", None, step))
        elif previous.get("kind") != step.get("kind"):
            # A different kind of step under the same id: field-by-field is noise.
            changes.append(FlowChange(f"steps[{step['id']}]", previous, step))
        else:
            changes += _diff_fields(f"steps[{step['id']}]", previous, step)
    changes += [
        FlowChange(f"steps[-{s['id']}]", s, None) for s in old_steps if s["id"] not in new_ids
    ]
    # Order is behaviour: a step without `next` falls through to the one after it.
    old_order = [s["id"] for s in old_steps if s["id"] in new_ids]
    new_order = [s["id"] for s in new_steps if s["id"] in old_by_id]
    if old_order != new_order:
        changes.append(FlowChange("steps.order", old_order, new_order))
    return changes


def _diff_fields(path: str, old: dict[str, Any], new: dict[str, Any]) -> list[FlowChange]:
    changes: list[FlowChange] = []
    for key in [*old, *(k for k in new if k not in old)]:
        changes += _diff_value(f"{path}.{key}" if path else key, old.get(key), new.get(key))
    return changes


def _diff_value(path: str, old: Any, new: Any) -> list[FlowChange]:
    if old == new:
        return []
    if _is_record(old) and _is_record(new):
        return _diff_fields(path, old, new)
    return [FlowChange(path, old, new)]


def _is_record(value: Any) -> bool:
    """Plain nested settings are diffed key by key; a tagged union member (a condition
    tree, a call action) is reported whole, because it reads as one rule."""
    return isinstance(value, dict) and "kind" not in value and "action" not in value
