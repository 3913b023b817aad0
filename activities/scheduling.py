"""When a step may run in the contact's own time zone [003]. The zone needs the
contact's data (its time zone attribute, its phone), so it is found here; the arithmetic
is domain.scheduling's, done as of the workflow time the journey passes in, and the
answer is recorded in history, so a replay never recomputes it."""

from datetime import datetime

from sqlalchemy import Engine
from temporalio import activity

from domain.contracts.scheduling import PlanRequest
from domain.scheduling import (
    FlowSchedule,
    local_moment,
    next_allowed,
    next_time_of_day,
    resolve_zone,
    zone_attribute,
)
from projections.contacts import read_snapshot


class SchedulingActivities:
    def __init__(self, engine: Engine, default_zone: str, default_region: str | None = None):
        self.engine = engine
        self.default_zone = default_zone
        self.default_region = default_region

    @activity.defn(name="plan_wake")
    def plan_wake(self, request: PlanRequest) -> datetime:
        """The instant to wake: a local wall-clock moment (never before now), the next
        time of day, or now; then moved into the flow's send window if asked."""
        snapshot = read_snapshot(self.engine, request.contact_id, {"attributes"})
        attribute = zone_attribute(snapshot.attributes)
        schedule = request.schedule or FlowSchedule()
        zone, source = resolve_zone(
            attribute,
            snapshot.phone,
            self.default_zone,
            flow_zone=schedule.time_zone,
            default_region=self.default_region,
        )
        due = request.now
        if request.local_at is not None:
            due = max(request.now, local_moment(request.local_at, zone))
        elif request.time_of_day is not None:
            due = next_time_of_day(request.now, zone, request.time_of_day)
        if request.window and schedule.send_window is not None:
            due = next_allowed(due, zone, schedule.send_window)
        activity.logger.info(
            "planned %s for %s in %s (zone from %s)",
            due.isoformat(),
            request.contact_id,
            zone.key,
            source.value,
        )
        return due
