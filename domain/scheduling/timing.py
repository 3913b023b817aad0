"""A flow's timing settings and the moment a step may run."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from domain.scheduling.clock import local_moment, require_aware
from domain.scheduling.windows import SendWindow, next_allowed
from domain.scheduling.zones import zone_named
from domain.steps.base import Model, When


class FlowSchedule(Model):
    """Per-flow "when to run" settings (Flow.schedule).

    `time_zone` replaces the system default for contacts whose own zone is unknown (it
    never overrides the contact's attribute or phone). `send_window` holds messages to
    the contact (send_email, send_sms, phone_call) to allowed hours and weekdays (quiet
    hours are its complement); other steps run when due.
    """

    time_zone: str | None = Field(
        default=None,
        description="IANA zone for contacts with no zone of their own, "
        "instead of the system default, e.g. 'Europe/Berlin'.",
    )
    send_window: SendWindow | None = Field(
        default=None,
        description="Local hours and weekdays when messages to the contact "
        "(send_email, send_sms, phone_call) may go out; one due outside it waits for its "
        "next opening. Other steps run when due.",
    )

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, value: str | None) -> str | None:
        # Checked here rather than at publish: like an unknown weekday, a zone name that is
        # not IANA is a typing mistake, never a half-finished draft.
        if value is None:
            return None
        zone = zone_named(value)
        if zone is None:
            raise ValueError(f"{value!r} is not an IANA time zone name, e.g. 'Europe/Berlin'")
        return zone.key


def wake_at(
    now: datetime, zone: ZoneInfo, when: When | None, window: SendWindow | None = None
) -> datetime:
    """The instant (aware, UTC) a step with `when` may run, given the flow's window.

    - nothing set: now;
    - `delay`: now + delay in elapsed time (a "1d" delay across a DST change is 24 hours,
      like the Temporal timer that runs it, not "same clock time tomorrow");
    - `at`: that instant, or now if it has passed (late steps run, they are not skipped);
    - `local_at`: that wall-clock time in `zone` (see local_moment for gaps and
      ambiguity), or now if it has passed;

    then moved forward to the next moment inside `window` (unchanged if inside already).
    """
    now = require_aware(now)
    due = now
    if when is not None and when.delay is not None:
        due = now + when.delay
    elif when is not None and when.at is not None:
        due = max(now, when.at.astimezone(UTC))
    elif when is not None and when.local_at is not None:
        due = max(now, local_moment(when.local_at, zone))
    return next_allowed(due, zone, window)
