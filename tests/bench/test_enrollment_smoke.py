"""The enrollment benchmark runs end to end on a tiny scale (dev server, worker, the API
in its own process) and reports well-formed figures. Nothing is checked against a
target or a time: only that every part ran and did what it measures."""

import io
from collections import Counter
from types import SimpleNamespace

import pytest
from rich.console import Console

from bench.enroll_load import EnrollmentFigures, Round, schedule
from bench.enrollment import Options, run
from bench.enrollment_report import _history, render
from bench.history_cost import HistoryCost, load, save

pytestmark = pytest.mark.devserver

TINY = Options(
    contacts=20,
    rounds=2,
    concurrency=10,
    warmup=2,
    batch_events=60,
    single_events=12,
    batch_size=10,
    lanes=2,
    wake_journeys=5,
    wake_gap=0.01,
)


def test_rounds_alternate_so_drift_falls_on_both_variants():
    assert schedule(10, 4) == [
        ("journey", 3),
        ("bare", 3),
        ("bare", 3),
        ("journey", 3),
        ("journey", 2),
        ("bare", 2),
        ("bare", 2),
        ("journey", 2),
    ]
    assert schedule(1, 2) == [("journey", 1), ("bare", 1)]


async def test_the_enrollment_benchmark_reports_every_figure(dev_server_env, engine, tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    result = await run(dev_server_env.client, engine, url, TINY, work_dir=tmp_path)

    e = result.enrollment
    assert e.failures == [] and result.wake.missed == []
    assert [(r.variant, r.count) for r in e.rounds] == [
        ("journey", 10),
        ("bare", 10),
        ("bare", 10),
        ("journey", 10),
    ]
    assert e.rate("journey") > 0 and e.rate("bare") > 0 and e.ratio > 0
    # Counted from the histories of the last round's runs: every one has its start and
    # its three steps' work (activities or local-activity markers) at least.
    journeys, bare = e.history["journey"], e.history["bare"]
    assert (journeys.runs, journeys.steps, bare.runs, bare.steps) == (10, 3, 10, 3)
    assert bare.group_per_run("activity (scheduled, started, completed)") == 9
    assert journeys.per_step > 1 and bare.per_step > 1
    batch, single = result.ingest
    assert (batch.endpoint, single.endpoint) == ("batch", "single")
    assert batch.appended == batch.events > 0 and single.appended == single.events > 0
    # Chunked by batch_size (each sender's share of the ~60 events in several requests).
    assert batch.requests >= -(-batch.events // batch.batch_size) > batch.lanes
    assert len(result.wake.wake_ms) == len(result.wake.accepted_ms) == 5
    assert all(ms > 0 for ms in result.wake.wake_ms)

    out = io.StringIO()
    render(result, Console(file=out, width=140))
    printed = out.getvalue()
    for figure in (
        "ratio journeys / bare",
        "1M contacts",
        "ev/s",
        "p50 / p99",
        "History events per step",
    ):
        assert figure in printed


def test_saved_figures_come_back_as_the_before_of_a_later_run(tmp_path):
    figures = EnrollmentFigures(
        [Round("journey", 30, 3.0), Round("bare", 30, 6.0)],
        {
            "journey": HistoryCost("journey", 2, 3, 60, Counter({"marker": 10, "other": 50})),
            "bare": HistoryCost("bare", 2, 3, 48, Counter({"other": 48})),
        },
    )
    save(SimpleNamespace(dialect="sqlite", enrollment=figures), tmp_path / "before.json")
    before = load(tmp_path / "before.json")
    assert before["ratio"] == 2.0 and before["rate"] == {"journey": 10.0, "bare": 5.0}
    assert before["history"]["journey"].per_step == 10.0
    assert before["history"]["journey"].group_per_run("marker") == 5.0

    out = io.StringIO()
    Console(file=out, width=140).print(_history(figures.history, before["history"], before["code"]))
    assert f"before ({before['code']})" in out.getvalue() and "10.00" in out.getvalue()
