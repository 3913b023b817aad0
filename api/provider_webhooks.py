"""POST /webhooks/sendgrid/events, /webhooks/twilio/status, /webhooks/twilio/inbound.

Each request is verified (403 when the signature is wrong, 503 while we cannot check
it), mapped to contact events, appended (idempotently: ids derive from the provider's
own event ids) and routed to journeys when the app has a Temporal client."""

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from api import sendgrid_events, signatures, twilio_events
from api.sendgrid_events import BodyError
from domain.events import ContactEvent
from routing.ingestion import ingest_events

router = APIRouter(prefix="/webhooks", tags=["provider webhooks"])


@router.post("/sendgrid/events")
async def sendgrid_event_batch(request: Request) -> dict:
    body = await request.body()
    _verified(
        signatures.verify_sendgrid, request.app.state.sendgrid_verifier, body, request.headers
    )
    try:
        items = sendgrid_events.parse_batch(body)
    except BodyError as exc:
        raise _bad_request(exc) from None
    mapped = await asyncio.to_thread(
        _with_connection, request, sendgrid_events.map_batch, items, datetime.now(UTC)
    )
    stored = await _store(request, mapped.events)
    result = {
        "stored": stored,
        "duplicates": len(mapped.events) - stored,
        "ignored": mapped.ignored,
    }
    if mapped.rejected:
        # The valid events are stored; the 400 names every bad one (a redelivery of the
        # batch stores nothing twice).
        raise HTTPException(
            400,
            detail={
                **result,
                "message": f"{len(mapped.rejected)} event(s) rejected",
                "rejected": [vars(r) for r in mapped.rejected],
            },
        )
    return result


@router.post("/twilio/status")
async def twilio_status(request: Request) -> Response:
    form = await _twilio_form(request)
    events = await _mapped(request, twilio_events.status_events, form)
    await _store(request, events)
    return _twiml(MessagingResponse())


@router.post("/twilio/inbound")
async def twilio_inbound(request: Request) -> Response:
    form = await _twilio_form(request)
    inbound = await _mapped(request, twilio_events.inbound_events, form)
    await _store(request, inbound.events)
    reply = MessagingResponse()
    help_text = request.app.state.settings.sms_help_text
    if inbound.keyword == "HELP" and help_text:
        reply.message(help_text)
    return _twiml(reply)


async def _twilio_form(request: Request) -> dict[str, str]:
    form = await request.form()
    settings = request.app.state.settings
    # Twilio signs the URL it called; behind a proxy that is the public one.
    url = str(request.url)
    if settings.webhook_public_base_url:
        url = (
            settings.webhook_public_base_url.rstrip("/")
            + request.url.path
            + (f"?{request.url.query}" if request.url.query else "")
        )
    _verified(signatures.verify_twilio, settings.twilio_auth_token, url, form, request.headers)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def _mapped(request: Request, mapper, form: dict[str, str]):
    try:
        return await asyncio.to_thread(_with_connection, request, mapper, form, datetime.now(UTC))
    except BodyError as exc:
        raise _bad_request(exc) from None


def _with_connection(request: Request, function, *args):
    with request.app.state.engine.connect() as conn:
        return function(conn, *args)


async def _store(request: Request, events: list[ContactEvent]) -> int:
    """Routing failures never fail the webhook: the events are stored with their dispatch
    records, and the dispatcher routes them once Temporal answers."""
    appended, _ = await ingest_events(request.app.state.engine, request.app.state.router, events)
    return len(appended)


def _verified(check, *args) -> None:
    try:
        check(*args)
    except signatures.SignatureInvalid as exc:
        raise HTTPException(403, detail=str(exc)) from None
    except signatures.NotConfigured as exc:
        raise HTTPException(503, detail=str(exc)) from None


def _bad_request(exc: BodyError) -> HTTPException:
    return HTTPException(
        400, detail={"message": str(exc), "field": exc.field, "reason": exc.reason}
    )


def _twiml(response: MessagingResponse) -> Response:
    return Response(content=str(response), media_type="application/xml")
