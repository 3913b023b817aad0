"""GET /metrics: Prometheus' text format, without an API key (like the probes: scrapers
send none). Off with DRIPSTONE_API_METRICS=false."""

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.deps import engine_of
from telemetry.state_metrics import exposition

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    body = await asyncio.to_thread(exposition, engine_of(request))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
