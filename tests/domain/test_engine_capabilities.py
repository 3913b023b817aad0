"""Flows may use steps and conditions this engine version cannot run yet: they still
validate and publish, with a warning that names the step and field."""

from domain.validation import errors, parse_flow


def warnings_of(steps, trigger_condition=None):
    trigger = {
        "event": "form.submitted",
        **({"condition": trigger_condition} if trigger_condition else {}),
    }
    flow, problems = parse_flow({"id": "f", "trigger": trigger, "steps": steps})
    assert flow is not None and not errors(problems), [str(p) for p in problems]
    return [(p.step_id, p.field, p.code) for p in problems if p.severity == "warning"]


def test_runnable_flow_has_no_engine_warnings():
    assert (
        warnings_of(
            [
                {
                    "id": "a",
                    "kind": "send_email",
                    "subject": "Hi",
                    "body": ".",
                    "run_if": {"kind": "has_tag", "tag": "vip"},
                },
                {"id": "b", "kind": "wait", "delay": "1d"},
            ],
            {"kind": "attribute", "field": "email", "op": "is_set"},
        )
        == []
    )


def test_sender_connection_warns_and_backfill_no_longer_does():
    flow_steps = [
        {
            "id": "m",
            "kind": "send_email",
            "subject": "s",
            "body": ".",
            "connection": "marketing-smtp",
        }
    ]
    flow, problems = parse_flow(
        {
            "id": "f",
            "trigger": {"event": "form.submitted"},
            "steps": flow_steps,
            "enrollment": {"existing_contacts": True},
        }
    )
    assert [(p.step_id, p.field, p.code) for p in problems if p.severity == "warning"] == [
        ("m", "connection", "not_executable_yet")
    ]


def test_sender_addresses_must_be_email_addresses():
    _, problems = parse_flow(
        {
            "id": "f",
            "trigger": {"event": "form.submitted"},
            "steps": [
                {
                    "id": "m",
                    "kind": "send_email",
                    "subject": "s",
                    "body": "b",
                    "from_email": "not-an-email",
                }
            ],
        }
    )
    assert [(p.field, p.code) for p in problems] == [("from_email", "bad_email")]
