"""When to run, in the contact's own time zone, on the time-skipping server [003]:
local date-times across both DST changes, times of day on weekdays, zones from the
phone number, and a flow's quiet hours. Dates are found relative to the server's
virtual clock (other tests move it on), never hard-coded."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.journey import JourneyState
from projections.event_store import ingest
from tests.journey_harness import contact, flow_from, journey_result, journey_worker, outbox
from tests.workflows.live_journeys import start

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def next_transition(after: datetime, zone: ZoneInfo, forward: bool) -> date:
    """The next local day on which clocks go forward (or back) in `zone`."""
    day = after.astimezone(zone).date() + timedelta(days=1)
    while True:
        before = datetime.combine(day, time(0), zone).utcoffset()
        after_day = datetime.combine(day + timedelta(days=1), time(0), zone).utcoffset()
        if before != after_day and (after_day > before) == forward:
            return day
        day += timedelta(days=1)


def ended_at(state: JourneyState, step_id: str) -> datetime:
    return next(v.at for v in state.trail if v.step_id == step_id)


async def run_journey(env, engine, settings, flow, contact_id: str) -> JourneyState:
    async with journey_worker(env.client, engine, settings) as router:
        return await journey_result(env, await start(router, engine, flow, contact_id))


def mail(local_at: datetime | None = None, **extra) -> dict:
    step = {"id": "mail", "kind": "send_email", "subject": "Hello", "body": ".", **extra}
    if local_at is not None:
        step["when"] = {"local_at": local_at.isoformat()}
    return step


async def test_local_time_in_a_spring_forward_gap_runs_when_clocks_jump(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    day = next_transition(await env.get_current_time(), NEW_YORK, forward=True)
    flow = flow_from({"id": "spring", "steps": [mail(datetime.combine(day, time(2, 30)))]})
    ingest(engine, contact("dst1", email="dst1@example.com", time_zone="America/New_York"))
    state = await run_journey(env, engine, settings, flow, "dst1")
    # 02:30 does not exist that night: it runs at 03:00 EDT, which is 07:00 UTC.
    expected = datetime.combine(day, time(7, 0), UTC)
    assert abs(ended_at(state, "mail") - expected) < timedelta(minutes=1)
    assert len(outbox(engine, "dst1")) == 1


async def test_local_time_in_the_fall_back_hour_runs_once_at_its_first_occurrence(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    day = next_transition(await env.get_current_time(), NEW_YORK, forward=False)
    flow = flow_from({"id": "fall", "steps": [mail(datetime.combine(day, time(1, 30)))]})
    ingest(engine, contact("dst2", email="dst2@example.com", time_zone="America/New_York"))
    state = await run_journey(env, engine, settings, flow, "dst2")
    # 01:30 happens twice; the first is still EDT (UTC-4): 05:30 UTC.
    expected = datetime.combine(day, time(5, 30), UTC)
    assert abs(ended_at(state, "mail") - expected) < timedelta(minutes=1)
    assert len(outbox(engine, "dst2")) == 1


async def test_a_daily_time_of_day_keeps_local_time_across_the_fall_back(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    day = next_transition(await env.get_current_time(), NEW_YORK, forward=False)
    # Start two evenings before the change (the clocks go back at 02:00 on `day`), so the
    # first 9:00 is the day before it and the second the change day itself.
    evening = datetime.combine(day - timedelta(days=2), time(20, 0), NEW_YORK)
    await env.sleep(evening - await env.get_current_time())
    at_nine = {"kind": "wait", "time_of_day": {"at": "09:00"}}
    flow = flow_from(
        {
            "id": "nine-daily",
            "steps": [
                {"id": "first-nine", **at_nine},
                mail(id="one"),
                {"id": "pause", "kind": "wait", "delay": "1h"},
                {"id": "second-nine", **at_nine},
                mail(id="two"),
            ],
        }
    )
    ingest(engine, contact("dst3", email="dst3@example.com", time_zone="America/New_York"))
    state = await run_journey(env, engine, settings, flow, "dst3")
    first, second = ended_at(state, "first-nine"), ended_at(state, "second-nine")
    assert first.astimezone(NEW_YORK).time().replace(second=0, microsecond=0) == time(9, 0)
    assert second.astimezone(NEW_YORK).time().replace(second=0, microsecond=0) == time(9, 0)
    # 9:00 EDT (13:00 UTC) the day before, then 9:00 EST (14:00 UTC) on the change day.
    assert (first.astimezone(UTC).hour, second.astimezone(UTC).hour) == (13, 14)
    assert abs(second - first - timedelta(hours=25)) < timedelta(minutes=1)


async def test_weekdays_and_the_zone_of_the_phone_number(time_skipping_env, engine, settings):
    env = time_skipping_env
    now = (await env.get_current_time()).astimezone(LONDON)
    friday = now.date() + timedelta(days=(4 - now.weekday()) % 7 or 7)
    # A summer Friday: in winter London keeps UTC, and a journey that fell back to the
    # UTC default would pass unnoticed.
    while datetime.combine(friday, time(10, 0), LONDON).utcoffset() == timedelta(0):
        friday += timedelta(days=7)
    await env.sleep(datetime.combine(friday, time(10, 0), LONDON) - await env.get_current_time())
    flow = flow_from(
        {
            "id": "weekday-nine",
            "steps": [
                {
                    "id": "monday",
                    "kind": "wait",
                    "time_of_day": {"at": "09:00", "weekdays": ["mon", "tue", "wed", "thu", "fri"]},
                },
                mail(),
            ],
        }
    )
    # No time zone attribute: a UK mobile maps to four zones that keep London's clock.
    ingest(engine, contact("uk1", email="uk1@example.com", phone="+447911123456"))
    state = await run_journey(env, engine, settings, flow, "uk1")
    woke = ended_at(state, "monday").astimezone(LONDON)
    assert (woke.date(), woke.time().replace(second=0, microsecond=0)) == (
        friday + timedelta(days=3),
        time(9, 0),
    )


async def test_quiet_hours_hold_a_message_until_the_window_opens(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    now = (await env.get_current_time()).astimezone(LONDON)
    late_evening = datetime.combine(now.date() + timedelta(days=1), time(22, 30), LONDON)
    await env.sleep(late_evening - await env.get_current_time())
    flow = flow_from(
        {
            "id": "quiet",
            "schedule": {
                "time_zone": "Europe/London",
                "send_window": {"start": "08:00", "end": "21:00"},
            },
            "steps": [mail()],
        }
    )
    # No zone attribute, no phone: the flow's own zone applies.
    ingest(engine, contact("q1", email="q1@example.com"))
    state = await run_journey(env, engine, settings, flow, "q1")
    sent = ended_at(state, "mail").astimezone(LONDON)
    assert (sent.date(), sent.time().replace(second=0, microsecond=0)) == (
        late_evening.date() + timedelta(days=1),
        time(8, 0),
    )
    assert len(outbox(engine, "q1")) == 1
