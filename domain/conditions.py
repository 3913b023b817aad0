"""Condition trees (all / any / not over predicates) and their pure evaluation.

Evaluation takes a ContactSnapshot read from the projections plus an explicit `now`,
so the same tree gives the same answer in a replayed workflow and in a test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from domain.predicates import (  # noqa: F401  (re-exported: the tree's leaves)
    OPERATORS_WITHOUT_VALUE, PREDICATES, AttributeCompare, AttributeOperator, HasTag, NotChosen,
)


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AllOf(_Node):
    kind: Literal["all"] = "all"
    conditions: list[Condition] = Field(default_factory=list)


class AnyOf(_Node):
    kind: Literal["any"] = "any"
    conditions: list[Condition] = Field(default_factory=list)


class Not(_Node):
    kind: Literal["not"] = "not"
    condition: Condition


Condition = Annotated[
    Union[(*PREDICATES, AllOf, AnyOf, Not)], Field(discriminator="kind")  # type: ignore[misc]
]
for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()


class ContactSnapshot(BaseModel):
    """What conditions may read about one contact, as of one moment."""

    model_config = ConfigDict(frozen=True)

    contact_id: str
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    created_at: datetime | None = None

    def field(self, name: str) -> Any:
        if name in ("email", "phone", "contact_id"):
            return getattr(self, name)
        return self.attributes.get(name)


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != []


def compare(actual: Any, op: str, expected: Any) -> bool:
    """The attribute operators, shared by contact attributes and event properties."""
    if op == "is_set":
        return _is_set(actual)
    if op == "is_not_set":
        return not _is_set(actual)
    if actual is None:
        # An unset attribute satisfies only "not equal": it is certainly not the value.
        return op == "ne"
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "contains":
        return str(expected).lower() in str(actual).lower()
    if op == "starts_with":
        return str(actual).lower().startswith(str(expected).lower())
    if op == "in":
        return actual in (expected or [])
    try:
        if op == "gt":
            return actual > expected
        if op == "gte":
            return actual >= expected
        if op == "lt":
            return actual < expected
        if op == "lte":
            return actual <= expected
    except TypeError:
        # Ordering a number against text has no sensible answer; treat it as not matching.
        return False
    raise ValueError(f"unknown operator {op!r}")


class NotEvaluable(ValueError):
    """A predicate the engine can express but not yet decide (its read model is pending)."""

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(f"condition kind {kind!r} cannot be evaluated yet")


def evaluate(condition: Condition, contact: ContactSnapshot, now: datetime) -> bool:
    match condition:
        case AllOf(conditions=children):
            return all(evaluate(c, contact, now) for c in children)
        case AnyOf(conditions=children):
            return any(evaluate(c, contact, now) for c in children)
        case Not(condition=child):
            return not evaluate(child, contact, now)
        case HasTag(tag=tag):
            return tag in contact.tags
        case AttributeCompare(field=field, op=op, value=value):
            return compare(contact.field(field), op, value)
        case NotChosen():
            return True
    raise NotEvaluable(condition.kind)


# Predicates this engine version can decide today; the others parse and validate but
# need read models that are still to come (see NotEvaluable).
EVALUABLE_KINDS = frozenset({"has_tag", "attribute", "not_chosen", "all", "any", "not"})


def unevaluable_kinds(condition: Condition) -> set[str]:
    return {node.kind for node in walk(condition) if node.kind not in EVALUABLE_KINDS}


def walk(condition: Condition):
    """Yield every node of a tree, parents first (used by validation)."""
    yield condition
    if isinstance(condition, (AllOf, AnyOf)):
        for child in condition.conditions:
            yield from walk(child)
    elif isinstance(condition, Not):
        yield from walk(condition.condition)
