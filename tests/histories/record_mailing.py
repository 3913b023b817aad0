"""Record a MailingWorkflow history for the replay test (tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_mailing v1
A two-step chain (an email to a segment, a day later an SMS to those who unsubscribed
from email: the one unsubscribed before it), paused and resumed once during its day's wait. Refuses to overwrite a
stored history: add a new file for a new version instead."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.mailing import Mailing
from domain.mailing_runs import MailingProgress
from projections import mailings as catalogue
from projections.database import make_engine, migrate
from routing import mailings as lifecycle
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE
from tests.journey_harness import journey_worker
from tests.mailings.test_v1_mailings import chain, people, statuses, until


async def record(version: str) -> Path:
    target = HERE / f"mailing_{version}.json"
    if target.exists():
        raise SystemExit(f"{target} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-mailing")
        # The binary in DRIPSTONE_TEST_SERVER_BIN; unencrypted, so it replays under any keys.
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            people(engine)
            with engine.begin() as conn:
                catalogue.save(conn, Mailing.model_validate(chain("recorded")), chain("recorded"))
            async with journey_worker(env.client, engine, settings):
                await lifecycle.send(env.client, engine, "recorded", task_queue=settings.task_queue)
                await until(
                    lambda: statuses(engine, "recorded").get(("main", "m-2"), ("",))[0] == "sent"
                )
                await lifecycle.pause(env.client, engine, "recorded")
                await lifecycle.resume(env.client, engine, "recorded")
                handle = env.client.get_workflow_handle(
                    "mailing/recorded", result_type=MailingProgress
                )
                async with env.time_skipping_unlocked():
                    progress = await handle.result()
            assert progress.totals["by-sms"].sent == 1, progress
            history = await handle.fetch_history()
        finally:
            await env.shutdown()
            engine.dispose()
    target.write_text(history.to_json())
    return target


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
