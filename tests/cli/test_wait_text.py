"""How `dripstone journeys` says until when a journey waits: in the contact's zone, with
UTC beside it only when the zone is another one."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cli.commands import _now_text
from domain.journey_waiting import WaitView

WAKES = datetime(2026, 12, 3, 21, 26, tzinfo=UTC)


def _wait(zone: str) -> WaitView:
    return WaitView(
        step_id="hold",
        reason="a delay of 2d",
        until=WAKES,
        until_local=WAKES.astimezone(ZoneInfo(zone)),
        zone=zone,
    )


def test_a_contact_in_utc_sees_the_time_once():
    assert _now_text(_wait("UTC"), None) == "a delay of 2d until 2026-12-03 21:26 UTC"


def test_a_contact_elsewhere_sees_its_own_time_then_utc():
    assert _now_text(_wait("Europe/Moscow"), None) == (
        "a delay of 2d until 2026-12-04 00:26 Europe/Moscow (2026-12-03 21:26 UTC)"
    )


def test_a_wait_for_an_event_alone_has_no_time():
    wait = WaitView(
        step_id="reply", reason="sms.received", until=None, until_local=None, zone="UTC"
    )
    assert _now_text(wait, None) == "sms.received"
