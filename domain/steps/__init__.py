"""Every step kind a flow can contain, as one discriminated union on `kind`.
The classes live in base, messaging, contact_changes,
flow_control and experiments."""

from typing import Annotated, Union

from pydantic import Field

from domain.steps.contact_changes import CONTACT_CHANGE_STEPS
from domain.steps.experiments import EXPERIMENT_STEPS
from domain.steps.flow_control import FLOW_CONTROL_STEPS
from domain.steps.messaging import MESSAGING_STEPS

ALL_STEP_TYPES = (*MESSAGING_STEPS, *CONTACT_CHANGE_STEPS, *FLOW_CONTROL_STEPS, *EXPERIMENT_STEPS)
STEP_KINDS = {cls.model_fields["kind"].default: cls for cls in ALL_STEP_TYPES}

Step = Annotated[Union[ALL_STEP_TYPES], Field(discriminator="kind")]  # type: ignore[valid-type]

# Kinds this engine version runs (every kind today). A kind added to the language before
# the engine can run it stays out of here: it validates and publishes with a warning, and
# a journey that reaches it fails with a clear UnsupportedStep error.
EXECUTABLE_KINDS = frozenset(STEP_KINDS)
