"""Experiment steps and holdouts on the time-skipping server, through the production
ingest and dispatch path: contacts spread over variants by their hash (and the same
variant on replay), a winner decided from the read models once every variant has its
sample measured, later contacts getting the winner; holdout contacts get no message
and their conversions still count toward the flow's lift.

The metric window is an hour of the read models' clock, which the time-skipping server
does not skip: the experiment activity takes that clock from the test, which moves it
past the window before the later contacts arrive, so the first contacts are measured
(no sleeping, however slow or fast the machine)."""

from datetime import UTC, datetime, timedelta

from scipy.stats import fisher_exact
from sqlalchemy import select
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from codec.converter import data_converter
from domain.events import EventType
from domain.experiments.assignment import assign_variant, in_holdout
from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.experiment_schema import experiment_assignments, experiment_decisions
from projections.experiments import flow_experiments
from settings import Settings
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_worker,
    outbox,
)
from tests.workflows.test_journey_engagement import OpenedBy
from workflows.journey import JourneyWorkflow

AB = flow_from(
    {
        "id": "ab-welcome",
        "steps": [
            {
                "id": "welcome",
                "kind": "experiment",
                "channel": "email",
                "variants": [
                    {"name": "plain", "weight": 1, "subject": "Welcome", "body": "."},
                    {"name": "bold", "weight": 1, "subject": "WELCOME!", "body": "."},
                ],
                "metric": {"kind": "opened", "window": "1h"},
                "winner": {"after": "sample_size", "sample_size": 5},
            },
            {"id": "after", "kind": "add_tag", "tag": "welcomed"},
        ],
    }
)
STEP = AB.steps[0]
SUBJECTS = {"plain": "Welcome", "bold": "WELCOME!"}
EARLY = [f"ab-{n}" for n in range(12)]
LATE = [f"ab-late-{n}" for n in range(4)]


class MovedClock:
    """The wall clock, plus however far the test has moved it on."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


def _expected() -> dict[str, str]:
    return {c: assign_variant(STEP, AB.id, c) for c in EARLY}


async def test_variants_by_hash_then_the_winner_for_later_contacts(
    time_skipping_env, engine, settings
):
    expected = _expected()
    spread = {v: [c for c in EARLY if expected[c] == v] for v in SUBJECTS}
    # The sample is the whole smaller group, and its last member is the last early
    # contact: no early contact can find the rule met, however slow the machine.
    assert min(len(m) for m in spread.values()) == STEP.winner.sample_size, spread
    assert expected[EARLY[-1]] == min(spread, key=lambda v: len(spread[v])), spread
    for c in EARLY + LATE:
        ingest(engine, contact(c, email=f"{c}@example.com"))
    # Everyone who got the bold subject opens it at once; nobody opens the plain one.
    email = OpenedBy(engine, openers=set(spread["bold"]))
    clock = MovedClock()
    async with journey_worker(
        time_skipping_env.client, engine, settings, email=email, experiment_clock=clock
    ) as router:
        early = {
            c: await enroll_and_finish(time_skipping_env, router, engine, AB, c) for c in EARLY
        }
        clock.ahead = timedelta(hours=2)  # past the window: the early contacts are measured
        late = {c: await enroll_and_finish(time_skipping_env, router, engine, AB, c) for c in LATE}

    for c, state in early.items():
        assert state.status == JourneyStatus.COMPLETED, state
        assert state.trail[0].outcome == f"variant {expected[c]}: email sent", state.trail
        assert [m.subject for m in outbox(engine, c)] == [SUBJECTS[expected[c]]]
    for c, state in late.items():
        assert state.trail[0].outcome == "winner bold: email sent", state.trail
        assert [m.subject for m in outbox(engine, c)] == ["WELCOME!"]

    with engine.connect() as conn:
        stored = {
            r.contact_id: (r.variant, r.phase) for r in conn.execute(select(experiment_assignments))
        }
        decided = conn.execute(select(experiment_decisions)).one()
        report = flow_experiments(conn, AB.id, clock())
    assert stored == {
        **{c: (expected[c], "test") for c in EARLY},
        **{c: ("bold", "winner") for c in LATE},
    }
    assert (decided.flow_id, decided.step_id, decided.winner, decided.rule) == (
        AB.id,
        "welcome",
        "bold",
        "sample_size",
    )

    [result] = report.experiments
    plain, bold = result.variants
    n_plain, n_bold = len(spread["plain"]), len(spread["bold"])
    assert (plain.assigned, plain.measured, plain.successes) == (n_plain, n_plain, 0)
    assert (bold.assigned, bold.measured, bold.successes) == (n_bold, n_bold, n_bold)
    assert (bold.rate, bold.difference) == (1.0, 1.0)
    assert bold.p_value == fisher_exact([[n_bold, 0], [0, n_plain]]).pvalue
    assert result.decision.winner == "bold" and result.winner_sends == len(LATE)
    assert result.decision_due is False and report.lift is None

    # The same contact gets the same variant when its journey replays.
    replayer = Replayer(workflows=[JourneyWorkflow], data_converter=data_converter(Settings()))
    for c in (spread["plain"][0], spread["bold"][0], LATE[0]):
        handle = time_skipping_env.client.get_workflow_handle(f"journey/{AB.id}/{c}")
        history = WorkflowHistory.from_json(handle.id, (await handle.fetch_history()).to_json())
        replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert replayed.replay_failure is None, replayed.replay_failure


HELD = flow_from(
    {
        "id": "held-welcome",
        "holdout_percent": 40,
        "steps": [
            {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
            {"id": "nudge", "kind": "send_sms", "text": "Still there?"},
            {"id": "marked", "kind": "add_tag", "tag": "in-flow"},
            {
                "id": "bought",
                "kind": "goal",
                "goal": {"kind": "purchased_product", "product": "pro"},
            },
        ],
    }
)
MEMBERS = [f"held-{n}" for n in range(10)]
BUYERS = set(MEMBERS[::2])


async def test_holdout_contacts_get_no_message_but_their_conversions_count(
    time_skipping_env, engine, settings
):
    holdout = {c for c in MEMBERS if in_holdout(HELD.id, c, HELD.holdout_percent)}
    assert holdout and holdout != set(MEMBERS) and holdout & BUYERS, holdout
    for c in MEMBERS:
        ingest(engine, contact(c, email=f"{c}@example.com", phone="+14155550123"))
        if c in BUYERS:  # bought before: the goal step converts them when they reach it
            ingest(engine, [event(c, EventType.PRODUCT_PURCHASED, {"product": "pro"})])
    async with journey_worker(time_skipping_env.client, engine, settings) as router:
        states = {
            c: await enroll_and_finish(time_skipping_env, router, engine, HELD, c) for c in MEMBERS
        }

    for c, state in states.items():
        outcomes = [v.outcome for v in state.trail]
        assert state.status == (JourneyStatus.CONVERTED if c in BUYERS else JourneyStatus.COMPLETED)
        if c in holdout:
            assert outcomes[0] == "held out: no message (holdout)", outcomes
            if c not in BUYERS:
                assert outcomes == ["held out: no message (holdout)"] * 2 + [
                    "contact.tag_added in-flow",
                    "goal not met yet",
                ], outcomes
            assert outbox(engine, c) == []
        elif c in BUYERS:  # converted as soon as the email's own event reached the journey
            assert outcomes[:2] == ["email sent", "converted (attributed to hello)"], outcomes
            assert [m.channel for m in outbox(engine, c)] == ["email"]
        else:
            assert outcomes[:2] == ["email sent", "sms sent"], outcomes
            assert [m.channel for m in outbox(engine, c)] == ["email", "sms"]

    with engine.connect() as conn:
        lift = flow_experiments(conn, HELD.id, datetime.now(UTC)).lift
    treated = [c for c in MEMBERS if c not in holdout]
    counts = (len(treated), len(BUYERS - holdout), len(holdout), len(BUYERS & holdout))
    assert (
        lift.treated,
        lift.treated_conversions,
        lift.holdout,
        lift.holdout_conversions,
    ) == counts
    assert lift.holdout_percent == 40
    assert (
        lift.p_value
        == fisher_exact(
            [[counts[1], counts[0] - counts[1]], [counts[3], counts[2] - counts[3]]]
        ).pvalue
    )
    assert lift.difference == counts[1] / counts[0] - counts[3] / counts[2]
