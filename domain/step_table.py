"""What every step kind runs, and how: one table, keyed by step kind.

Pure data. The journey (workflows/journey_steps.py) reads an entry and calls its
activity through one call path; nothing about a kind's retries, timeouts, quiet hours or
local-or-not lives anywhere else. To find what `send_sms` does, read STEP_TABLE["send_sms"].

Local activities run inside the workflow task on the worker that runs the journey: no
ActivityTaskScheduled/Started/Completed events and no round trip through the task queue.
Only calls that are short and safe to repeat are local: the contact-change ledger (one
event per idempotency key) and read-only lookups. Provider sends, call-outs and anything
that may wait on someone else stay regular activities (a worker that dies mid-call must
not hold a workflow task, and Temporal must be able to time the call out on its own).
A send through the embedded, unpaced outbox is one short transaction keyed like the
ledger: the journey runs it local (local_send) when its input says the deployment that
started it delivers that channel so (JourneyInput.local_sends, from Settings)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from domain.contracts.actions import CONTACT_CHANGE_ACTIVITY
from domain.steps import STEP_KINDS
from domain.steps.contact_changes import CONTACT_CHANGE_STEPS


@dataclass(frozen=True)
class Retry:
    """A retry policy as plain data (domain imports no SDK); workflows/retries.py makes
    it Temporal's RetryPolicy. Fields and defaults are the SDK's."""

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = 2.0
    maximum_interval: timedelta | None = None
    non_retryable_error_types: tuple[str, ...] = ()


# Sends retry for a day with capped backoff: a provider outage delays mail rather than
# dropping it; after a day the step records the failure and the journey goes on.
# Rejections (4xx) are non-retryable and are recorded on the step at once.
SEND_RETRY = Retry(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=("ProviderRejected", "UnknownContact", "TargetRefused"),
)
# Contact changes only touch our own database: retry until it answers, except a change
# that can never be valid.
CHANGE_RETRY = Retry(
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=("InvalidChange", "UnknownContact"),
)
# Errors a step's call reports as final: recorded on the step, and the journey goes on.
FINAL_ERRORS = frozenset(
    {"ProviderRejected", "InvalidChange", "UnknownContact", "TargetRefused", "UnknownFlow"}
)
# Their reason_code on the step (the rest: the error type as is).
ERROR_CODES = {"ProviderRejected": "rejected"}
DAY = timedelta(days=1)
# A worker killed mid-call must not add a minute to the step. Sends are found dead by
# their heartbeat: a send heartbeats from a thread of its own for its whole attempt
# (activities/heartbeat.py, every 5 s), so 20 s without a heartbeat means the worker is
# gone, never that a lock or the provider is slow. The attempt is bounded well above a
# SQLite lock wait (busy_timeout 30 s, projections/database.py) plus the provider's HTTP
# timeout (15 s) plus a wait for the provider's pace; a retry waits for an earlier attempt
# whose ledger lease is still renewed (activities/ledger.py claim) rather than sending again.
SEND_ATTEMPT = timedelta(minutes=2)
SEND_HEARTBEAT = timedelta(seconds=20)
# Attachments are fetched (up to 30 s a read, several files) without heartbeats: such an
# email gets the whole attempt and no heartbeat timeout, as before.
ATTACHING_ATTEMPT = timedelta(minutes=2)
# Short steps only touch our database, but may wait out SQLite's busy_timeout (30 s).
SHORT_ATTEMPT = timedelta(seconds=45)
# Call-outs wait on someone else's server (a webhook may take 50 s by its own setting).
CALLOUT_ATTEMPT = timedelta(seconds=60)

Role = Literal["message", "action", "control", "routing", "wait"]


@dataclass(frozen=True)
class Call:
    """How one activity is called from a journey."""

    activity: str
    retry: Retry
    start_to_close: timedelta
    schedule_to_close: timedelta | None = None
    heartbeat: timedelta | None = None
    local: bool = False  # behind the "journey-local-steps" patch (older runs: regular)
    # Errors recorded on the step (the journey goes on) rather than failing the journey.
    recorded: frozenset[str] = FINAL_ERRORS


@dataclass(frozen=True)
class StepKind:
    role: Role  # message/action: what a holdout or an expired-while-paused skip holds back
    call: Call | None  # None: the workflow decides alone (or starts a child workflow)
    quiet_hours: bool = False  # held until the flow's send window opens


# A refused message is recorded; an unknown contact fails the journey (as it always has).
SEND_EMAIL = Call(
    "send_email",
    SEND_RETRY,
    SEND_ATTEMPT,
    DAY,
    SEND_HEARTBEAT,
    recorded=frozenset({"ProviderRejected"}),
)
SEND_SMS = Call(
    "send_sms",
    SEND_RETRY,
    SEND_ATTEMPT,
    DAY,
    SEND_HEARTBEAT,
    recorded=frozenset({"ProviderRejected"}),
)


def local_send(send: Call) -> Call:
    """A send through the embedded outbox, as a local activity (JourneyInput.local_sends):
    one short transaction whose idempotency key makes a retry exact. No heartbeat (a
    local activity has none); an unpaced outbox never waits for a slot."""
    return replace(send, local=True, heartbeat=None)


SEND_EMAIL_ATTACHING = Call(
    "send_email", SEND_RETRY, ATTACHING_ATTEMPT, DAY, recorded=frozenset({"ProviderRejected"})
)
# One contact event (a tag step's change, a conversion); its id derives from the key, so
# a retry appends nothing twice. A tag step's invalid change is recorded like any contact
# change behind "tag-invalid-change-recorded" (older runs failed the journey).
CONTACT_EVENT = Call("change_contact", CHANGE_RETRY, SHORT_ATTEMPT, DAY, local=True)
CONTACT_CHANGE = Call(CONTACT_CHANGE_ACTIVITY, CHANGE_RETRY, SHORT_ATTEMPT, DAY, local=True)
CONDITION = Call("evaluate_condition", CHANGE_RETRY, SHORT_ATTEMPT, local=True)
PLAN_WAKE = Call("plan_wake", CHANGE_RETRY, SHORT_ATTEMPT, local=True)
# Acting on other journeys signals Temporal itself: regular, so a retry is Temporal's.
ENROLL = Call("enroll_in_flow", CHANGE_RETRY, SHORT_ATTEMPT)
CONTROL = Call("control_journey", CHANGE_RETRY, SHORT_ATTEMPT)
LOAD_FLOW = Call("published_flow", CHANGE_RETRY, SHORT_ATTEMPT)


def _callout(activity: str) -> Call:
    return Call(activity, SEND_RETRY, CALLOUT_ATTEMPT, DAY)


_TAGS = {"add_tag", "remove_tag", "change_tags"}
_CONTACT_CHANGES = (
    {cls.model_fields["kind"].default for cls in CONTACT_CHANGE_STEPS} - _TAGS - {"run_script"}
)

STEP_TABLE: dict[str, StepKind] = {
    "send_email": StepKind("message", SEND_EMAIL, quiet_hours=True),  # attachments: see above
    "send_sms": StepKind("message", SEND_SMS, quiet_hours=True),
    "phone_call": StepKind("message", _callout("place_call"), quiet_hours=True),
    "webhook": StepKind("message", _callout("call_webhook")),
    "notify_team": StepKind("message", _callout("notify_team")),
    # The variant is chosen by an activity, then sent as send_email/send_sms above.
    "experiment": StepKind(
        "message", Call("choose_variant", CHANGE_RETRY, SHORT_ATTEMPT), quiet_hours=True
    ),
    **{kind: StepKind("action", CONTACT_EVENT) for kind in sorted(_TAGS)},
    **{kind: StepKind("action", CONTACT_CHANGE) for kind in sorted(_CONTACT_CHANGES)},
    "run_script": StepKind("action", None),  # a child workflow with its own retries
    "start_flow": StepKind("control", ENROLL),  # or a child journey (wait_for_completion)
    "stop_flow": StepKind("control", CONTROL),
    "pause_flow": StepKind("control", CONTROL),
    "branch": StepKind("routing", CONDITION),
    "multi_branch": StepKind("routing", CONDITION),
    "split": StepKind("routing", None),  # workflow.random(): replays the same draw
    "goal": StepKind("routing", CONDITION),
    "exit": StepKind("routing", None),
    "wait": StepKind("wait", PLAN_WAKE),  # only a time-of-day wait asks plan_wake
    "wait_for_event": StepKind("wait", CONDITION),  # only its `matching` condition
}
assert set(STEP_TABLE) == set(STEP_KINDS), "every step kind has an entry, and only those"


def spec(kind: str) -> StepKind:
    return STEP_TABLE[kind]


def holds_back(kind: str) -> bool:
    """Messages and contact changes: what a wait that ran out while paused skips."""
    return kind in STEP_TABLE and STEP_TABLE[kind].role in ("message", "action")
