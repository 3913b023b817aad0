"""What the journey asks at an experiment step and what it is told (one model each, so
fields can be added without breaking histories). Pure: imported by workflow code."""

from typing import Literal

from pydantic import BaseModel


class VariantRequest(BaseModel):
    flow_id: str
    flow_version: int
    step_id: str
    contact_id: str
    journey_id: str
    message_key: str  # the step visit's idempotency key: also the send's key
    step: dict  # the Experiment step as published (its rule, metric and variants)


class VariantChoice(BaseModel):
    variant: str
    phase: Literal["test", "winner"]
