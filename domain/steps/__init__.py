"""Every step kind a flow can contain, as one discriminated union on `kind`.
The classes live in base, messaging, contact_changes,
flow_control and experiments."""

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from domain.steps.contact_changes import CONTACT_CHANGE_STEPS
from domain.steps.experiments import EXPERIMENT_STEPS
from domain.steps.flow_control import FLOW_CONTROL_STEPS
from domain.steps.messaging import MESSAGING_STEPS

ALL_STEP_TYPES = (*MESSAGING_STEPS, *CONTACT_CHANGE_STEPS, *FLOW_CONTROL_STEPS, *EXPERIMENT_STEPS)
STEP_KINDS = {cls.model_fields["kind"].default: cls for cls in ALL_STEP_TYPES}

if TYPE_CHECKING:
    # A union built from a tuple at run time is opaque to a type checker; what every
    # kind shares is StepBase, and code that needs one kind narrows with isinstance.
    from domain.steps.base import StepBase as Step
else:
    # Union[...] of a tuple built at run time: the `|` spelling cannot take a tuple.
    Step = Annotated[Union[ALL_STEP_TYPES], Field(discriminator="kind")]  # noqa: UP007
