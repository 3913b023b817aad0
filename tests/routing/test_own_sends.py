"""A journey is not signalled with the message.sent of its own send (routing.heard
sent_by): the step already knows, and the signal cost a workflow task per send, and a
failed one when it landed as the journey completed. The contact's other journeys still
hear it."""

from temporalio.api.enums.v1 import EventType

from projections.event_store import ingest
from tests.journey_harness import contact, flow_from, journey_result, journey_worker
from tests.workflows.live_journeys import at_step, start

LISTENER = {
    "id": "own-listener",
    "steps": [
        {
            "id": "listen",
            "kind": "wait_for_event",
            "event": "message.sent",
            "timeout": "1d",
            "on_event": "heard",
            "on_timeout": "deaf",
        },
        {"id": "heard", "kind": "exit", "reason": "heard a send"},
        {"id": "deaf", "kind": "exit", "reason": "heard nothing"},
    ],
}
SENDER = {
    "id": "own-sender",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
        {"id": "later", "kind": "wait", "delay": "1h"},
        {"id": "bye", "kind": "send_sms", "text": "Bye"},
    ],
}


async def test_a_journey_does_not_hear_its_own_sends_and_others_do(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("own1", email="own1@example.com", phone="+14155550123"))
    async with journey_worker(env.client, engine, settings) as router:
        listener = await start(router, engine, flow_from(LISTENER), "own1")
        await at_step(env, listener, "listen")
        sender = await start(router, engine, flow_from(SENDER), "own1")
        heard = await journey_result(env, listener)
        sent = await journey_result(env, sender)

    assert heard.exit_reason == "heard a send"  # the sender's email, routed to the listener
    assert [v.outcome for v in sent.trail] == ["email sent", "waited", "sms sent"]
    assert "message.sent" not in [mark.name for mark in sent.recent_events]
    history = await env.client.get_workflow_handle(sender).fetch_history()
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    assert kinds[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
