"""The mailing benchmark end to end on a tiny scale (dev server, in-process worker,
outbox). Nothing is checked against a target or a time: only that every recipient was
sent to once and the figures are printed."""

import io

import pytest
from rich.console import Console
from sqlalchemy import func, select

from bench.mailing import Options, render, run
from projections.schema import message_ledger, outbox_messages


@pytest.mark.devserver
async def test_the_mailing_benchmark_sends_to_every_recipient_once(dev_server_env, engine,
                                                                   tmp_path):
    url = engine.url.render_as_string(hide_password=False)
    result = await run(dev_server_env.client, engine, url, Options(recipients=1500),
                       work_dir=tmp_path, say=lambda *_: None)
    assert (result.recipients, result.sent) == (1500, 1500)
    with engine.connect() as conn:
        # On PostgreSQL the baseline writes its rows (keys baseline/...) here too.
        outboxed = conn.execute(select(func.count(func.distinct(outbox_messages.c.contact_id)))
                                .where(outbox_messages.c.idempotency_key.startswith("mailing/"))
                                ).scalar_one()
        sent = conn.execute(select(func.count()).select_from(message_ledger).where(
            message_ledger.c.status == "sent",
            message_ledger.c.idempotency_key.startswith("mailing/"))).scalar_one()
    assert outboxed == sent == 1500
    assert result.history_events > 0 and result.rate > 0 and result.baseline_rate > 0
    out = io.StringIO()
    render(result, Console(file=out, width=160))
    for figure in ("engine: recipients/s", "baseline (plain writes): recipients/s",
                   "engine / baseline", "history events per 1,000 recipients"):
        assert figure in out.getvalue()
