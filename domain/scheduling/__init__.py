"""Timing arithmetic for "when to run" [003]: the contact's zone, wall-clock times across
daylight-saving changes, times of day, send windows / quiet hours, and when a step may run.

Pure and deterministic: no I/O beyond the pinned tz database, no wall clock ("now" is
always an argument), so workflow code calls it with workflow.now(). Results are aware
UTC datetimes.
"""

from domain.scheduling.clock import ALL_WEEKDAYS, local_moment, next_time_of_day, wall_clock
from domain.scheduling.timing import FlowSchedule, wake_at
from domain.scheduling.windows import SendWindow, is_allowed, next_allowed
from domain.scheduling.zones import (
    ResolvedZone,
    ZoneSource,
    resolve_zone,
    zone_attribute,
    zone_for_phone,
    zone_named,
)

__all__ = [
    "ALL_WEEKDAYS",
    "FlowSchedule",
    "ResolvedZone",
    "SendWindow",
    "ZoneSource",
    "is_allowed",
    "local_moment",
    "next_allowed",
    "next_time_of_day",
    "resolve_zone",
    "wake_at",
    "zone_attribute",
    "wall_clock",
    "zone_for_phone",
    "zone_named",
]
