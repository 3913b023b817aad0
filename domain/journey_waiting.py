"""Why a journey is waiting and until when, told from its state and its flow version:
what `dripstone journeys` and the journeys route show, so nobody has to read a raw
Temporal history to learn when a contact will move on."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from domain.durations import format_duration
from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus, WaitMark
from domain.steps import Step
from domain.steps.flow_control import Wait, WaitForEvent

WAITING = (JourneyStatus.WAITING, JourneyStatus.PAUSED)


class WaitView(BaseModel):
    step_id: str
    reason: str = Field(
        description="What it waits for: a delay, a date, a local time, the "
        "send window, an event."
    )
    until: datetime | None = Field(
        description="When it wakes (UTC); null: only an event or " "a control ends the wait."
    )
    until_local: datetime | None = Field(description="The same moment in the contact's zone.")
    zone: str = Field(description="The contact's zone, as the journey's timing resolves it.")
    paused: bool = Field(
        default=False,
        description="Held by a pause: it does not move on at "
        "`until`, only once resumed (then as the flow's "
        "expired_while_paused says).",
    )


def waiting_view(flow: Flow, state: JourneyState, zone: ZoneInfo) -> WaitView | None:
    """None unless the journey sits in a wait now."""
    mark = state.wait
    if mark is None or state.status not in WAITING or mark.step_id != state.current_step:
        return None
    step = next((s for s in flow.steps if s.id == mark.step_id), None)
    until = mark.until
    return WaitView(
        step_id=mark.step_id,
        reason=_reason(flow, step, mark),
        until=until,
        until_local=until.astimezone(zone) if until else None,
        zone=zone.key,
        paused=state.status == JourneyStatus.PAUSED,
    )


def _reason(flow: Flow, step: Step | None, mark: WaitMark) -> str:
    if step is None:  # a step of a version this flow document no longer has
        return f"{mark.phase} wait"
    if mark.phase == "window":
        window = flow.schedule.send_window if flow.schedule else None
        hours = f" {window.start:%H:%M}-{window.end:%H:%M}" if window else ""
        return f"the send window{hours}"
    if mark.phase == "when" and step.when is not None:
        when = step.when
        if when.delay is not None:
            return f"a delay of {format_duration(when.delay)} before the step"
        if when.local_at is not None:
            return f"{when.local_at:%Y-%m-%d %H:%M} in the contact's zone"
        return "a date"
    if isinstance(step, WaitForEvent):
        timeout = f", at most {format_duration(step.timeout)}" if step.timeout else ""
        return f"event {step.event}{timeout}"
    if isinstance(step, Wait):
        if step.delay is not None:
            return f"a delay of {format_duration(step.delay)}"
        if step.time_of_day is not None:
            return f"{step.time_of_day.at:%H:%M} in the contact's zone"
        return "a date"
    return f"{mark.phase} wait"
