"""Send windows (and their complement, quiet hours) per flow."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Self
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from domain.scheduling.clock import (
    ALL_WEEKDAYS,
    local_moment,
    require_aware,
    wall_clock,
    weekday_of,
)
from domain.steps.base import Model, Weekday


class SendWindow(Model):
    """When a flow may act, in the contact's local time: from `start` to `end` on each of
    `weekdays`.

    - `end` earlier than `start` crosses midnight: 22:00-06:00 opens at 22:00 on an allowed
      weekday and closes at 06:00 the next morning (the weekday is the day it opens).
    - `start == end` (the default 00:00-00:00) is open all day, so a window of weekdays
      alone reads `{"weekdays": ["mon", "tue", "wed", "thu", "fri"]}`.
    - Quiet hours are the complement: quiet 21:00-08:00 is the window 08:00-21:00
      (`SendWindow.outside_quiet_hours(time(21), time(8))`).

    Edges go through local_moment: an edge inside a spring-forward gap is the instant
    clocks jump; an ambiguous edge on a fall-back day is its first occurrence. A window
    that lies wholly inside a gap (02:00-02:59) is empty that day.
    """

    start: time = time(0, 0)
    end: time = time(0, 0)
    weekdays: list[Weekday] = Field(default_factory=lambda: list(Weekday))

    @model_validator(mode="after")
    def _wall_clock_times(self) -> Self:
        for name in ("start", "end"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(
                    f"{name} is a wall-clock time in the contact's zone; "
                    "give it without an offset"
                )
        return self

    @classmethod
    def outside_quiet_hours(
        cls, quiet_from: time, quiet_until: time, weekdays: list[Weekday] | None = None
    ) -> SendWindow:
        """The window that keeps quiet between `quiet_from` and `quiet_until`."""
        return cls(
            start=quiet_until,
            end=quiet_from,
            weekdays=list(ALL_WEEKDAYS) if weekdays is None else weekdays,
        )

    @property
    def length(self) -> timedelta:
        """Wall-clock length: 24h when start == end, crossing midnight when end < start."""
        start = datetime.combine(date.min, self.start)
        end = datetime.combine(date.min, self.end)
        return (end - start) % timedelta(days=1) or timedelta(days=1)

    def opening(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants [open, close) of the window that opens on local `day` (whether or
        not `day` is an allowed weekday); open == close when DST swallowed it."""
        opens = datetime.combine(day, self.start)
        return local_moment(opens, zone), local_moment(opens + self.length, zone)


def next_allowed(now: datetime, zone: ZoneInfo, window: SendWindow | None) -> datetime:
    """The earliest instant at or after `now` inside `window` (aware, UTC): `now` itself
    when it is already inside (or there is no window), else the next opening.

    Raises ValueError when the window allows no weekday."""
    now = require_aware(now)
    if window is None:
        return now
    allowed = frozenset(window.weekdays)
    if not allowed:
        raise ValueError("a send window needs at least one allowed weekday")
    today = wall_clock(now, zone).date()
    # Start yesterday: a window crossing midnight may have opened then and still be open.
    # Openings only move forward day by day, so the first that has not closed is the one.
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if weekday_of(day) not in allowed:
            continue
        opens, closes = window.opening(day, zone)
        if closes > now and opens < closes:
            return max(opens, now)
    raise AssertionError("unreachable: an allowed weekday recurs within a week")


def is_allowed(moment: datetime, zone: ZoneInfo, window: SendWindow | None) -> bool:
    return next_allowed(moment, zone, window) == require_aware(moment, "moment")
