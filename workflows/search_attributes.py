"""Typed search attributes so ops can find any journey in the Temporal UI.

Values are ids and states only, never personal data (names, e-mails, phones)."""

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

FLOW_ID = SearchAttributeKey.for_keyword("DripstoneFlowId")
FLOW_VERSION = SearchAttributeKey.for_int("DripstoneFlowVersion")
CONTACT_ID = SearchAttributeKey.for_keyword("DripstoneContactId")
CURRENT_STEP = SearchAttributeKey.for_keyword("DripstoneStep")
STATUS = SearchAttributeKey.for_keyword("DripstoneStatus")

ALL = (FLOW_ID, FLOW_VERSION, CONTACT_ID, CURRENT_STEP, STATUS)


def initial(flow_id: str, version: int, contact_id: str, first_step: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(FLOW_ID, flow_id),
            SearchAttributePair(FLOW_VERSION, version),
            SearchAttributePair(CONTACT_ID, contact_id),
            SearchAttributePair(CURRENT_STEP, first_step),
            SearchAttributePair(STATUS, "running"),
        ]
    )


def changes(
    current: TypedSearchAttributes, *pairs: SearchAttributePair
) -> list[SearchAttributeUpdate]:
    """Updates for the pairs whose value differs from `current` (a workflow's attributes:
    those it started with plus every upsert since, so the same on replay). An upsert that
    changes nothing would still cost a command and a history event."""
    return [pair.key.value_set(pair.value) for pair in pairs if current.get(pair.key) != pair.value]
