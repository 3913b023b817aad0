"""domain.scheduling: contact zones, wall-clock times across DST, times of day, send
windows and quiet hours, and when a step may run. 2026 transitions: US 03-08 / 11-01,
EU 03-29 / 10-25, Adelaide 10-04 / 04-05, Lord Howe (a 30-minute shift) 10-04 / 04-05."""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from domain.scheduling import (
        FlowSchedule,
        SendWindow,
        ZoneSource,
        is_allowed,
        local_moment,
        next_allowed,
        next_time_of_day,
        resolve_zone,
        wake_at,
        wall_clock,
        zone_named,
    )
    from domain.steps.base import TimeOfDay, Weekday, When

# Zones come from domain.scheduling, never ZoneInfo() here: the sandbox re-imports this
# module for ZoneProbe, and a ZoneInfo built in sandboxed code is a restricted proxy that
# datetime refuses as tzinfo. Workflow code must get its zones the same way.
NY, BERLIN = zone_named("America/New_York"), zone_named("Europe/Berlin")
KOLKATA, ADELAIDE = zone_named("Asia/Kolkata"), zone_named("Australia/Adelaide")
LORD_HOWE, LONDON = zone_named("Australia/Lord_Howe"), zone_named("Europe/London")
WEEKDAYS = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def at(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    """An instant given as a local reading (for readable expectations)."""
    return datetime(*args, tzinfo=zone, fold=fold).astimezone(UTC)


# --- which zone --------------------------------------------------------------------------

UK_PHONE, NYC_PHONE, TOLL_FREE, SOUTH_DAKOTA = (
    "+44 20 7946 0958",
    "+1 212 555 0123",
    "+1 800 555 0123",
    "+1 605 555 0123",
)


@pytest.mark.parametrize(
    "attribute, phone, expected, source",
    [
        ("Asia/Kolkata", UK_PHONE, "Asia/Kolkata", ZoneSource.ATTRIBUTE),
        ("  europe/berlin ", None, "Europe/Berlin", ZoneSource.ATTRIBUTE),
        ("Mars/Olympus_Mons", UK_PHONE, "Europe/London", ZoneSource.PHONE),
        ("localtime", UK_PHONE, "Europe/London", ZoneSource.PHONE),  # a host file, not IANA
        ("../../etc/passwd", None, "UTC", ZoneSource.DEFAULT),
        ("", NYC_PHONE, "America/New_York", ZoneSource.PHONE),
        (None, "+442079460958", "Europe/London", ZoneSource.PHONE),
        (None, TOLL_FREE, "UTC", ZoneSource.DEFAULT),  # dozens of zones
        (None, SOUTH_DAKOTA, "UTC", ZoneSource.DEFAULT),  # Mountain and Central
        (None, "+1 555", "UTC", ZoneSource.DEFAULT),
        (None, "+44 7700 900123", "UTC", ZoneSource.DEFAULT),  # possible but not valid
        (None, "+44 7911 123456", "Europe/Guernsey", ZoneSource.PHONE),  # four zones, one clock
        (None, "call me maybe", "UTC", ZoneSource.DEFAULT),
        (None, "2125550123", "UTC", ZoneSource.DEFAULT),  # national form, no region to read it
        (None, None, "UTC", ZoneSource.DEFAULT),
    ],
)
def test_resolve_zone_precedence(attribute, phone, expected, source):
    resolved = resolve_zone(attribute, phone, "UTC")
    assert (resolved.zone.key, resolved.source) == (expected, source)


def test_phone_in_national_form_with_a_default_region():
    assert resolve_zone(None, "(212) 555-0123", "UTC", default_region="US") == (
        ZoneInfo("America/New_York"),
        ZoneSource.PHONE,
    )


def test_flow_zone_comes_after_the_contact_and_before_the_system_default():
    assert resolve_zone(None, TOLL_FREE, "UTC", flow_zone="Europe/Berlin") == (
        BERLIN,
        ZoneSource.FLOW,
    )
    assert resolve_zone(None, UK_PHONE, "UTC", flow_zone="Europe/Berlin").source == "phone"
    assert resolve_zone(None, None, "UTC", flow_zone="Nowhere/Else") == (
        ZoneInfo("UTC"),
        ZoneSource.DEFAULT,
    )


def test_a_bad_system_default_is_a_configuration_error():
    with pytest.raises(ValueError, match="Not/AZone"):
        resolve_zone(None, None, "Not/AZone")


# --- local wall-clock time -> instant ------------------------------------------------------


@pytest.mark.parametrize(
    "zone, local, expected",
    [
        # spring forward: gap readings become the instant clocks jump (03:00 local)
        (NY, datetime(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7)),
        (NY, datetime(2026, 3, 8, 2, 0), utc(2026, 3, 8, 7)),
        (NY, datetime(2026, 3, 8, 2, 59, 59, 999), utc(2026, 3, 8, 7)),
        (NY, datetime(2026, 3, 8, 1, 59), utc(2026, 3, 8, 6, 59)),
        (NY, datetime(2026, 3, 8, 3, 0), utc(2026, 3, 8, 7)),
        (BERLIN, datetime(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1)),
        (ADELAIDE, datetime(2026, 10, 4, 2, 15), utc(2026, 10, 3, 16, 30)),
        (LORD_HOWE, datetime(2026, 10, 4, 2, 10), utc(2026, 10, 3, 15, 30)),
        # fall back: ambiguous readings are the first occurrence (summer time)
        (NY, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
        (NY, datetime(2026, 11, 1, 2, 0), utc(2026, 11, 1, 7)),
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
        (ADELAIDE, datetime(2026, 4, 5, 2, 30), utc(2026, 4, 4, 16)),
        (LORD_HOWE, datetime(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45)),
        # half-hour offsets, no DST
        (KOLKATA, datetime(2026, 3, 8, 9, 0), utc(2026, 3, 8, 3, 30)),
        (KOLKATA, datetime(2026, 7, 1, 0, 15, 0, 250), utc(2026, 6, 30, 18, 45, 0, 250)),
    ],
)
def test_local_moment(zone, local, expected):
    assert local_moment(local, zone) == expected
    assert local_moment(local, zone).tzinfo is UTC


def test_local_moment_wants_a_naive_reading():
    with pytest.raises(ValueError, match="naive"):
        local_moment(utc(2026, 1, 1), NY)


# --- next time of day ------------------------------------------------------------------------

NINE = time(9, 0)


@pytest.mark.parametrize(
    "now, zone, time_of_day, weekdays, expected",
    [
        (at(NY, 2026, 6, 3, 8), NY, NINE, None, at(NY, 2026, 6, 3, 9)),
        (at(NY, 2026, 6, 3, 9), NY, NINE, None, at(NY, 2026, 6, 3, 9)),  # at now: now
        (at(NY, 2026, 6, 3, 9, 0, 1), NY, NINE, None, at(NY, 2026, 6, 4, 9)),
        # Friday after nine, weekdays only: Monday, across the weekend and spring forward
        (at(NY, 2026, 3, 6, 10), NY, NINE, WEEKDAYS, utc(2026, 3, 9, 13)),
        (at(BERLIN, 2026, 3, 27, 10), BERLIN, NINE, WEEKDAYS, utc(2026, 3, 30, 7)),
        (at(NY, 2026, 10, 30, 10), NY, NINE, WEEKDAYS, utc(2026, 11, 2, 14)),  # fall back
        (at(NY, 2026, 3, 7, 23), NY, time(2, 30), None, utc(2026, 3, 8, 7)),  # gap: 03:00 EDT
        (at(NY, 2026, 3, 7, 23), NY, NINE, [Weekday.SUN], utc(2026, 3, 8, 13)),
        # fall back: 01:30 happens twice; the second reading is not another occurrence
        (utc(2026, 11, 1, 5), NY, time(1, 30), None, utc(2026, 11, 1, 5, 30)),
        (utc(2026, 11, 1, 6), NY, time(1, 30), None, utc(2026, 11, 2, 6, 30)),
        (utc(2026, 10, 24, 23), BERLIN, time(2, 30), None, utc(2026, 10, 25, 0, 30)),
        (utc(2026, 3, 8, 0), KOLKATA, NINE, None, utc(2026, 3, 8, 3, 30)),
        (utc(2026, 3, 8, 4), KOLKATA, NINE, [Weekday.SAT], utc(2026, 3, 14, 3, 30)),
        (at(ADELAIDE, 2026, 10, 3, 12), ADELAIDE, NINE, None, utc(2026, 10, 3, 22, 30)),
    ],
)
def test_next_time_of_day(now, zone, time_of_day, weekdays, expected):
    assert next_time_of_day(now, zone, time_of_day, weekdays) == expected


def test_next_time_of_day_takes_a_wait_steps_time_of_day():
    morning = TimeOfDay(at=NINE, weekdays=[Weekday.MON])
    monday = utc(2026, 3, 9, 13)
    assert next_time_of_day(at(NY, 2026, 3, 6, 10), NY, morning) == monday
    assert next_time_of_day(at(NY, 2026, 3, 6, 10), NY, morning, [Weekday.SAT]) == utc(
        2026, 3, 7, 14
    )


def test_next_time_of_day_rejects_no_weekdays_and_naive_now():
    with pytest.raises(ValueError, match="weekday"):
        next_time_of_day(utc(2026, 1, 1), NY, NINE, [])
    with pytest.raises(ValueError, match="aware"):
        next_time_of_day(datetime(2026, 1, 1), NY, NINE)


# --- send windows and quiet hours --------------------------------------------------------

DAYTIME = SendWindow.outside_quiet_hours(time(21), time(8))  # quiet 21:00-08:00
NIGHT_SHIFT = SendWindow(start=time(22), end=time(6), weekdays=[Weekday.FRI])


def test_quiet_hours_are_the_complement_of_a_window():
    assert (DAYTIME.start, DAYTIME.end, DAYTIME.length) == (time(8), time(21), timedelta(hours=13))
    assert NIGHT_SHIFT.length == timedelta(hours=8)
    assert SendWindow().length == timedelta(days=1)


@pytest.mark.parametrize(
    "now, zone, window, expected",
    [
        (at(NY, 2026, 6, 3, 12), NY, DAYTIME, at(NY, 2026, 6, 3, 12)),  # inside: now
        (at(NY, 2026, 6, 3, 7, 59), NY, DAYTIME, at(NY, 2026, 6, 3, 8)),
        (at(NY, 2026, 6, 3, 21), NY, DAYTIME, at(NY, 2026, 6, 4, 8)),  # end is exclusive
        (at(NY, 2026, 3, 7, 22), NY, DAYTIME, utc(2026, 3, 8, 12)),  # EST evening, EDT morning
        (at(NY, 2026, 10, 31, 22), NY, DAYTIME, utc(2026, 11, 1, 13)),
        (at(KOLKATA, 2026, 6, 3, 23), KOLKATA, DAYTIME, utc(2026, 6, 4, 2, 30)),
        # crossing midnight, opening on Fridays only
        (at(BERLIN, 2026, 6, 5, 23), BERLIN, NIGHT_SHIFT, at(BERLIN, 2026, 6, 5, 23)),
        (at(BERLIN, 2026, 6, 6, 3), BERLIN, NIGHT_SHIFT, at(BERLIN, 2026, 6, 6, 3)),  # Sat 03:00
        (at(BERLIN, 2026, 6, 6, 6), BERLIN, NIGHT_SHIFT, at(BERLIN, 2026, 6, 12, 22)),
        (at(BERLIN, 2026, 6, 5, 3), BERLIN, NIGHT_SHIFT, at(BERLIN, 2026, 6, 5, 22)),
        # weekdays only, all day: Saturday waits for Monday midnight
        (at(NY, 2026, 3, 7, 10), NY, SendWindow(weekdays=WEEKDAYS), at(NY, 2026, 3, 9, 0)),
        # a window inside the spring-forward gap is empty that day
        (
            at(NY, 2026, 3, 8, 0),
            NY,
            SendWindow(start=time(2), end=time(2, 45)),
            at(NY, 2026, 3, 9, 2),
        ),
        (
            at(BERLIN, 2026, 3, 29, 0),
            BERLIN,
            SendWindow(start=time(2, 30), end=time(4)),
            utc(2026, 3, 29, 1),
        ),  # opens when clocks jump to 03:00
        # fall back: a window closing at an ambiguous time closes at its first occurrence
        (
            utc(2026, 11, 1, 6, 10),
            NY,
            SendWindow(start=time(1), end=time(1, 45)),
            at(NY, 2026, 11, 2, 1),
        ),
        (
            utc(2026, 11, 1, 5, 10),
            NY,
            SendWindow(start=time(1), end=time(1, 45)),
            utc(2026, 11, 1, 5, 10),
        ),
        (utc(2026, 1, 1), NY, None, utc(2026, 1, 1)),
    ],
)
def test_next_allowed(now, zone, window, expected):
    assert next_allowed(now, zone, window) == expected


def test_send_window_documents_and_validation():
    window = SendWindow.model_validate({"start": "08:00", "end": "21:00", "weekdays": ["mon"]})
    assert window.model_dump(mode="json") == {
        "start": "08:00:00",
        "end": "21:00:00",
        "weekdays": ["mon"],
    }
    with pytest.raises(ValidationError, match="start"):
        SendWindow(start=time(8, tzinfo=UTC))
    with pytest.raises(ValidationError, match="weekdays"):
        SendWindow.model_validate({"weekdays": ["funday"]})
    with pytest.raises(ValueError, match="weekday"):
        next_allowed(utc(2026, 1, 1), NY, SendWindow(weekdays=[]))


# --- flow schedule and wake_at -----------------------------------------------------------


def test_flow_schedule_document():
    schedule = FlowSchedule.model_validate(
        {
            "time_zone": "europe/berlin",
            "send_window": {"start": "08:00", "end": "21:00", "weekdays": ["mon", "fri"]},
        }
    )
    assert schedule.time_zone == "Europe/Berlin"
    assert FlowSchedule.model_validate_json(schedule.model_dump_json()) == schedule
    assert FlowSchedule() == FlowSchedule(time_zone=None, send_window=None)
    with pytest.raises(ValidationError, match="time_zone"):
        FlowSchedule(time_zone="Europe/Atlantis")
    with pytest.raises(ValidationError, match="quiet"):
        FlowSchedule.model_validate({"quiet": True})


SATURDAY_9AM_EST = at(NY, 2026, 3, 7, 9)


@pytest.mark.parametrize(
    "when, window, expected",
    [
        (None, None, SATURDAY_9AM_EST),
        (When(), None, SATURDAY_9AM_EST),
        (When(delay=timedelta(days=1)), None, at(NY, 2026, 3, 8, 10)),  # 24h elapsed across DST
        (When(delay=timedelta(hours=13)), DAYTIME, at(NY, 2026, 3, 8, 8)),  # 22:00 is quiet
        (When(at=utc(2026, 1, 1)), None, SATURDAY_9AM_EST),  # passed: run now
        (When(at=utc(2026, 3, 9, 1)), DAYTIME, at(NY, 2026, 3, 9, 8)),  # Sun 21:00 EDT is quiet
        (When(local_at=datetime(2026, 3, 8, 2, 30)), None, utc(2026, 3, 8, 7)),  # gap
        (
            When(local_at=datetime(2026, 3, 9, 9)),
            SendWindow(weekdays=[Weekday.TUE]),
            at(NY, 2026, 3, 10, 0),
        ),
        (When(local_at=datetime(2026, 3, 1, 9)), None, SATURDAY_9AM_EST),
        (None, SendWindow(weekdays=WEEKDAYS), at(NY, 2026, 3, 9, 0)),
    ],
)
def test_wake_at(when, window, expected):
    assert wake_at(SATURDAY_9AM_EST, NY, when, window) == expected


def test_local_at_is_read_in_the_contacts_zone():
    when = When(local_at=datetime(2026, 6, 1, 9))
    assert wake_at(utc(2026, 5, 1), KOLKATA, when, None) == utc(2026, 6, 1, 3, 30)
    assert wake_at(utc(2026, 5, 1), BERLIN, when, None) == utc(2026, 6, 1, 7)


# --- properties, over every 2026 transition of several zones -------------------------------

ZONES = [NY, BERLIN, KOLKATA, ADELAIDE, LORD_HOWE, LONDON]
TIMES = [time(0), time(1, 30), time(2), time(2, 30), time(3), time(9), time(23, 59)]
WINDOWS = [
    DAYTIME,
    NIGHT_SHIFT,
    SendWindow(start=time(2), end=time(3)),
    SendWindow(start=time(1, 30), end=time(2, 30), weekdays=[Weekday.SUN]),
    SendWindow(start=time(23), end=time(2, 15), weekdays=WEEKDAYS),
]


def sample_nows(zone: ZoneInfo) -> list[datetime]:
    rng = random.Random(zone.key)
    nows = [utc(2026, 1, 1) + timedelta(seconds=rng.randrange(366 * 86400)) for _ in range(60)]
    for transition in (
        date(2026, 3, 8),
        date(2026, 3, 29),
        date(2026, 4, 5),
        date(2026, 10, 4),
        date(2026, 10, 25),
        date(2026, 11, 1),
    ):
        start = datetime.combine(transition, time(), UTC) - timedelta(days=2)
        nows += [start + timedelta(minutes=25 * i) for i in range(4 * 24 * 60 // 25)]
    return nows


def exists(local: datetime, zone: ZoneInfo) -> bool:
    return wall_clock(local_moment(local, zone), zone) == local


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.key)
def test_next_time_of_day_properties(zone):
    rng = random.Random(1)
    for now in sample_nows(zone):
        time_of_day = rng.choice(TIMES)
        weekdays = rng.sample(list(Weekday), rng.randint(1, 7))
        result = next_time_of_day(now, zone, time_of_day, weekdays)
        reading = wall_clock(result, zone)
        wanted = datetime.combine(reading.date(), time_of_day)
        assert now <= result < now + timedelta(days=8)
        assert Weekday(reading.strftime("%a").lower()) in weekdays
        assert reading == wanted or not exists(wanted, zone), (now, time_of_day)
        day_before = reading.date() - timedelta(days=1)
        if Weekday(day_before.strftime("%a").lower()) in weekdays:
            assert local_moment(datetime.combine(day_before, time_of_day), zone) < now


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.key)
def test_next_allowed_properties(zone):
    for i, now in enumerate(sample_nows(zone)):
        window = WINDOWS[i % len(WINDOWS)]
        result = next_allowed(now, zone, window)
        assert result >= now
        assert is_allowed(result, zone, window), (now, window)
        days = [wall_clock(result, zone).date() - timedelta(days=d) for d in (0, 1)]
        openings = [
            window.opening(day, zone)
            for day in days
            if Weekday(day.strftime("%a").lower()) in window.weekdays
        ]
        assert any(opens <= result < closes for opens, closes in openings)
        if result > now:  # nothing in between was allowed: it is the next opening
            assert result in [opens for opens, _ in openings], (now, window)
            for step in range(20):
                probe = now + (result - now) * step / 20
                assert not is_allowed(probe, zone, window), (now, probe, window)


# --- inside Temporal's workflow sandbox -----------------------------------------------------


@workflow.defn(sandboxed=True)
class ZoneProbe:
    """Resolves zones with phonenumbers inside the sandbox, then sleeps until 09:00 local."""

    @workflow.run
    async def run(self, phones: list[str]) -> list[str]:
        resolved = [resolve_zone(None, phone, "UTC") for phone in phones]
        zone = resolved[0].zone
        wake = next_time_of_day(workflow.now(), zone, NINE, WEEKDAYS)
        await workflow.sleep(wake - workflow.now())
        return [f"{r.zone.key} {r.source}" for r in resolved] + [
            wall_clock(workflow.now(), zone).strftime("%a %H:%M")
        ]


async def test_zone_resolution_and_timing_run_in_the_workflow_sandbox(time_skipping_env):
    client, queue = time_skipping_env.client, f"tq-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[ZoneProbe]):
        result = await client.execute_workflow(
            ZoneProbe.run,
            [UK_PHONE, TOLL_FREE, NYC_PHONE, "+91 98765 43210"],
            id=f"zone-probe-{uuid.uuid4()}",
            task_queue=queue,
        )
    assert result[:4] == [
        "Europe/London phone",
        "UTC default",
        "America/New_York phone",
        "Asia/Calcutta phone",
    ]
    assert result[4].split()[0] in {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert result[4].split()[1] in {"09:00", "09:01"}
