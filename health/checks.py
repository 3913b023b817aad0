"""What readiness asks of a process's dependencies, each answered with None (fine) or
the reason, within a short time: a probe that hangs is a probe that fails anyway."""

import asyncio
import re
from datetime import timedelta

import structlog
from sqlalchemy import Engine, text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

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
    """One line a probe's reader can act on; the SDK's own words (a Rust transport error
    several lines long) go to the log."""
    address = client.service_client.config.target_host
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=WITHIN)
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, timed out...
        structlog.get_logger("dripstone.health").warning(
            "readiness.temporal_failed", temporal=address, error=f"{type(exc).__name__}: {exc}"
        )
        return _temporal_reason(address, exc)
    return None


def _temporal_reason(address: str, exc: Exception) -> str:
    status = exc.status if isinstance(exc, RPCError) else None
    if isinstance(exc, TimeoutError) or status == RPCStatusCode.DEADLINE_EXCEEDED:
        return f"Temporal at {address}: no answer within {WITHIN.total_seconds():g} s"
    if status is not None and status != RPCStatusCode.UNAVAILABLE:
        return f"Temporal at {address} refused the call ({status.name})"
    # A failed connect (RuntimeError) too; its innermost cause names what to fix
    # (ConnectionRefused, InvalidCertificate(UnknownIssuer)...), the rest goes to the log.
    causes = _CORE_CAUSE.findall(str(exc))
    return f"Temporal at {address} unreachable" + (f": {causes[-1]}" if causes else "")


# The Rust transport error's named parts: `kind: ConnectionRefused`, `error: X(Y)`.
_CORE_CAUSE = re.compile(r"(?:error|kind): ([A-Za-z]+(?:\([A-Za-z]+\))?)")
