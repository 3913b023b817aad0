"""A journey's own contact changes (tag steps, contact-change steps, its conversion)
heard by the journey itself (a mixin of JourneyWorkflow; journey-patches-v11).

Before v11 the router signalled a journey with the events its own steps appended, as
with any event of the contact: a signal and a workflow task per change, and, after a
last step, a task the server refused because it landed as the journey completed (then
the run replayed from the start). A v11 run marks its changes with its origin
(domain.change_ids; the router skips the journey that made them) and takes each into
its inbox as the step that made it returns, so goals and waits that listen for it
still hear it: in the order the steps ran, the same on every replay."""

from collections.abc import Callable, Iterable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.change_ids import journey_origin
    from domain.contracts.actions import ActionOutcome
    from domain.contracts.contact_changes import ContactChangeOutcome
    from domain.events import ContactEvent
    from domain.journey import JourneyInput
    from workflows.journey_progress import JourneyProgressReports

# As the activities that append them say (activities/contact_changes.py).
OWN_SOURCE = "dripstone.journey"


class JourneyOwnChanges(JourneyProgressReports):
    _input: JourneyInput
    on_event: Callable[[ContactEvent], None]  # the "event" signal's handler (journey.py)

    def _origin(self) -> str | None:
        """What marks this run's changes, in runs that hear their own (None before v11:
        the router still signals them, as those runs expect)."""
        if not self._owns_changes:
            return None
        return journey_origin(workflow.info().workflow_id, self._input.enrollment_id)

    def _hear_own(self, request, result) -> None:
        """The events a marked change appended, as the router would have signalled them
        (routing.heard.for_journey: ids, type and time, no payload)."""
        if getattr(request, "origin", None) is None:
            return
        for event_id, event_type in _appended(request, result):
            self.on_event(
                ContactEvent(
                    event_id=event_id,
                    type=event_type,
                    contact_id=self._input.contact_id,
                    occurred_at=workflow.now(),
                    source=OWN_SOURCE,
                )
            )


def _appended(request, result) -> Iterable[tuple[str, str]]:
    if isinstance(result, ContactChangeOutcome):
        return [(result.event_id, str(request.event_type))]
    if isinstance(result, ActionOutcome) and result.status == "done":
        return zip(
            result.data.get("event_ids", []), result.data.get("event_types", []), strict=True
        )
    return []
