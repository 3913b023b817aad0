"""Wall-clock arithmetic in a zone, correct across daylight-saving transitions.

Every function takes "now" as an argument and returns aware UTC datetimes, so workflow
code can pass workflow.now() and feed the result straight to a timer."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.steps.base import TimeOfDay, Weekday

ALL_WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def weekday_of(day: date) -> Weekday:
    # Weekday is declared Monday first, the same order as date.weekday().
    return ALL_WEEKDAYS[day.weekday()]


def require_aware(moment: datetime, name: str = "now") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """What a clock on the wall in `zone` reads at `moment` (naive)."""
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def local_moment(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant (aware, UTC) at which clocks in `zone` read the naive `local`.

    Two wall-clock readings are not one instant, and we choose:

    - Gap (spring forward; e.g. 02:30 on 2026-03-08 in America/New_York never happens):
      the first valid instant after the gap, i.e. the transition itself, which clocks show
      as 03:00. A message due "at 02:30" goes out as soon as that day's clock passes it,
      never an hour late (dateutil/java shift by the gap length to 03:30 instead).
    - Ambiguity (fall back; 01:30 on 2026-11-01 in New York happens twice): the FIRST
      occurrence (fold=0, still on summer time), so nothing waits an extra hour.

    Sub-second parts are kept when the time exists and dropped in a gap (the result is
    the transition, which falls on a whole second in every tz database zone).
    """
    if local.tzinfo is not None:
        raise ValueError(f"local_moment takes a naive wall-clock time, got {local!r}")
    local = local.replace(fold=0)
    first = local.replace(tzinfo=zone).astimezone(UTC)
    if wall_clock(first, zone) == local:
        return first  # exists; fold=0 already picked the first of two readings
    return _end_of_gap(local, zone)


def _end_of_gap(local: datetime, zone: ZoneInfo) -> datetime:
    # In a gap, fold=1 maps `local` with the post-transition offset to an instant before
    # the transition and fold=0 with the pre-transition offset to one after it. zoneinfo
    # does not expose its transition table, so bisect on whole seconds for the earliest
    # instant whose wall clock reads `local` or later (at most ~17 steps even for the day
    # Samoa skipped in 2011).
    before = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    low = (before - _EPOCH) // _SECOND  # wall clock reads < local here
    high = -((_EPOCH - after) // _SECOND)  # ceiling: wall clock reads >= local here
    while high - low > 1:
        middle = (low + high) // 2
        if wall_clock(_EPOCH + middle * _SECOND, zone) >= local:
            high = middle
        else:
            low = middle
    return _EPOCH + high * _SECOND


def next_time_of_day(
    now: datetime,
    zone: ZoneInfo,
    time_of_day: time | TimeOfDay,
    weekdays: Collection[Weekday] | None = None,
) -> datetime:
    """The earliest instant at or after `now` when clocks in `zone` read `time_of_day` on
    an allowed weekday (aware, UTC). `now` itself when it is exactly that moment.

    `time_of_day` is a time or a Wait step's TimeOfDay; `weekdays` defaults to the
    TimeOfDay's own, else every day. On a spring-forward day a time inside the gap gives
    the instant clocks jump (see local_moment); on a fall-back day an ambiguous time
    gives its first occurrence only, never both. Raises ValueError for no weekdays.
    """
    now = require_aware(now)
    if isinstance(time_of_day, TimeOfDay):
        weekdays = time_of_day.weekdays if weekdays is None else weekdays
        time_of_day = time_of_day.at
    allowed = frozenset(ALL_WEEKDAYS if weekdays is None else weekdays)
    if not allowed:
        raise ValueError("next_time_of_day needs at least one allowed weekday")
    if time_of_day.tzinfo is not None:
        raise ValueError(
            "time_of_day is a wall-clock time in the contact's zone; "
            "it must not carry its own offset"
        )
    today = wall_clock(now, zone).date()
    # Today plus seven days meets every weekday again after today's chance has passed;
    # one more day covers a calendar day a zone skipped altogether.
    for offset in range(9):
        day = today + timedelta(days=offset)
        if weekday_of(day) not in allowed:
            continue
        moment = local_moment(datetime.combine(day, time_of_day), zone)
        if moment >= now:
            return moment
    raise AssertionError("unreachable: an allowed weekday recurs within a week")
