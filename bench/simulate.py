"""Wall time of a 30-day simulation of the NPS template for one contact (no reply: the
journey waits two virtual days, then exits), split into the throwaway database, the
test server's start and the play itself.

    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m bench.simulate
"""

import asyncio
import logging
import tempfile
import time
from pathlib import Path

import structlog

from cli.templates_command import load_template
from domain.events import ContactEvent
from projections.database import make_engine, migrate
from projections.event_store import ingest
from projections.flow_catalogue import publish
from settings import Settings
from simulation.runner import Plan, simulate, start_server
from simulation.sandbox import sandbox_in


def _seed(directory: Path):
    engine = make_engine(f"sqlite:///{directory / 'real.db'}")
    migrate(engine)
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    ingest(
        engine,
        [
            ContactEvent(
                event_id=f"bench-{n}",
                type=t,
                contact_id="c-1",
                occurred_at=now,
                source="bench",
                payload=p,
            )
            for n, (t, p) in enumerate(
                [
                    (
                        "contact.created",
                        {"phone": "+4915112345678", "attributes": {"first_name": "Ana"}},
                    ),
                    ("contact.tag_added", {"tag": "customer"}),
                ]
            )
        ],
    )
    with engine.begin() as conn:
        return engine, publish(conn, load_template("nps-survey"))


async def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = Settings()
    with tempfile.TemporaryDirectory() as directory:
        engine, flow = _seed(Path(directory))
        started = time.monotonic()
        (Path(directory) / "sandbox").mkdir()
        sandbox_in(Path(directory) / "sandbox", engine, ["c-1"]).dispose()
        sandbox = time.monotonic() - started
        started = time.monotonic()
        env = await start_server(settings)
        await env.shutdown()
        server = time.monotonic() - started
        started = time.monotonic()
        [timeline] = await simulate(settings, engine, Plan(flow, False, ["c-1"], [], 30))
        total = time.monotonic() - started
        engine.dispose()
    print(
        f"30-day simulation of nps-survey ({timeline.status}: {timeline.ended_how}): "
        f"{total:.1f}s wall in all; of it about {sandbox:.1f}s throwaway database, "
        f"{server:.1f}s test server start"
    )


if __name__ == "__main__":
    asyncio.run(main())
