"""LiveFlows keeps the parsed flow versions it used last, at most its cache size
(DRIPSTONE_LIVE_FLOWS_CACHE_SIZE): every publish makes a new version, and a process
that runs for months must not keep each one it ever parsed. A cache smaller than the
live flows costs parsing again, never a flow left out. Both database lanes."""

import pytest

from domain.flow import Flow
from projections.flow_catalogue import publish
from projections.live_flows import LiveFlows
from routing.router import Router
from settings import Settings
from tests.journey_harness import flow_from


def publish_version(engine, flow_id: str, reason: str, trigger: str = "form.submitted") -> Flow:
    flow = flow_from(
        {
            "id": flow_id,
            "trigger": {"event": trigger},
            "steps": [{"id": "bye", "kind": "exit", "reason": reason}],
        }
    )
    with engine.begin() as conn:
        return publish(conn, flow)


def test_versions_beyond_the_size_are_dropped_least_recently_used_first(engine):
    live = LiveFlows(engine, cache_size=2)
    publish_version(engine, "steady", "v1", trigger="page.visited")
    for reason in ("first", "second", "third"):
        publish_version(engine, "often", reason)
        live.load()
    # "steady" is used by every load: "often"'s older versions went first.
    assert live.parsed.keys() == [("steady", 1), ("often", 3)]
    assert [(f.id, f.version) for f in live.load()] == [("often", 3), ("steady", 1)]


def test_more_live_flows_than_the_cache_holds_are_all_routed(engine):
    live = LiveFlows(engine, cache_size=1)
    for flow_id in ("a", "b", "c"):
        publish_version(engine, flow_id, "only")
    for _ in range(2):  # the second load parses again what the first could not keep
        assert [f.id for f in live.load()] == ["a", "b", "c"]
        assert [f.id for f in live.triggered_by("form.submitted")] == ["a", "b", "c"]
    assert len(live.parsed.keys()) == 1


def test_the_size_comes_from_settings(engine, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_LIVE_FLOWS_CACHE_SIZE", "7")
    settings = Settings(_env_file=None)
    router = Router(None, engine, "tq", flow_cache_size=settings.live_flows_cache_size)
    assert router.flows.parsed.size == 7
    monkeypatch.setenv("DRIPSTONE_LIVE_FLOWS_CACHE_SIZE", "0")
    with pytest.raises(ValueError, match="live_flows_cache_size"):
        Settings(_env_file=None)
