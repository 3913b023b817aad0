"""What readiness asks of a process's dependencies, each answered with None (fine) or
the reason, within a short time: a probe that hangs is a probe that fails anyway."""

import asyncio
from datetime import timedelta

from sqlalchemy import Engine, text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from projections.schema_version import check_schema

WITHIN = timedelta(seconds=2)


def _database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    check_schema(engine)  # a database behind (or ahead of) this release is not ready


async def database(engine: Engine) -> str | None:
    try:
        await asyncio.wait_for(asyncio.to_thread(_database, engine), WITHIN.total_seconds())
    except TimeoutError:
        return f"no answer within {WITHIN.total_seconds():g} s"
    except Exception as exc:  # noqa: BLE001 - any failure is the reason to report
        return f"{type(exc).__name__}: {exc}"[:300]
    return None


async def temporal(client: Client) -> str | None:
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=WITHIN)
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, timed out...
        return f"{type(exc).__name__}: {exc}"[:300]
    return None
