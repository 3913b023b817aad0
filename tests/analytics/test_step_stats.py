"""Per-step analytics without Temporal: how visits are classified, how positions,
re-visits, old journeys and conversions are counted, and refusals for flows that have
no such version."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from domain.events import EventRejected, EventType, parse_event
from domain.step_outcomes import StepReport, classify
from projections import journey_index as index
from projections.event_store import ingest
from projections.flow_catalogue import UnknownFlow, UnknownVersion, publish
from projections.flow_lifecycle import save_draft
from projections.schema import journey_index
from projections.step_schema import journey_step_visits
from projections.step_stats import NothingPublished, flow_step_stats
from projections.step_visits import record_visit, record_visits
from routing.index_keeper import IndexKeeper
from tests.analytics.steps import STATS_FLOW
from tests.journey_harness import event

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "code", "expected"),
    [
        ("send_email", "email sent", "sent", None, ("completed", None)),
        (
            "send_email",
            "email skipped: contact has no email address",
            "skipped",
            "no_address",
            ("skipped", "no_address"),
        ),
        (
            "send_sms",
            "sms skipped: over the cap",
            "skipped",
            "frequency_cap",
            ("skipped", "frequency_cap"),
        ),
        (
            "send_email",
            "email skipped: contact opted out of topic 'news' on email",
            "skipped",
            "unsubscribed_topic",
            ("skipped", "unsubscribed_topic"),
        ),
        ("experiment", "held out: no message (holdout)", None, None, ("skipped", "holdout")),
        (
            "send_email",
            "email failed: invalid recipient",
            "failed",
            "rejected",
            ("failed", "rejected"),
        ),
        ("send_sms", "condition not met: skipped", None, None, ("skipped", "condition_not_met")),
        ("send_sms", "condition not met: branched", None, None, ("skipped", "condition_not_met")),
        (
            "add_tag",
            "not in the step's audience: skipped",
            None,
            None,
            ("skipped", "not_in_audience"),
        ),
        (
            "send_email",
            "skipped: its time passed while paused",
            None,
            None,
            ("skipped", "expired_while_paused"),
        ),
        (
            "send_email",
            "exited: condition of step mail not met",
            None,
            None,
            ("exited", "condition_not_met"),
        ),
        (
            "send_sms",
            "exited: step t: contact has no phone number",
            "skipped",
            "no_address",
            ("exited", "no_address"),
        ),
        ("exit", "exited: done", None, None, ("completed", None)),
        ("wait", "interrupted", None, None, ("interrupted", None)),
        ("branch", "condition false", None, None, ("completed", None)),
    ],
)
def test_each_outcome_of_the_interpreter_has_a_result_and_reason(
    kind, outcome, status, code, expected
):
    assert classify(kind, outcome, status, code) == expected


def _report(
    contact_id: str,
    step_id: str,
    visit: int,
    outcome: str,
    next_step: str | None,
    version: int = 1,
    **extra,
) -> StepReport:
    workflow_id = f"journey/stats-flow/{contact_id}"
    return StepReport(
        workflow_id=workflow_id,
        enrollment_id=f"e-{contact_id}",
        flow_id="stats-flow",
        flow_version=version,
        contact_id=contact_id,
        step_id=step_id,
        kind=STATS_FLOW.step(step_id).kind,
        visit=visit,
        message_key=f"{workflow_id}/e-{contact_id}/{step_id}/{visit}",
        outcome=outcome,
        next_step=next_step,
        at=NOW,
        **extra,
    )


def test_positions_visits_old_journeys_and_conversions(engine):
    with engine.begin() as conn:
        flow = publish(conn, STATS_FLOW)
    keeper = IndexKeeper(engine)
    for contact_id in ("a", "b", "c"):
        keeper.claim(flow, contact_id, f"e-{contact_id}", f"journey/stats-flow/{contact_id}")
    with engine.begin() as conn:
        # A journey from before step reports: indexed, but nobody knows its step.
        index.claim_start(
            conn,
            workflow_id="journey/stats-flow/old",
            contact_id="old",
            flow_id="stats-flow",
            flow_version=1,
            enrollment_id="e-old",
            now=NOW,
        )
        record_visit(conn, _report("a", "mail", 1, "email sent", "wait", action_status="sent"))
        record_visit(
            conn,
            _report(
                "b",
                "mail",
                1,
                "email skipped: no address",
                "wait",
                action_status="skipped",
                reason_code="no_address",
            ),
        )
        # A retried report (the local activity ran twice) counts once.
        record_visit(
            conn,
            _report(
                "b",
                "mail",
                1,
                "email skipped: no address",
                "wait",
                action_status="skipped",
                reason_code="no_address",
            ),
        )
        for visit in (1, 2):  # a loop back through the wait counts each visit
            record_visit(conn, _report("a", "wait", visit, "waited 2d", "wait"))
        index.set_status(conn, ["journey/stats-flow/c"], index.PAUSED, NOW)
    ingest(
        engine,
        [
            event(
                "a",
                EventType.JOURNEY_CONVERTED,
                {
                    "flow_id": "stats-flow",
                    "flow_version": 1,
                    "goal_step": "won",
                    "step_id": "wait",
                    "journey_id": "journey/stats-flow/a",
                    "enrollment_id": "e-a",
                },
            )
        ],
    )

    with engine.connect() as conn:
        stats = flow_step_stats(conn, "stats-flow")
    rows = stats.by_step()
    assert (
        rows["mail"].entered,
        rows["mail"].completed,
        rows["mail"].skipped_total,
        rows["mail"].waiting,
    ) == (3, 1, 1, 1)  # c (paused) has not left the first step
    assert rows["mail"].skipped["no_address"] == 1
    assert (
        rows["wait"].entered,
        rows["wait"].completed,
        rows["wait"].waiting,
        rows["wait"].converted,
    ) == (4, 2, 2, 1)
    assert (stats.live_journeys, stats.unplaced) == (4, 1)
    assert stats.steps[0].sent == 0  # no message.sent in the store: nothing counted as sent


def test_a_flush_of_visits_writes_each_once_and_moves_each_journey_to_its_last_next_step(
    engine,
):
    """A journey's flush (record_progress) sends its visits together: one statement for
    the visits, one move per journey, the same end state as reporting them one by one."""
    with engine.begin() as conn:
        flow = publish(conn, STATS_FLOW)
    keeper = IndexKeeper(engine)
    for contact_id in ("a", "b"):
        keeper.claim(flow, contact_id, f"e-{contact_id}", f"journey/stats-flow/{contact_id}")
    flush = [
        _report("a", "mail", 1, "email sent", "wait", action_status="sent"),
        _report("b", "mail", 1, "email sent", "wait", action_status="sent"),
        _report("a", "wait", 1, "waited 2d", "tag"),
        _report("a", "tag", 1, "tag added", "sms"),
    ]
    for _ in range(2):  # the local activity retried: nothing is written twice
        with engine.begin() as conn:
            record_visits(conn, flush)
    with engine.connect() as conn:
        visits = conn.execute(
            select(journey_step_visits.c.contact_id, func.count())
            .group_by(journey_step_visits.c.contact_id)
            .order_by(journey_step_visits.c.contact_id)
        ).all()
        steps = dict(
            conn.execute(select(journey_index.c.contact_id, journey_index.c.current_step)).all()
        )
    assert [tuple(row) for row in visits] == [("a", 3), ("b", 1)]
    assert steps == {"a": "sms", "b": "wait"}


def test_a_flow_or_version_that_does_not_exist_is_named(engine):
    with engine.begin() as conn:
        save_draft(conn, {**STATS_FLOW.model_dump(mode="json"), "id": "drafted"})
        publish(conn, STATS_FLOW)
    with engine.connect() as conn:
        with pytest.raises(UnknownVersion, match="flow 'stats-flow' has no version 2"):
            flow_step_stats(conn, "stats-flow", 2)
        with pytest.raises(UnknownFlow, match="there is no flow 'nope'"):
            flow_step_stats(conn, "nope")
        with pytest.raises(NothingPublished, match="flow 'drafted' has no published version"):
            flow_step_stats(conn, "drafted")
        assert flow_step_stats(conn, "stats-flow").versions == [1]


def test_message_sent_says_its_topic_locale_and_variant_and_older_events_still_validate():
    base = {
        "event_id": "m-1",
        "type": "message.sent",
        "contact_id": "a",
        "occurred_at": NOW,
        "payload": {"channel": "email", "message_key": "k", "to": "a@example.com"},
    }
    assert parse_event(base, now=NOW).payload == base["payload"]
    told = {
        **base["payload"],
        "topic": "newsletter",
        "locale": "pt-BR",
        "variant": "bold",
        "variant_phase": "winner",
    }
    assert parse_event({**base, "payload": told}, now=NOW).payload == told
    with pytest.raises(EventRejected) as refused:
        parse_event({**base, "payload": {**told, "variant_phase": "maybe"}}, now=NOW)
    assert [field for field, _ in refused.value.problems] == ["payload.variant_phase"]
