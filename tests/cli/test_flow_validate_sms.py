"""Every SMS step's segments and encoding, as written, in `flow validate` (an info line,
never a problem: the exit status is the problems' alone) and in POST /v1/flows/validate
(the answer's `sms`)."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from projections.event_store import ingest
from tests.api.v1_harness import ok, sync_client
from tests.journey_harness import contact

GSM = "Hi {{ first_name }}, your order has shipped."
UCS2 = "Hi {{ first_name }} 👋 " + "y" * 70  # an emoji: UCS-2, 2 parts of 67


def document(*steps: dict) -> dict:
    return {
        "id": "texts",
        "name": "Texts",
        "trigger": {"event": "form.submitted"},
        "steps": list(steps),
    }


SMS_STEPS = [
    {"id": "short", "kind": "send_sms", "text": GSM},
    {"id": "emoji", "kind": "send_sms", "text": UCS2},
    {"id": "mail", "kind": "send_email", "subject": "Hello", "body": "Hi."},
    {
        "id": "tell",
        "kind": "notify_team",
        "channel": "sms",
        "to": "+14155550100",
        "message": "New lead: {{ email }}",
    },
]


@pytest.fixture
def validate(tmp_path, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "80")

    def run(doc: dict, code: int = 0) -> list[str]:
        path = tmp_path / "flow.json"
        path.write_text(json.dumps(doc))
        result = CliRunner().invoke(app, ["flow", "validate", str(path)])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result.stdout.splitlines()

    return run


def test_flow_validate_reports_every_sms_step(validate):
    assert validate(document(*SMS_STEPS)) == [
        f"  info: step short, text: 1 segment, GSM-7 ({len(GSM)} characters as written)",
        f"  info: step emoji, text: 2 segments, UCS-2 ({len(UCS2)} characters as written)",
        "  info: step tell, message: 1 segment, GSM-7 (21 characters as written)",
        "ok: flow 'texts' is valid (4 steps)",
    ]


def test_the_segments_show_beside_problems_without_becoming_one(validate):
    long = {"id": "long", "kind": "send_sms", "text": "€" * 200, "max_segments": 2}
    broken = {"id": "later", "kind": "wait"}  # a wait needs a delay or a date
    lines = validate(document(long, broken), code=1)
    assert any(line.startswith("  warning: step long, text:") for line in lines)
    assert any(line.startswith("  error: step later") for line in lines)
    # "€" is in GSM's extension table: two septets each, 400 in all, 3 parts of 153.
    assert "  info: step long, text: 3 segments, GSM-7 (200 characters as written)" in lines
    assert not any("ok:" in line for line in lines)


def test_post_validate_answers_the_sms_steps_as_data(settings, engine):
    # The API checks merge tags against the attributes contacts have.
    ingest(engine, contact("ann", first_name="Ann"))
    with sync_client(settings, engine) as client:
        answer = ok(client.post("/v1/flows/validate", json=document(*SMS_STEPS)))
        assert (answer["valid"], answer["problems"]) == (True, [])
        assert answer["sms"] == [
            {
                "step_id": "short",
                "field": "text",
                "characters": len(GSM),
                "segments": 1,
                "encoding": "GSM-7",
            },
            {
                "step_id": "emoji",
                "field": "text",
                "characters": len(UCS2),
                "segments": 2,
                "encoding": "UCS-2",
            },
            {
                "step_id": "tell",
                "field": "message",
                "characters": 21,
                "segments": 1,
                "encoding": "GSM-7",
            },
        ]
        unparsable = ok(client.post("/v1/flows/validate", json={"id": "x", "steps": "no"}))
        assert (unparsable["valid"], unparsable["sms"]) == (False, [])
