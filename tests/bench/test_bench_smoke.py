"""The benchmark runs end to end on a tiny history and reports well-formed figures.
Timings are only checked for shape (positive, ordered), never against thresholds."""

import io

import pytest
from rich.console import Console
from sqlalchemy import func, select

from bench.conditions import NotEmpty, run
from bench.measure import LatencyFigures, count_events
from bench.report import render
from bench.workload import Workload
from domain.payload_schemas import PAYLOAD_SCHEMAS
from projections.schema import contacts

TINY = Workload(contacts=50, events_per_contact=5, seed=7)


def test_workload_is_deterministic_and_valid():
    again = Workload(contacts=50, events_per_contact=5, seed=7)
    stream = list(TINY.stream(chunk=16))
    assert stream == list(again.stream(chunk=16))
    # The chunk only decides how far events are interleaved, never what they are.
    by_id = sorted(again.stream(chunk=7), key=lambda e: e.event_id)
    assert sorted(stream, key=lambda e: e.event_id) == by_id
    assert len(stream) == TINY.total_events()
    assert len({e.event_id for e in stream}) == len(stream)
    for event in stream:
        assert event.type in PAYLOAD_SCHEMAS
        event.typed_payload()  # every generated payload passes the edge's validation


def test_benchmark_produces_well_formed_figures(engine):
    result = run(engine, TINY, batch_size=20, compare_sizes=(1, 20), slice_contacts=3, samples=40)

    slices = TINY.total_events(50, 56)
    assert result.load.events == result.load.new_events == TINY.total_events()
    assert {size: f.events for size, f in result.batch_sizes.items()} == {
        1: TINY.total_events(50, 53),
        20: TINY.total_events(53, 56),
    }
    assert all(f.new_events == f.events for f in result.batch_sizes.values())
    assert count_events(engine) == TINY.total_events() + slices
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar_one() == 56
    assert result.load.rate > 0 and all(f.rate > 0 for f in result.batch_sizes.values())

    for latency in (result.latency, result.latency_repeat):
        assert len(latency.samples_ms) == 40
        assert 0 <= latency.matched <= 40
        summary = latency.summary
        assert 0 < summary["p50"] <= summary["p95"] <= summary["p99"] <= summary["max"]
    # Same contacts, same store, same clock: the repeat pass decides exactly the same.
    assert result.latency_repeat.matched == result.latency.matched

    out = io.StringIO()
    render(result, Console(file=out, width=120))
    printed = out.getvalue()
    assert "ev/s" in printed and "p99" in printed and "batch 20 vs batch 1" in printed


def test_rerun_on_a_loaded_store_is_refused(engine):
    run(engine, Workload(contacts=3, events_per_contact=2), slice_contacts=1, samples=1)
    with pytest.raises(NotEmpty):
        run(engine, Workload(contacts=3, events_per_contact=2), slice_contacts=1, samples=1)


def test_percentiles_are_nearest_rank():
    figures = LatencyFigures(
        samples_ms=[float(n) for n in range(100, 0, -1)], matched=0, groups=set()
    )
    assert figures.summary == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
