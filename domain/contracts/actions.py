"""The one request and outcome every action activity other than send_email/send_sms
takes: the step itself travels in the request, so adding a setting to a step needs no
new activity signature and old histories still decode."""

from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from domain.steps import Step

STEP_ADAPTER: TypeAdapter[Step] = TypeAdapter(Step)


class ActionRequest(BaseModel):
    idempotency_key: str = Field(description="journey id / enrollment / step / visit")
    journey_id: str
    flow_id: str
    step_id: str
    contact_id: str
    step: dict[str, Any] = Field(description="The step, model_dump(mode='json').")
    origin: str | None = Field(
        default=None,
        description="domain.change_ids.journey_origin of a journey that takes its own "
        "contact changes into its inbox; marks their event ids (None: unmarked).",
    )

    def parsed_step(self) -> Step:
        return STEP_ADAPTER.validate_python(self.step)


class ActionOutcome(BaseModel):
    status: Literal["done", "skipped", "failed"]
    reason: str | None = None
    reason_code: str | None = Field(
        default=None,
        description="Machine-readable; the workflow "
        "branches on it (e.g. no_address), never on the text.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict,
        description="What the step produced " "(event ids, provider ids, response status).",
    )

    def describe(self, kind: str) -> str:
        return f"{kind} {self.status}" + (f": {self.reason}" if self.reason else "")


# Activity names, one per kind of action (worker.py registers them; stored histories
# name them, so they never change).
CONTACT_CHANGE_ACTIVITY = "apply_contact_change"


class FlowRequest(BaseModel):
    flow_id: str


class ControlRequest(BaseModel):
    """A journey acting on the contact's journey in another flow."""

    flow_id: str
    contact_id: str
    signal: Literal["enroll", "stop", "pause", "resume"]
    enrollment_id: str | None = None
    reason: str | None = None


class ControlOutcome(BaseModel):
    result: str
