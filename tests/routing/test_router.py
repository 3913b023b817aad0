"""The router on the time-skipping server: which flows an event enrolls the contact in."""

from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
)


def form_flow(flow_id: str, form_id: str, **trigger):
    return flow_from(
        {
            "id": flow_id,
            "trigger": {
                "event": "form.submitted",
                "where": [{"path": "form_id", "value": form_id}],
                **trigger,
            },
            "steps": [{"id": "tag", "kind": "add_tag", "tag": flow_id}],
        }
    )


async def test_event_enrolls_only_flows_whose_filters_match(time_skipping_env, engine, settings):
    with engine.begin() as conn:
        publish(conn, form_flow("newsletter", "newsletter"))
        publish(conn, form_flow("contact-us", "contact-us"))
        publish(
            conn,
            form_flow("vip-newsletter", "newsletter", condition={"kind": "has_tag", "tag": "vip"}),
        )
    ingest(engine, contact("c1"))
    signup = event("c1", "form.submitted", {"form_id": "newsletter"})
    ingest(engine, [signup])
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        routed = await router.route([signup])
        await journey_result(time_skipping_env, "journey/newsletter/c1")
        # Redelivered after the journey ended: re_entry 'never' keeps it from running twice.
        again = await router.route([signup])
    outcomes = {r.flow_id: r.outcome for r in routed}
    # Flows the event neither enrolls in nor has a journey of are not called at all.
    assert outcomes == {"newsletter": "enrolled"}
    assert [r.workflow_id for r in routed if r.outcome == "enrolled"] == ["journey/newsletter/c1"]
    assert {r.flow_id: r.outcome for r in again}["newsletter"] == "not_reentered"


async def test_after_exit_re_entry_starts_a_fresh_journey_with_fresh_sends(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "again",
            "re_entry": "after_exit",
            "steps": [{"id": "mail", "kind": "send_email", "subject": "Hello", "body": "."}],
        }
    )
    with engine.begin() as conn:
        publish(conn, flow)
    ingest(engine, contact("c1", email="c1@example.com"))
    first, second = (event("c1", "form.submitted", {"form_id": "x"}) for _ in range(2))
    ingest(engine, [first, second])
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        assert [r.outcome for r in await router.route([first])] == ["enrolled"]
        await journey_result(time_skipping_env, "journey/again/c1")
        assert [r.outcome for r in await router.route([second])] == ["enrolled"]
        await journey_result(time_skipping_env, "journey/again/c1")
    # Each enrollment has its own idempotency keys, so the second journey really sends.
    assert [m.subject for m in outbox(engine, "c1")] == ["Hello", "Hello"]


async def test_a_tag_added_by_one_journey_triggers_another_flow(
    time_skipping_env, engine, settings
):
    tagger = flow_from(
        {"id": "tagger", "steps": [{"id": "tag", "kind": "add_tag", "tag": "customer"}]}
    )
    welcome = flow_from(
        {
            "id": "customer-welcome",
            "trigger": {
                "event": "contact.tag_added",
                "where": [{"path": "tag", "value": "customer"}],
            },
            "steps": [
                {"id": "mail", "kind": "send_email", "subject": "Welcome, customer", "body": "."}
            ],
        }
    )
    with engine.begin() as conn:
        publish(conn, welcome)
    ingest(engine, contact("c1", email="c1@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        await enroll_and_finish(time_skipping_env, router, engine, tagger, "c1")
        state = await journey_result(time_skipping_env, "journey/customer-welcome/c1")
    assert state.trail[-1].outcome == "email sent"
    assert [m.subject for m in outbox(engine, "c1")] == ["Welcome, customer"]
