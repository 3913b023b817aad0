"""Dripstone (blocking) and AsyncDripstone (awaited): the same methods, defined once in
_Endpoints; each client only says how to send a Call. Results are the server's JSON."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from dripstone_client import calls
from dripstone_client.calls import Call, Plan, RetryPolicy, contact_path, flow_path
from dripstone_client.errors import ConnectionFailed, DripstoneError, error_from

USER_AGENT = "dripstone-client/0.1"


def _headers(api_key: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def _read(call: Call, response: httpx.Response) -> Any:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    if response.is_success:
        return body
    raise error_from(response.status_code, body, loc_offset=call.loc_offset)


def _again(policy: RetryPolicy, call: Call, response: httpx.Response) -> bool:
    return call.retry and response.status_code in policy.statuses


def _unreachable(call: Call, exc: httpx.TransportError, tries: int) -> ConnectionFailed:
    return ConnectionFailed(
        f"{call.method} {call.path}: no answer after {tries} "
        f"attempt(s): {type(exc).__name__}: {exc}"
    )


class _Endpoints:
    """The API's operations. In AsyncDripstone each returns an awaitable."""

    def _execute(self, plan: Plan) -> Any:
        raise NotImplementedError

    # Events and contacts
    def send_event(
        self,
        type: str,
        contact_id: str,
        payload: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        occurred_at: datetime | str | None = None,
        source: str | None = None,
    ) -> Any:
        """POST /v1/events. Without `event_id` one is made here, so retries stay exact."""
        return self._execute(
            calls.send_event(
                type=type,
                contact_id=contact_id,
                payload=payload,
                event_id=event_id,
                occurred_at=occurred_at,
                source=source,
            )
        )

    def send_events(
        self, events: Iterable[Mapping[str, Any]], *, chunk: int = calls.BATCH_LIMIT
    ) -> Any:
        """POST /v1/events/batch in order, 1000 events per request at most; the answers
        merged. A rejected chunk raises (its paths indexed in the whole list) with
        `exc.accepted` holding what the chunks before it stored."""
        return self._execute(calls.send_events(events, chunk))

    def upsert_contact(
        self,
        contact_id: str,
        *,
        email: str | None = calls.UNSET,
        phone: str | None = calls.UNSET,
        attributes: Mapping[str, Any] | None = calls.UNSET,
        event_id: str | None = None,
    ) -> Any:
        """PUT /v1/contacts/{id}: fields left out are left alone; None clears one (an
        attribute set to None in `attributes` too). Retried safely, like events."""
        return self._execute(calls.upsert_contact(contact_id, email, phone, attributes, event_id))

    def get_contact(self, contact_id: str) -> Any:
        return self._execute(calls.get(contact_path(contact_id)))

    def contact_journeys(self, contact_id: str, *, details: bool | None = None) -> Any:
        """GET /v1/contacts/{id}/journeys: from the journey index (status running, paused
        or ended), with each journey's own `details` when Temporal answers;
        details=False leaves those out."""
        return self._execute(calls.get(contact_path(contact_id, "/journeys"), details=details))

    def contact_events(
        self, contact_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Any:
        """GET /v1/contacts/{id}/events: {"events", "next"}, newest first; pass `next`
        as `cursor` for the older page (None on the last)."""
        return self._execute(
            calls.get(contact_path(contact_id, "/events"), limit=limit, cursor=cursor)
        )

    def contact_messages(
        self, contact_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Any:
        """GET /v1/contacts/{id}/messages: {"messages", "next"}, newest first: channel,
        step, status, subject or text (when stored), SMS segments and encoding."""
        return self._execute(
            calls.get(contact_path(contact_id, "/messages"), limit=limit, cursor=cursor)
        )

    # One contact's journeys: in one flow, or (flow_id None) in every flow
    def pause_journey(self, contact_id: str, flow_id: str | None = None) -> Any:
        """Hold the contact's live journeys in the flow (NotFound when it has none there)."""
        return self._execute(calls.control_journey(contact_id, flow_id, "pause"))

    def resume_journey(self, contact_id: str, flow_id: str | None = None) -> Any:
        return self._execute(calls.control_journey(contact_id, flow_id, "resume"))

    def stop_journey(
        self, contact_id: str, flow_id: str | None = None, *, reason: str | None = None
    ) -> Any:
        """End the contact's live journeys in the flow; `reason` becomes their exit reason."""
        return self._execute(calls.control_journey(contact_id, flow_id, "stop", reason))

    def operation(self, operation_id: str) -> Any:
        """GET /v1/operations/{id}: progress of a flow's pause, resume or archive (the
        `operation_id` those answered)."""
        return self._execute(calls.get(f"/v1/operations/{calls.segment(operation_id)}"))

    # Flows
    def list_flows(self) -> Any:
        return self._execute(calls.get("/v1/flows"))

    def get_flow(self, flow_id: str) -> Any:
        return self._execute(calls.get(flow_path(flow_id)))

    def validate_flow(self, document: Mapping[str, Any]) -> Any:
        return self._execute(calls.post("/v1/flows/validate", document, retry=True))

    def save_flow(self, document: Mapping[str, Any]) -> Any:
        """Save (create or replace) the flow's draft."""
        return self._execute(calls.post("/v1/flows", document))

    def publish_flow(
        self,
        flow_id: str,
        *,
        enroll_existing: bool | None = None,
        rate_per_second: float | None = None,
    ) -> Any:
        """Publish the draft; enroll_existing=None follows the flow's own setting."""
        return self._execute(
            calls.post(
                flow_path(flow_id, "/publish"), calls.publish_body(enroll_existing, rate_per_second)
            )
        )

    def pause_flow(self, flow_id: str) -> Any:
        return self._execute(calls.post(flow_path(flow_id, "/pause")))

    def resume_flow(self, flow_id: str) -> Any:
        return self._execute(calls.post(flow_path(flow_id, "/resume")))

    def archive_flow(self, flow_id: str) -> Any:
        return self._execute(calls.post(flow_path(flow_id, "/archive")))

    def flow_versions(self, flow_id: str) -> Any:
        return self._execute(calls.get(flow_path(flow_id, "/versions")))

    def flow_version(self, flow_id: str, version: int) -> Any:
        return self._execute(calls.get(flow_path(flow_id, f"/versions/{int(version)}")))

    # Enrollment and audiences
    def enroll(self, flow_id: str, contact_id: str) -> Any:
        """Manual enrollment, bypassing the trigger's filters."""
        return self._execute(
            calls.post(flow_path(flow_id, "/enrollments"), {"contact_id": contact_id})
        )

    def audience(
        self, flow_id: str, *, limit: int | None = None, version: str | None = None
    ) -> Any:
        """Count and first contacts of the flow's audience (version "draft" or "live")."""
        return self._execute(
            calls.get(flow_path(flow_id, "/audience"), limit=limit, version=version)
        )

    def start_backfill(self, flow_id: str, *, rate_per_second: float | None = None) -> Any:
        body = {} if rate_per_second is None else {"rate_per_second": rate_per_second}
        return self._execute(calls.post(flow_path(flow_id, "/backfill"), body))

    def backfill_progress(self, flow_id: str) -> Any:
        return self._execute(calls.get(flow_path(flow_id, "/backfill")))

    # Routing's backlog and dead letters
    def dispatch_counts(self) -> Any:
        """{"waiting", "failing", "dead"}: events not yet routed, failing, set aside."""
        return self._execute(calls.get("/v1/dispatch"))

    def dead_letters(self, *, limit: int | None = None, after: int | None = None) -> Any:
        """A page of dead letters, oldest first; pass `next_after` as `after` for the next."""
        return self._execute(calls.get("/v1/dispatch/dead-letters", limit=limit, after=after))

    def retry_dead_letter(self, event_id: str) -> Any:
        return self._execute(calls.post(calls.dead_letter_path(event_id, "/retry")))

    def skip_dead_letter(self, event_id: str) -> Any:
        return self._execute(calls.post(calls.dead_letter_path(event_id, "/skip")))

    # Mailings (docs/mailings.md)
    def save_mailing(self, document: Mapping[str, Any]) -> Any:
        """Save a mailing as a draft (or replace its draft); invalid documents raise."""
        return self._execute(calls.post("/v1/mailings", document))

    def validate_mailing(self, document: Mapping[str, Any]) -> Any:
        return self._execute(calls.post("/v1/mailings/validate", document, retry=True))

    def list_mailings(self, *, limit: int | None = None) -> Any:
        return self._execute(calls.get("/v1/mailings", limit=limit))

    def get_mailing(self, mailing_id: str) -> Any:
        """The mailing, its status and its counts per step."""
        return self._execute(calls.get(calls.mailing_path(mailing_id)))

    def preview_mailing(self, mailing_id: str, *, limit: int | None = None) -> Any:
        return self._execute(calls.get(calls.mailing_path(mailing_id, "/preview"), limit=limit))

    def send_mailing(self, mailing_id: str) -> Any:
        """Send now, or at the main step's time. Sending again finds the first send."""
        return self._execute(calls.post(calls.mailing_path(mailing_id, "/send"), retry=True))

    def pause_mailing(self, mailing_id: str) -> Any:
        return self._execute(calls.post(calls.mailing_path(mailing_id, "/pause")))

    def resume_mailing(self, mailing_id: str) -> Any:
        return self._execute(calls.post(calls.mailing_path(mailing_id, "/resume")))

    def cancel_mailing(self, mailing_id: str) -> Any:
        return self._execute(calls.post(calls.mailing_path(mailing_id, "/cancel"), retry=True))


class Dripstone(_Endpoints):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ):
        self._retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    def _execute(self, plan: Plan) -> Any:
        results: list[Any] = []
        try:
            for call in plan.calls:
                results.append(self._send(call))
        except DripstoneError as exc:
            exc.accepted = calls.merge_partial(plan, results)
            raise
        return plan.combine(results)

    def _send(self, call: Call) -> Any:
        delays = list(self._retry.delays(call, random.random))
        for tries, delay in enumerate(delays, start=1):
            time.sleep(delay)
            try:
                response = self._http.request(
                    call.method, call.path, content=call.content(), params=call.query()
                )
            except httpx.TransportError as exc:
                if tries == len(delays):
                    raise _unreachable(call, exc, tries) from exc
                continue
            if tries < len(delays) and _again(self._retry, call, response):
                continue
            return _read(call, response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Dripstone:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class AsyncDripstone(_Endpoints):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ):
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    async def _execute(self, plan: Plan) -> Any:
        results: list[Any] = []
        try:
            for call in plan.calls:
                results.append(await self._send(call))
        except DripstoneError as exc:
            exc.accepted = calls.merge_partial(plan, results)
            raise
        return plan.combine(results)

    async def _send(self, call: Call) -> Any:
        delays = list(self._retry.delays(call, random.random))
        for tries, delay in enumerate(delays, start=1):
            await asyncio.sleep(delay)
            try:
                response = await self._http.request(
                    call.method, call.path, content=call.content(), params=call.query()
                )
            except httpx.TransportError as exc:
                if tries == len(delays):
                    raise _unreachable(call, exc, tries) from exc
                continue
            if tries < len(delays) and _again(self._retry, call, response):
                continue
            return _read(call, response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncDripstone:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()
