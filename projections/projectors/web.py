"""Funnels, pages and forms. A form submitted on a page of a funnel also counts as a
visit to that page and as membership of that funnel."""

from domain.events import ContactEvent
from projections.projectors.common import upsert_seen
from projections.projectors.writes import Writes
from projections.schema import form_submissions, funnel_members, page_visits


def page_visited(w: Writes, event: ContactEvent) -> None:
    _visit(w, event, event.payload["page"], event.payload.get("funnel"))


def form_submitted(w: Writes, event: ContactEvent) -> None:
    payload = event.payload
    upsert_seen(w, form_submissions, event, {"form_id": payload["form_id"]}, last="last_at")
    if payload.get("page"):
        _visit(w, event, payload["page"], payload.get("funnel"))
    elif payload.get("funnel"):
        upsert_seen(w, funnel_members, event, {"funnel": payload["funnel"]})


def _visit(w: Writes, event: ContactEvent, page: str, funnel: str | None) -> None:
    # An empty funnel is "no funnel", stored as '' because it is part of the key.
    upsert_seen(w, page_visits, event, {"page": page, "funnel": funnel or ""}, last="last_at")
    if funnel:
        upsert_seen(w, funnel_members, event, {"funnel": funnel})
