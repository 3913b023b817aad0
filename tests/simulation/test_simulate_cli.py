"""`dripstone flow simulate`: the NPS template played on a time-skipping server of its
own, against a throwaway copy of the contact's data. The deployment is configured with
real providers (SendGrid, Twilio) aimed at local fakes: they must hear nothing, and the
real database must not change."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli.templates_command import load_template
from projections.event_store import ingest
from projections.flow_catalogue import publish
from projections.tables import metadata
from tests.cli.invoke import dripstone_run
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import contact


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


@pytest.fixture
def providers():
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message(to="+4915112345678"))) as twilio,
    ):
        yield sendgrid, twilio


@pytest.fixture
def deployment(engine, tmp_path, monkeypatch, providers):
    sendgrid, twilio = providers
    for name, value in {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DRIPSTONE_DATA_DIR": str(tmp_path),
        "COLUMNS": "240",
        "DRIPSTONE_EMAIL_PROVIDER": "sendgrid",
        "DRIPSTONE_SENDGRID_API_KEY": "SG.key",
        "DRIPSTONE_SENDGRID_BASE_URL": sendgrid.url,
        "DRIPSTONE_SMS_PROVIDER": "twilio",
        "DRIPSTONE_TWILIO_ACCOUNT_SID": "AC" + "8" * 32,
        "DRIPSTONE_TWILIO_AUTH_TOKEN": "token",
        "DRIPSTONE_TWILIO_FROM_NUMBER": "+14155550000",
        "DRIPSTONE_TWILIO_BASE_URL": twilio.url,
        "DRIPSTONE_TEAM_EMAIL": "team@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    ingest(
        engine,
        contact(
            "c-42",
            email="ana@example.com",
            phone="+4915112345678",
            tags=("customer", "nps-due"),
            first_name="Ana",
        ),
    )
    with engine.begin() as conn:
        publish(conn, load_template("nps-survey"))
    return engine


def test_a_reply_after_three_hours_takes_the_detractor_path_and_nothing_is_sent(
    deployment, providers, tmp_path
):
    events = tmp_path / "reply.yaml"
    events.write_text("- {type: sms.received, after: 3h, payload: {body: '3'}}\n")
    before = row_counts(deployment)

    result = dripstone_run(
        "flow", "simulate", "nps-survey", "--contact", "c-42", "--events", events, "--json"
    )

    timeline = json.loads(result.stdout)
    assert timeline["zone"] == "Europe/Berlin" and timeline["zone_source"] == "phone"
    assert timeline["status"] == "exited" and timeline["ended_how"] == "NPS score recorded"
    steps = [e["step_id"] for e in timeline["entries"] if e["kind"] == "step"]
    assert steps == [
        "clear-due",
        "ask-score",
        "wait-score",
        "score",
        "tag-detractor",
        "alert-team",
        "follow-up-task",
        "apologise",
        "done",
    ]
    by_step = {e["step_id"]: e for e in timeline["entries"] if e["kind"] == "step"}
    [question] = by_step["ask-score"]["messages"]
    assert question["channel"] == "sms" and question["segments"] == 1
    assert question["body"].startswith("Hi Ana, how likely are you to recommend us")
    [alert] = by_step["alert-team"]["messages"]
    assert alert["to"] == "customer-success@example.com" and "Ana needs a call" in alert["subject"]
    assert by_step["apologise"]["messages"][0]["body"].startswith("We're sorry")
    # The reply arrives three virtual hours in and cuts the one-day wait short.
    start = timeline["enrolled_at"]
    [reply] = [e for e in timeline["entries"] if e["kind"] == "event"]
    assert reply["outcome"] == "reached the journey"
    assert _hours(start, reply["at"]) == pytest.approx(3, abs=0.01)
    [wait] = [e for e in timeline["entries"] if e["kind"] == "wait"]
    assert wait["ended_by"] == "cut short"
    assert _hours(start, wait["until"]) == pytest.approx(24, abs=0.01)
    assert _hours(start, wait["ended_at"]) == pytest.approx(3, abs=0.01)
    assert by_step["wait-score"]["outcome"] == "sms.received received"

    sendgrid, twilio = providers
    assert sendgrid.requests == [] and twilio.requests == []
    assert row_counts(deployment) == before


def test_json_on_stdout_is_only_json_in_a_real_process(deployment):
    """In a process of its own: the SDK core writes its warnings (the test server's
    missing capabilities) to file descriptor 1 unless they go through Python's logging,
    which the in-process runner above cannot see."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "flow",
            "simulate",
            "nps-survey",
            "--contact",
            "c-42",
            "--days",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # The time-skipping server's known-harmless version warning is filtered out, only it.
    assert "Temporal Server 1.16.0 or newer is required" not in done.stderr, done.stderr
    timeline = json.loads(done.stdout)
    assert timeline["contact_id"] == "c-42" and timeline["status"] == "exited"


def test_without_a_reply_the_contact_is_reminded_then_tagged_as_no_response(deployment, providers):
    before = row_counts(deployment)

    out = dripstone_run("flow", "simulate", "nps-survey", "--contact", "c-42").stdout

    lines = out.splitlines()
    assert (
        "flow nps-survey v1, contact c-42; times in Europe/Berlin (from the contact's phone)"
        in lines[0]
    )
    assert any("+1d00h00m" in line and "reminder (send_sms): sms sent" in line for line in lines)
    assert any("SMS to +4915112345678 (1 segment, GSM-7)" in line for line in lines)
    assert any("| Hi Ana, one quick question" in line for line in lines)
    assert any(
        "Wait 1 more day or until they reply (1d)" in line and "(time)" in line for line in lines
    )
    assert any(
        "+2d00h00m" in line
        and "ended" in line
        and "exited: no NPS score after one reminder" in line
        for line in lines
    )
    assert not any("score (multi_branch)" in line for line in lines)
    # The clock stopped when the journey ended, two days in, not at the 30-day horizon.
    assert "simulated 2d of 30 virtual days: the journey exited there" in lines[-1]
    sendgrid, twilio = providers
    assert sendgrid.requests == [] and twilio.requests == []
    assert row_counts(deployment) == before


@pytest.mark.parametrize(
    "content, says",
    [
        ("- {type: sms.received, after: 3h, payload: {body: '9'}", "is not YAML or JSON"),
        ("{type: sms.received, after: 3h}", "events: must be a list of events"),
        (
            "- {type: sms.received, after: soon, payload: {body: '9'}}",
            "events[0].after: 'soon' is not a duration: give a number and a unit, e.g. 3h, 2d, 30m",
        ),
        (
            "- {type: sms.received, after: 3h, payload: {}}",
            "events[0].payload.body: Field required",
        ),
        (
            "- {type: sms.recieved, after: 3h, payload: {body: '9'}}",
            "events[0].type: unknown event type",
        ),
        (
            "- {type: sms.received, after: 40d, payload: {body: '9'}}",
            "events[0].after: is later than the 30 simulated days",
        ),
        ("- {type: sms.received, at: 3h, payload: {body: '9'}}", "events[0].at: Extra inputs"),
    ],
)
def test_a_bad_events_file_is_refused_naming_the_field(deployment, tmp_path, content, says):
    events = tmp_path / "events.yaml"
    events.write_text(content)
    result = dripstone_run(
        "flow", "simulate", "nps-survey", "--contact", "c-42", "--events", events, code=2
    )
    assert f"--events {events}" in result.stderr and says in result.stderr


def test_an_unreadable_events_file_is_named_once(deployment, tmp_path):
    missing = tmp_path / "nowhere.yaml"
    result = dripstone_run(
        "flow", "simulate", "nps-survey", "--contact", "c-42", "--events", missing, code=2
    )
    assert f"--events {missing}: cannot read it" in result.stderr
    assert result.stderr.count("--events") == 1 and result.stderr.count(str(missing)) == 1


@pytest.mark.parametrize(
    "args, says",
    [
        (["nps-survey"], "give --contact ID, or --sample K"),
        (["nps-survey", "--contact", "c-42", "--draft", "--version", "1"], "not both"),
        (
            ["nps-survey", "--contact", "c-42", "--sample", "3"],
            "give --contact ID or --sample K, not both",
        ),
        (["nps-survey", "--contact", "nobody"], "no contact 'nobody'"),
        (["nps-survey", "--contact", "c-42", "--version", "7"], "version 7"),
        (["no-such-flow", "--contact", "c-42"], "no-such-flow"),
        (["nps-survey", "--contact", "c-42", "--draft"], "has no unpublished draft"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(deployment, args, says):
    result = dripstone_run("flow", "simulate", *args, code=2)
    assert says in result.stderr


def _hours(start: str, moment: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(moment) - datetime.fromisoformat(start)).total_seconds() / 3600
