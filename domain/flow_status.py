"""The flow lifecycle: draft -> published <-> paused, and archived as the end.

Only a published flow enrolls contacts. Publishing a paused flow stores the new version
but leaves the flow paused: a fix made while paused must not start enrolling before
someone resumes it on purpose. Archived is final so an archived id can never quietly
come back to life under a later publish.
"""

from __future__ import annotations

from domain.flow import FlowStatus

DRAFT, PUBLISHED, PAUSED, ARCHIVED = (
    FlowStatus.DRAFT,
    FlowStatus.PUBLISHED,
    FlowStatus.PAUSED,
    FlowStatus.ARCHIVED,
)

# action -> {status before: status after}; a status missing from the map refuses it.
# `None` before is a flow the catalogue has never seen.
TRANSITIONS: dict[str, dict[FlowStatus | None, FlowStatus]] = {
    "save a draft of": {None: DRAFT, DRAFT: DRAFT, PUBLISHED: PUBLISHED, PAUSED: PAUSED},
    "publish": {None: PUBLISHED, DRAFT: PUBLISHED, PUBLISHED: PUBLISHED, PAUSED: PAUSED},
    "pause": {PUBLISHED: PAUSED},
    "resume": {PAUSED: PUBLISHED},
    "archive": {DRAFT: ARCHIVED, PUBLISHED: ARCHIVED, PAUSED: ARCHIVED},
}

# What each action asks the flow to become, for error messages.
_REQUESTED = {
    "save a draft of": DRAFT,
    "publish": PUBLISHED,
    "pause": PAUSED,
    "resume": PUBLISHED,
    "archive": ARCHIVED,
}


class IllegalTransition(ValueError):
    def __init__(self, flow_id: str, current: FlowStatus | None, action: str):
        self.flow_id = flow_id
        self.current = current
        self.action = action
        self.requested = _REQUESTED[action]
        names = [s.value for s in TRANSITIONS[action] if s is not None]
        allowed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
        state = f"it is {current.value}" if current else "it does not exist"
        super().__init__(
            f"cannot {action} flow {flow_id!r}: {state}, and only a {allowed} flow can be "
            f"{_PAST[action]} ({current.value if current else 'nothing'} -> {self.requested.value})"
        )


_PAST = {
    "save a draft of": "edited",
    "publish": "published",
    "pause": "paused",
    "resume": "resumed",
    "archive": "archived",
}


def next_status(flow_id: str, current: FlowStatus | None, action: str) -> FlowStatus:
    """The status after `action`, or IllegalTransition naming both states."""
    after = TRANSITIONS[action].get(current)
    if after is None:
        raise IllegalTransition(flow_id, current, action)
    return after
