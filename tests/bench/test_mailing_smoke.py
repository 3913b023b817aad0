"""The mailing benchmark end to end on a tiny scale (dev server, a worker process, the
outbox), with its second mailing's worker killed with SIGKILL halfway. Nothing is
checked against a target or a time: only that every recipient was sent to exactly once
and the figures are printed."""

import io

import pytest
from rich.console import Console
from sqlalchemy import func, select

from bench.mailing import Options, render, run
from projections.schema import message_ledger, outbox_messages


@pytest.mark.devserver
async def test_the_mailing_benchmark_sends_to_every_recipient_once(
    dev_server_env, engine, tmp_path
):
    url = engine.url.render_as_string(hide_password=False)
    result = await run(
        dev_server_env.client,
        engine,
        url,
        Options(recipients=1500),
        work_dir=tmp_path,
        say=lambda *_: None,
    )
    assert (result.recipients, result.clean.sent, result.killed.sent) == (1500, 1500, 1500)
    assert (result.killed.outboxed, result.killed.distinct) == (1500, 1500)
    with engine.connect() as conn:
        # On PostgreSQL the baseline writes its rows (keys baseline/...) here too.
        outboxed = conn.execute(
            select(func.count(func.distinct(outbox_messages.c.contact_id))).where(
                outbox_messages.c.idempotency_key.startswith("mailing/")
            )
        ).scalar_one()
        sent = conn.execute(
            select(func.count())
            .select_from(message_ledger)
            .where(
                message_ledger.c.status == "sent",
                message_ledger.c.idempotency_key.startswith("mailing/"),
            )
        ).scalar_one()
    assert outboxed == 1500 and sent == 3000  # each recipient once per mailing
    assert result.clean.history_events > 0 and result.rate > 0 and result.baseline_rate > 0
    assert result.clean.peak_rss_bytes > 0
    out = io.StringIO()
    render(result, Console(file=out, width=160))
    for figure in (
        "engine: recipients/s",
        "baseline (plain writes): recipients/s",
        "engine / baseline",
        "history events per 1,000 recipients",
        "killed run: duplicates",
        "worker peak memory (MiB)",
    ):
        assert figure in out.getvalue()
