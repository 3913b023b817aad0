"""notify_team and run_script run directly: recipients, the ledger, the script registry."""

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import Delivery
from activities.outbox import Outbox
from activities.scripts import ScriptActivities, load_scripts
from activities.team_notify import TeamNotifyActivities
from domain.contracts.actions import ActionRequest
from domain.contracts.scripts import ScriptFailure
from projections.event_store import ingest
from tests.journey_harness import contact, outbox


def request(step: dict, key: str = "journey/f/c1/e1/s/1") -> ActionRequest:
    return ActionRequest(
        idempotency_key=key,
        journey_id="journey/f/c1",
        flow_id="f",
        step_id=step["id"],
        contact_id="c1",
        step=step,
    )


def notifier(engine, **defaults) -> TeamNotifyActivities:
    return TeamNotifyActivities(
        Delivery(engine),
        Outbox(engine, "email"),
        Outbox(engine, "sms"),
        "hello@dripstone.local",
        **defaults,
    )


def test_team_email_falls_back_to_the_configured_inbox_and_is_sent_once(engine):
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    notify = notifier(engine, team_email="team@example.com").notify_team
    step = {
        "id": "s",
        "kind": "notify_team",
        "subject": "Lead {{ first_name }}",
        "message": "{{ email }}",
    }
    first = ActivityEnvironment().run(notify, request(step))
    again = ActivityEnvironment().run(notify, request(step))
    [row] = outbox(engine)
    assert (row.channel, row.to_address, row.subject, row.body) == (
        "email",
        "team@example.com",
        "Lead Ann",
        "c1@example.com",
    )
    assert first.status == "done" and again.data["duplicate"] is True


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        ({"channel": "email", "to": "not-an-address"}, "no valid team email address"),
        ({"channel": "sms", "to": "12"}, "no valid team phone number"),
        ({"channel": "sms"}, "no team phone number"),
    ],
)
def test_team_recipient_missing_or_invalid_skips(engine, step, reason):
    ingest(engine, contact("c1"))
    outcome = ActivityEnvironment().run(
        notifier(engine).notify_team,
        request({"id": "s", "kind": "notify_team", "message": "hi", **step}),
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "no_address")
    assert reason in outcome.reason and outbox(engine) == []


def test_a_team_sms_rendered_past_1600_characters_is_skipped(engine):
    ingest(engine, contact("c1", first_name="Ann"))
    step = {
        "id": "s",
        "kind": "notify_team",
        "channel": "sms",
        "to": "+14155550188",
        "message": "{{ first_name * 600 }}",
    }
    outcome = ActivityEnvironment().run(notifier(engine).notify_team, request(step))
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert "more than 1600 characters" in outcome.reason and outbox(engine) == []


def test_scripts_registry_has_builtins_and_the_configured_module():
    scripts = load_scripts("tests.fakes.scripts")
    assert {"echo", "log", "hold", "greet"} <= set(scripts)
    assert load_scripts(None).keys() == {"echo", "log"}
    with pytest.raises(ValueError, match="expected a dict named SCRIPTS"):
        load_scripts("tests.fakes.webhook_target")
    with pytest.raises(ModuleNotFoundError):
        load_scripts("tests.fakes.no_such_module")


def test_script_result_is_recorded_once(engine):
    activities = ScriptActivities(engine, load_scripts("tests.fakes.scripts"))
    step = {"id": "s", "kind": "run_script", "script": "greet", "arguments": {"greeting": "hey"}}
    outcome = ActivityEnvironment().run(activities.run_script, request(step))
    again = ActivityEnvironment().run(activities.run_script, request(step))
    assert outcome.data["result"] == {"greeting": "hey c1"} and again.data["duplicate"] is True


def test_unknown_script_is_final_and_its_failure_recordable(engine):
    activities = ScriptActivities(engine, load_scripts(None))
    req = request({"id": "s", "kind": "run_script", "script": "nope"})
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(activities.run_script, req)
    assert raised.value.type == "UnknownScript" and raised.value.non_retryable
    assert "registered: echo, log" in raised.value.message
    ActivityEnvironment().run(
        activities.record_script_failed, ScriptFailure(request=req, reason="x")
    )
    ActivityEnvironment().run(
        activities.record_script_failed, ScriptFailure(request=req, reason="x")
    )
