"""The routing benchmark runs end to end on a tiny scale (dev server, worker, the API in
its own process) and reports well-formed figures. Nothing is checked against a target
or a time: only that every part ran and did what it measures."""

import io

import pytest
from rich.console import Console

from bench.api_load import generated_events
from bench.routing import TEMPLATE, Options, flow_document, relabel, render, run, schedule
from domain.events import EventType
from domain.flow import Flow
from projections.live_flows import LiveFlows

TINY = Options(
    events=60,
    flow_counts=(1, 3),
    rounds=2,
    batch_size=10,
    lanes=2,
    warmup_events=20,
    wake_journeys=3,
    wake_gap=0.01,
)


def test_flow_counts_go_up_then_down_so_drift_falls_on_each():
    assert schedule((50, 1, 10), 2) == [(1, 1), (1, 10), (1, 50), (2, 50), (2, 10), (2, 1)]
    assert schedule((1, 10), 3) == [(1, 1), (1, 10), (2, 10), (2, 1), (3, 1), (3, 10)]


def test_no_generated_event_matches_a_bench_flow_trigger():
    flows = [Flow.model_validate(flow_document("rx", n)) for n in range(1, 51)]
    events = generated_events(TEMPLATE, 3000)
    assert any(e["type"] == EventType.CUSTOM for e in events)
    assert not [
        e for e in events for f in flows if f.trigger.matches_event(e["type"], e["payload"])
    ]


def test_relabelled_histories_are_the_same_under_fresh_ids():
    template = generated_events(TEMPLATE, 100)
    fresh = relabel(template, "rnew")
    assert [e["type"] for e in fresh] == [e["type"] for e in template]
    assert all(
        e["contact_id"].startswith("rnew-") and e["event_id"].startswith("rnew-") for e in fresh
    )


@pytest.mark.devserver
async def test_the_routing_benchmark_reports_every_figure(dev_server_env, engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    result = await run(dev_server_env.client, engine, url, TINY, work_dir=tmp_path)

    assert result.problems == []
    assert [(m.round, m.flows, m.live) for m in result.measurements] == [
        (1, 1, 1),
        (1, 3, 3),
        (2, 3, 3),
        (2, 1, 1),
    ]
    for m in result.measurements:
        assert m.run.appended == m.run.events > 0 and m.routed == 0
        # Chunked by batch_size (each sender's share of the ~60 events in several requests).
        assert m.run.requests >= -(-m.run.events // m.run.batch_size) > m.run.lanes
    assert result.rate(1) > 0 and result.rate(3) > 0 and result.ratio > 0
    assert len(result.wake.wake_ms) == len(result.wake.accepted_ms) == 3
    assert all(ms > 0 for ms in result.wake.wake_ms)
    assert result.wake_live == 4  # the 3 bench flows and the wait flow
    # The bench flows are archived afterwards: a reused database keeps no extra live flows.
    assert [f.id for f in LiveFlows(engine).load()] == [f"{result.prefix}-wait"]

    out = io.StringIO()
    render(result, Console(file=out, width=160))
    printed = out.getvalue()
    for figure in (
        "Ingest with 1 live flow",
        "Ingest with 3 live flows",
        "ratio rate(3) / rate(1)",
        "ev/s",
        "p50 / p99",
        "p99 < 250 ms",
    ):
        assert figure in printed
