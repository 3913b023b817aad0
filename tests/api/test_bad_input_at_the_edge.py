"""Bad input at the edge, one table: through the HTTP API and the CLI, each case gets its
4xx (or the CLI's exit 1) naming the field, and nothing accepted before it is lost: the
counts of stored events and flows are the same before and after."""

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app as cli
from projections.schema import events, flow_versions
from tests.api.v1_harness import KEY, async_client, form_flow, ok

BIG = {"name": "blob", "properties": {"data": "x" * 300_000}}


def flow_with(step: dict[str, Any]) -> dict[str, Any]:
    return {**form_flow("edge-flow"), "steps": [step]}


def email(**fields) -> dict[str, Any]:
    return {"id": "mail", "kind": "send_email", "subject": "Hi", "body": ".", **fields}


# (name, method, path, body, status, field named in the answer, text in the reason)
API_CASES = [
    (
        "oversized event",
        "post",
        "/v1/events",
        {"type": "custom", "contact_id": "edge-1", "payload": BIG},
        422,
        "payload",
        "bytes",
    ),
    (
        "unknown event type",
        "post",
        "/v1/events",
        {"type": "form.sent", "contact_id": "edge-1"},
        422,
        "type",
        "unknown event type",
    ),
    (
        "bad event in a batch",
        "post",
        "/v1/events/batch",
        {
            "events": [
                {"type": "form.submitted", "contact_id": "edge-1", "payload": {"form_id": "a"}},
                {"type": "form.submitted", "contact_id": "edge-1", "payload": {}},
            ]
        },
        422,
        "events[1].payload.form_id",
        "required",
    ),
    (
        "contact upsert with a phone that is no number",
        "put",
        "/v1/contacts/edge-1",
        {"phone": "12"},
        422,
        "phone",
        "not a valid phone number",
    ),
    (
        "contact event with a phone that is no number",
        "post",
        "/v1/events",
        {"type": "contact.created", "contact_id": "edge-1", "payload": {"phone": "12"}},
        422,
        "payload.phone",
        "not a valid phone number",
    ),
    (
        "oversized contact upsert",
        "put",
        "/v1/contacts/edge-1",
        {"attributes": {"notes": "x" * 300_000}},
        422,
        "payload",
        "bytes",
    ),
    (
        "template reaching for internals",
        "post",
        "/v1/flows/validate",
        flow_with(email(subject="{{ ''.__class__.__mro__ }}")),
        200,
        "subject",
        "not allowed",
    ),
    (
        "template printing a function",
        "post",
        "/v1/flows/validate",
        flow_with(email(subject="{{ ''.format }}")),
        200,
        "subject",
        "not allowed",
    ),
    (
        "template building 3 MB",
        "post",
        "/v1/flows/validate",
        flow_with(email(body="{{ 'x' * 3000000 }}")),
        200,
        "body",
        "would build",
    ),
    (
        "webhook to cloud metadata",
        "post",
        "/v1/flows/validate",
        flow_with({"id": "hook", "kind": "webhook", "url": "http://169.254.169.254/latest"}),
        200,
        "url",
        "link-local",
    ),
    (
        "webhook to loopback spelled 127.1",
        "post",
        "/v1/flows/validate",
        flow_with({"id": "hook", "kind": "webhook", "url": "http://127.1:8080/admin"}),
        200,
        "url",
        "loopback",
    ),
    (
        "webhook to [::1]",
        "post",
        "/v1/flows/validate",
        flow_with({"id": "hook", "kind": "webhook", "url": "http://[::1]/"}),
        200,
        "url",
        "loopback",
    ),
    (
        "attachment on a private address",
        "post",
        "/v1/flows/validate",
        flow_with(
            email(
                attachments=[
                    {
                        "url": "http://10.0.0.5/report.pdf",
                        "filename": "report.pdf",
                        "size_bytes": 1000,
                    }
                ]
            )
        ),
        200,
        "attachments.0.url",
        "private",
    ),
    (
        "codec payloads that are not payloads",
        "post",
        "/codec/decode",
        {"payloads": [{"data": 42}]},
        422,
        "payloads",
        "parse",
    ),
]


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(events)).scalar_one(),
            conn.execute(select(func.count()).select_from(flow_versions)).scalar_one(),
        )


def named(answer: dict, field: str, reason: str) -> bool:
    """The answer names `field` (a 422's detail, or a validation's problems)."""
    entries = answer.get("detail") if isinstance(answer.get("detail"), list) else []
    entries = entries + (answer.get("problems") or [])
    for entry in entries:
        loc = entry.get("loc", [])
        where = entry.get("field") or (loc if isinstance(loc, str) else ".".join(map(str, loc)))
        text = entry.get("msg") or entry.get("message") or ""
        if field in where and reason in text:
            return True
    return False


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
async def test_bad_input_through_the_api_is_refused_naming_the_field(case, settings, engine):
    name, method, path, body, status, field, reason = case
    # The ops key may also read payloads through the codec (its own setting).
    settings = settings.model_copy(update={"codec_api_keys": [KEY]})
    async with async_client(settings, engine) as api:
        # Accepted before: one flow published, one event stored.
        ok(await api.post("/v1/flows", json=form_flow("kept-flow")), 201)
        ok(await api.post("/v1/flows/kept-flow/publish"))
        ok(
            await api.post(
                "/v1/events",
                json={
                    "type": "form.submitted",
                    "contact_id": "kept",
                    "payload": {"form_id": "newsletter"},
                },
            ),
            202,
        )
        before = counts(engine)
        answer = await getattr(api, method)(path, json=body)
        after = counts(engine)
    assert answer.status_code == status, (name, answer.status_code, answer.text)
    payload = answer.json()
    if status == 200:  # validation: the document is refused for publishing, not stored
        assert payload["valid"] is False, payload
    assert named(payload, field, reason), (name, payload)
    assert after == before, f"{name}: something accepted earlier was lost or added"


CLI_CASES = [
    (
        "oversized event",
        ["event", "send", "--type", "custom", "--contact", "edge-1", "--payload", json.dumps(BIG)],
        "payload",
    ),
    ("unknown event type", ["event", "send", "--type", "form.sent", "--contact", "edge-1"], "type"),
    (
        "contact with a phone that is no number",
        [
            "event",
            "send",
            "--type",
            "contact.created",
            "--contact",
            "edge-1",
            "--payload",
            '{"phone": "12"}',
        ],
        "payload.phone",
    ),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_bad_input_through_the_cli_is_refused_naming_the_field(case, engine, monkeypatch):
    name, argv, field = case
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", "127.0.0.1:1")  # never reached
    before = counts(engine)
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, (name, result.stdout, result.stderr)  # bad input, as usage
    assert f"{field}:" in result.stderr + result.stdout, (name, result.stdout, result.stderr)
    assert counts(engine) == before


def test_a_flow_file_with_unsafe_content_fails_validation_naming_step_and_field(tmp_path):
    document = flow_with(email(subject="{{ ''.__class__ }}"))
    document["steps"].append({"id": "hook", "kind": "webhook", "url": "http://0x7f000001/"})
    path = tmp_path / "unsafe.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(cli, ["flow", "validate", str(path)])
    output = result.stdout + result.stderr
    assert result.exit_code == 1, output
    assert "mail" in output and "subject" in output
    assert "hook" in output and "url" in output
