"""The step table: one entry per step kind, and the rules the journey reads from it."""

from datetime import timedelta

from temporalio.common import RetryPolicy

from domain.step_outcomes import StepOutcome
from domain.step_table import CONTACT_CHANGE, SEND_EMAIL, STEP_TABLE, holds_back
from domain.steps import STEP_KINDS
from workflows.retries import retry_policy


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
    assert not local & {
        "send_email",
        "send_sms",
        "webhook",
        "phone_call",
        "notify_team",
        "start_flow",
        "stop_flow",
        "pause_flow",
        "experiment",
    }


# SQLite's busy_timeout (projections/database.py) and the providers' HTTP timeout
# (activities/sendgrid_email.py, twilio_sms.py): what one attempt may wait on.
BUSY_TIMEOUT = timedelta(seconds=30)
PROVIDER_TIMEOUT = timedelta(seconds=15)


def test_a_send_is_timed_out_for_a_dead_worker_never_for_a_slow_lock_or_provider():
    sends = [STEP_TABLE[kind].call for kind in ("send_email", "send_sms")]
    # A dead worker is noticed by its missing heartbeat, well inside a minute; the send
    # heartbeats for its whole attempt (activities/heartbeat.py), so that is all it means.
    assert all(c and c.heartbeat and c.heartbeat <= timedelta(seconds=20) for c in sends)
    # The attempt itself outlasts a lock wait plus a provider call, with a margin.
    assert all(
        c and c.start_to_close >= BUSY_TIMEOUT + PROVIDER_TIMEOUT + timedelta(seconds=15)
        for c in sends
    )


def test_no_call_is_cut_off_while_waiting_for_sqlites_lock():
    """Was: contact changes, conditions and wake plans had 10 s, under busy_timeout."""
    calls = [entry.call for entry in STEP_TABLE.values() if entry.call]
    assert all(call.start_to_close >= BUSY_TIMEOUT + timedelta(seconds=15) for call in calls)


def test_retry_policies_are_plain_data_made_temporals_as_before():
    """domain imports no SDK; the policies a journey schedules are the same as ever
    (stored histories hold them)."""
    assert retry_policy(SEND_EMAIL.retry) == RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=["ProviderRejected", "UnknownContact", "TargetRefused"],
    )
    assert retry_policy(CONTACT_CHANGE.retry) == RetryPolicy(
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=["InvalidChange", "UnknownContact"],
    )


def test_an_invalid_tag_change_is_recorded_like_any_contact_change():
    assert "InvalidChange" in STEP_TABLE["add_tag"].call.recorded
    assert STEP_TABLE["add_tag"].call.recorded == STEP_TABLE["update_contact"].call.recorded


def test_outcome_codes():
    assert StepOutcome(status="sent").code() == "sent"
    assert StepOutcome(status="skipped", reason_code="no_address").code() == "skipped:no_address"
    assert StepOutcome(status="failed").code() == "failed:other"
