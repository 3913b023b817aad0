"""LiveFlows.load() runs on several threads at once (the dispatcher's pass, every
ingest, the API's requests): a load that read the catalogue before a publish (or a
pause) and finishes last must not put back what it read over a newer load's flows.
Otherwise an event sent after `flow publish` returned can find the flow missing and be
routed to nobody: a lost enrollment. Both database lanes."""

from domain.flow import Flow
from projections.flow_catalogue import publish
from projections.flow_lifecycle import pause
from projections.live_flows import LiveFlows
from tests.journey_harness import flow_from
from tests.routing.held_load import held_load


def publish_flow(engine, flow_id: str, trigger: str = "form.submitted") -> Flow:
    flow = flow_from(
        {
            "id": flow_id,
            "trigger": {"event": trigger},
            "steps": [{"id": "bye", "kind": "exit", "reason": "done"}],
        }
    )
    with engine.begin() as conn:
        return publish(conn, flow)


def ids(flows: list[Flow]) -> list[str]:
    return [f.id for f in flows]


def test_a_load_that_read_before_a_publish_never_hides_the_new_flow(engine):
    live = LiveFlows(engine)
    publish_flow(engine, "older")
    with held_load(engine, live) as stale:  # read: only "older" is live
        publish_flow(engine, "fresh", trigger="page.visited")
        # Loads stay concurrent: this one does not wait for the held one.
        assert ids(live.load()) == ["fresh", "older"]
        # The held load finishes last; what it read is older than what is in place.
        assert ids(stale.finish()) == ["fresh", "older"]
    assert ids(live.triggered_by("page.visited")) == ["fresh"]
    assert live.trigger_types() == {"form.submitted", "page.visited"}


def test_a_load_that_read_before_a_pause_never_revives_the_flow(engine):
    live = LiveFlows(engine)
    publish_flow(engine, "paused-later")
    with held_load(engine, live) as stale:  # read: the flow is live
        with engine.begin() as conn:
            pause(conn, "paused-later")
        assert live.load() == []
        stale.finish()
    assert live.triggered_by("form.submitted") == []
    assert live.trigger_types() == set()


def test_a_newer_version_is_not_replaced_by_the_one_read_before_it(engine):
    live = LiveFlows(engine)
    publish_flow(engine, "versioned")
    with held_load(engine, live) as stale:  # read: version 1
        second = flow_from(
            {
                "id": "versioned",
                "name": "second",
                "steps": [{"id": "bye", "kind": "exit", "reason": "v2"}],
            }
        )
        with engine.begin() as conn:
            publish(conn, second)
        assert [f.version for f in live.load()] == [2]
        stale.finish()
    assert [f.version for f in live.triggered_by("form.submitted")] == [2]


def test_a_load_that_finishes_first_but_read_last_is_kept(engine):
    """The order that matters is the order of the reads, not of the finishes."""
    live = LiveFlows(engine)
    with held_load(engine, live) as first:  # read: nothing live
        first.finish()
    assert live.load() == []
    publish_flow(engine, "after-both")
    assert ids(live.load()) == ["after-both"]
