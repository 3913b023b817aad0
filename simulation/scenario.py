"""What a simulation is asked to play: events at virtual times after enrollment, for a
number of virtual days. Checked at the edge (CLI, API) before any server starts; every
problem names its field (`events[2].after`), as the event API does."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.durations import Duration
from domain.events import EventRejected, parse_event

MAX_DAYS = 365
MAX_SAMPLE = 1000
MAX_EVENTS = 200


class SimulationRefused(ValueError):
    """Cannot simulate as asked; `field` names what to change."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


class UnknownContact(SimulationRefused):
    pass


class ScheduledEvent(BaseModel):
    """One event to inject, `after` enrollment (virtual time), as if a service sent it."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="An event type, e.g. sms.received (docs/events.md).")
    payload: dict[str, Any] = Field(default_factory=dict)
    after: Duration = Field(description="Virtual time after enrollment: 3h, 1d2h, 90m...")


def _path(prefix: str, loc: tuple) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def check_events(
    raw: Any, days: int = 30, field: str = "events", phone_region: str | None = None
) -> list[ScheduledEvent]:
    """The events in the order they happen, or EventRejected naming every bad field: a
    bad type or payload is refused as POST /v1/events would refuse it."""
    if not isinstance(raw, list):
        raise EventRejected([(field, "must be a list of events ({type, payload, after})")])
    if len(raw) > MAX_EVENTS:
        raise EventRejected([(field, f"at most {MAX_EVENTS} events per simulation")])
    problems, checked = [], []
    now = datetime.now(UTC)
    for i, item in enumerate(raw):
        where = f"{field}[{i}]"
        try:
            event = ScheduledEvent.model_validate(item)
        except ValidationError as exc:
            problems += [(_path(where, tuple(e["loc"])), e["msg"]) for e in exc.errors()]
            continue
        try:
            parse_event(
                {
                    "event_id": f"simulation-check-{i}",
                    "type": event.type,
                    "contact_id": "simulation-check",
                    "occurred_at": now,
                    "payload": event.payload,
                },
                now=now,
                phone_region=phone_region,
            )
        except EventRejected as exc:
            problems += [(f"{where}.{name}", reason) for name, reason in exc.problems]
            continue
        if event.after > timedelta(days=days):
            problems.append((f"{where}.after", f"is later than the {days} simulated days"))
            continue
        checked.append(event)
    if problems:
        raise EventRejected(problems)
    # Stable: events given for the same moment arrive in the order written.
    return sorted(checked, key=lambda e: e.after)


def read_events_file(
    path: Path, days: int = 30, phone_region: str | None = None
) -> list[ScheduledEvent]:
    """A YAML or JSON list of events (JSON is YAML). EventRejected for any problem,
    a missing or unreadable file included, so the CLI says which and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EventRejected(
            [("--events", f"cannot read it: {getattr(exc, 'strerror', None) or exc}")]
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EventRejected([("--events", f"it is not YAML or JSON: {exc}")]) from None
    return check_events(raw, days, phone_region=phone_region)
