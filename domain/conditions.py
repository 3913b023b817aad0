"""Condition trees (all / any / not over predicates) and their pure evaluation.

Evaluation (domain.evaluation) takes a ContactSnapshot read from the projections plus
an explicit `now`, so the same tree gives the same answer in a replayed workflow and in
a test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from domain.contact_facts import FACT_GROUPS, ContactSnapshot  # noqa: F401  (re-exported)
from domain.evaluation import compare, evaluate_leaf, uncomparable  # noqa: F401  (re-exported)
from domain.predicates import (  # noqa: F401  (re-exported: the tree's leaves)
    CONTACT_ZONE,
    DATA_FREE,
    OPERATORS_WITHOUT_VALUE,
    PREDICATES,
    AttributeCompare,
    AttributeOperator,
    HasTag,
    LeadEvent,
    NotChosen,
)


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    if TYPE_CHECKING:
        kind: str


class AllOf(_Node):
    kind: Literal["all"] = "all"
    conditions: list[Condition] = Field(default_factory=list)


class AnyOf(_Node):
    kind: Literal["any"] = "any"
    conditions: list[Condition] = Field(default_factory=list)


class Not(_Node):
    kind: Literal["not"] = "not"
    condition: Condition


if TYPE_CHECKING:
    # A union built from a tuple at run time is opaque to a type checker.
    from domain.predicates import _Leaf

    Condition = AllOf | AnyOf | Not | _Leaf
else:
    # Union[...] of a tuple built at run time: the `|` spelling cannot take a tuple.
    Condition = Annotated[Union[(*PREDICATES, AllOf, AnyOf, Not)], Field(discriminator="kind")]  # noqa: UP007
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


def evaluate(condition: Condition, contact: ContactSnapshot, now: datetime) -> bool:
    match condition:
        case AllOf(conditions=children):
            return all(evaluate(c, contact, now) for c in children)
        case AnyOf(conditions=children):
            return any(evaluate(c, contact, now) for c in children)
        case Not(condition=child):
            return not evaluate(child, contact, now)
    return evaluate_leaf(condition, contact, now)


def uncomparable_attributes(condition: Condition, contact: ContactSnapshot) -> list[str]:
    """The attribute leaves that could not be compared for this contact, described
    without the contact's value (logs are no place for personal data)."""
    return [
        f"{node.field} {node.op} {node.value!r}: one side is a number, the other "
        "text that is not one"
        for node in walk(condition)
        if isinstance(node, AttributeCompare)
        for actual in [contact.field(node.field)]
        if uncomparable(actual, node.op, node.value)
    ]


def is_data_free(condition: Condition) -> bool:
    """True when the tree needs only the clock, so a workflow can decide it itself."""
    return all(
        isinstance(node, (AllOf, AnyOf, Not, *DATA_FREE)) for node in walk(condition)
    ) and not uses_contact_zone(condition)


def uses_contact_zone(condition: Condition) -> bool:
    """A clock leaf in the contact's own zone: it needs the contact's zone data."""
    return any(getattr(node, "timezone", None) == CONTACT_ZONE for node in walk(condition))


def fact_groups(condition: Condition) -> set[str]:
    """The read-model groups a loader must fill for this tree."""
    zone = {"contact", "attributes"} if uses_contact_zone(condition) else set()
    return zone | {FACT_GROUPS[node.kind] for node in walk(condition) if node.kind in FACT_GROUPS}


def lead_event_names(condition: Condition) -> set[str]:
    """The events lead_event leaves ask about, so a loader reads only those from the store
    rather than the contact's whole history."""
    return {node.event for node in walk(condition) if isinstance(node, LeadEvent)}


def walk(condition: Condition) -> Iterator[Condition]:
    """Yield every node of a tree, parents first (used by validation)."""
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for child in condition.conditions:
            yield from walk(child)
    elif isinstance(condition, Not):
        yield from walk(condition.condition)
