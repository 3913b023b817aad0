"""The step table: one entry per step kind, and the rules the journey reads from it."""

from domain.step_table import STEP_TABLE, holds_back
from domain.step_outcomes import StepOutcome
from domain.steps import STEP_KINDS


def test_every_step_kind_has_exactly_one_entry():
    assert sorted(STEP_TABLE) == sorted(STEP_KINDS)


def test_quiet_hours_hold_messages_that_reach_the_contact_only():
    held = {kind for kind, entry in STEP_TABLE.items() if entry.quiet_hours}
    assert held == {"send_email", "send_sms", "phone_call", "experiment"}


def test_an_expired_wait_skips_actions_but_never_routing():
    assert holds_back("send_sms") and holds_back("add_tag") and holds_back("run_script")
    assert holds_back("webhook") and holds_back("experiment")
    assert not any(holds_back(kind) for kind in ("branch", "exit", "goal", "wait", "start_flow"))


def test_only_calls_a_retry_makes_safe_run_locally_and_sends_are_regular():
    local = {kind for kind, entry in STEP_TABLE.items() if entry.call and entry.call.local}
    assert {"add_tag", "remove_tag", "change_tags", "update_contact", "branch"} <= local
    assert not local & {"send_email", "send_sms", "webhook", "phone_call", "notify_team",
                        "start_flow", "stop_flow", "pause_flow", "experiment"}
    sends = [STEP_TABLE[kind].call for kind in ("send_email", "send_sms")]
    # A dead worker is noticed by its missing heartbeat, well inside a minute.
    assert all(c and c.heartbeat and c.heartbeat.total_seconds() <= 20 for c in sends)


def test_an_invalid_tag_change_is_recorded_like_any_contact_change():
    assert "InvalidChange" in STEP_TABLE["add_tag"].call.recorded
    assert STEP_TABLE["add_tag"].call.recorded == STEP_TABLE["update_contact"].call.recorded


def test_outcome_codes():
    assert StepOutcome(status="sent").code() == "sent"
    assert StepOutcome(status="skipped", reason_code="no_address").code() == "skipped:no_address"
    assert StepOutcome(status="failed").code() == "failed:other"
