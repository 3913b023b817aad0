"""call_webhook run directly (ActivityEnvironment) against a real HTTP receiver on
loopback: what is sent, how answers map to retryable or final errors, and the guard
against internal targets."""

import hashlib
import hmac
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhook_targets import GuardedTransport, TargetRefused
from activities.webhooks import WebhookActivities
from domain.contracts.actions import ActionRequest
from projections.event_store import ingest
from projections.schema import events
from tests.fakes.webhook_target import Answer, WebhookTarget
from tests.journey_harness import contact

KEY = "journey/hooks/c1/e1/hook/1"


def request(url: str, key: str = KEY, **step) -> ActionRequest:
    return ActionRequest(
        idempotency_key=key,
        journey_id="journey/hooks/c1",
        flow_id="hooks",
        step_id="hook",
        contact_id="c1",
        step={"id": "hook", "kind": "webhook", "url": url, **step},
    )


def call(activities: WebhookActivities, req: ActionRequest):
    return ActivityEnvironment().run(activities.call_webhook, req)


@pytest.fixture
def known_contact(engine):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    return engine


def test_signed_rendered_request(known_contact):
    hooks = WebhookActivities(known_contact, "s3cret", allow_private_targets=True)
    with WebhookTarget(Answer(201, {"id": 7})) as target:
        outcome = call(
            hooks,
            request(
                f"{target.url}/in/{{{{ contact_id }}}}?token=abc",
                method="PUT",
                headers={"X-Env": "{{ first_name }}", "idempotency-key": "spoof"},
                body='{"name": {{ first_name | tojson }}}',
            ),
        )
    [sent] = target.requests
    assert (sent.method, sent.path, sent.body) == ("PUT", "/in/c1?token=abc", b'{"name": "Ann"}')
    assert sent.headers["X-Env"] == "Ann" and sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Idempotency-Key"] == KEY and "spoof" not in sent.headers.values()
    timestamp = sent.headers["X-Dripstone-Timestamp"]
    expected = hmac.new(
        b"s3cret", timestamp.encode() + b"." + sent.body, hashlib.sha256
    ).hexdigest()
    assert sent.headers["X-Dripstone-Signature"] == f"sha256={expected}"
    assert outcome.status == "done" and outcome.data["status"] == 201
    with known_contact.connect() as conn:
        [stored] = conn.execute(
            select(events.c.type, events.c.payload).where(events.c.type == "webhook.responded")
        ).all()
    # The query (which may carry a token) is not kept in the event store.
    assert stored.payload == {
        "flow_id": "hooks",
        "step_id": "hook",
        "url": f"{target.url}/in/c1",
        "status": 201,
        "body": '{"id": 7}',
        "truncated": False,
        "json": {"id": 7},
    }


def test_recorded_answer_is_not_sent_again(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget() as target:
        first = call(hooks, request(target.url))
        again = call(hooks, request(target.url))
    assert len(target.requests) == 1 and "X-Dripstone-Signature" not in target.requests[0].headers
    assert again.data == {**first.data, "duplicate": True}


@pytest.mark.parametrize(
    ("answer", "delay"),
    [
        (Answer(429, headers={"Retry-After": "7"}), timedelta(seconds=7)),
        (
            Answer(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            timedelta(seconds=1),
        ),
        (Answer(500), None),
        (Answer(429), None),
    ],
)
def test_answers_worth_retrying(known_contact, answer, delay):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget(answer) as target:
        with pytest.raises(ApplicationError) as raised:
            call(hooks, request(target.url))
    assert raised.value.type == "WebhookUnavailable" and not raised.value.non_retryable
    # A date already past still waits a moment rather than hammering the receiver.
    assert raised.value.next_retry_delay == delay


def test_slow_receiver_is_a_retryable_timeout(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget(Answer(delay=2)) as target:
        with pytest.raises(ApplicationError) as raised:
            call(hooks, request(target.url, timeout_seconds=0.3))
    assert raised.value.type == "WebhookUnavailable" and "timed out" in raised.value.message


def test_client_error_is_final_and_stored(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget(Answer(422, {"error": "bad plan"})) as target:
        with pytest.raises(ApplicationError) as raised:
            call(hooks, request(target.url))
    assert raised.value.type == "ProviderRejected" and raised.value.non_retryable
    assert "422" in raised.value.message and "bad plan" in raised.value.message
    with known_contact.connect() as conn:
        assert (
            conn.execute(
                select(events.c.payload["status"].as_integer()).where(
                    events.c.type == "webhook.responded"
                )
            ).scalar()
            == 422
        )


def test_large_answer_is_truncated(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget(Answer(200, "x" * 100_000)) as target:
        call(hooks, request(target.url))
    with known_contact.connect() as conn:
        payload = conn.execute(
            select(events.c.payload).where(events.c.type == "webhook.responded")
        ).scalar()
    assert len(payload["body"]) == 4096 and payload["truncated"] is True


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/x", "loopback"),
        ("http://localhost:{port}/x", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.1.2.3/x", "private"),
        ("http://[::ffff:127.0.0.1]:{port}/x", "loopback"),
    ],
)
def test_internal_targets_are_refused_by_default(known_contact, url, reason):
    hooks = WebhookActivities(known_contact, None)
    with WebhookTarget() as target:
        with pytest.raises(ApplicationError) as raised:
            call(hooks, request(url.format(port=target.port)))
    assert target.requests == []
    assert raised.value.type == "TargetRefused" and raised.value.non_retryable
    assert f"a {reason} address" in raised.value.message


def test_every_resolved_address_is_checked():
    guard = GuardedTransport(resolver=lambda host, port: ["93.184.216.34", "192.168.0.10"])
    with pytest.raises(TargetRefused, match="192.168.0.10, a private address"):
        guard.addresses("hooks.example", 443)


def test_connection_goes_to_the_checked_address(known_contact):
    """DNS rebinding: the name is resolved once, by the guard, and the connection is
    made to that address with the original Host header; no second lookup happens."""
    lookups = []

    def resolver(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    with WebhookTarget() as target:
        transport = GuardedTransport(allow_private=True, resolver=resolver)
        with httpx.Client(transport=transport, trust_env=False) as client:
            assert client.get(f"http://hooks.example:{target.port}/x").status_code == 200
        hooks = WebhookActivities(
            known_contact, None, allow_private_targets=True, resolver=resolver
        )
        call(hooks, request(f"http://hooks.example:{target.port}/y"))
    assert lookups == ["hooks.example", "hooks.example"]
    assert [r.headers["Host"] for r in target.requests] == [f"hooks.example:{target.port}"] * 2


def test_host_from_merge_tags_is_refused(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with pytest.raises(ApplicationError) as raised:
        call(hooks, request("http://{{ website }}/x"))
    assert raised.value.type == "TargetRefused"


def test_missing_merge_value_skips(known_contact):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget() as target:
        outcome = call(hooks, request(target.url, body="{{ plan }}"))
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert target.requests == []


@pytest.mark.parametrize(
    ("where", "cap"),
    [
        (
            {"body": "{{ 'x' * 300000 }}"},
            256 * 1024,
        ),  # under the 512 KB default, over the body's cap
        ({"headers": {"X-Note": "{{ 'x' * 9000 }}"}}, 8 * 1024),
        ({"url_path": "/{{ 'x' * 9000 }}"}, 8 * 1024),
    ],
)
def test_a_field_rendered_past_its_cap_skips(known_contact, where, cap):
    hooks = WebhookActivities(known_contact, None, allow_private_targets=True)
    with WebhookTarget() as target:
        path = where.pop("url_path", "")
        outcome = call(hooks, request(target.url + path, **where))
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert f"more than {cap} characters" in outcome.reason
    assert target.requests == []
