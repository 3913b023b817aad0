"""What the route modules take from the app: the database, settings, Temporal."""

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from temporalio.client import Client

from routing.router import Routed
from settings import Settings


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def known_scripts_of(request: Request) -> frozenset[str] | None:
    return request.app.state.known_scripts


def client_or_none(request: Request) -> Client | None:
    return getattr(request.app.state, "client", None)


def client_of(request: Request, needed_for: str) -> Client:
    """The Temporal client, or a 503 saying what cannot be done without it."""
    client = client_or_none(request)
    if client is None:
        raise HTTPException(503, detail=f"Temporal is not connected; cannot {needed_for}")
    return client


class RoutedOut(BaseModel):
    """What routing an event (or enrolling a contact) did in one flow."""

    event_id: str = Field(description="The event routed (or the manual enrollment's id).")
    flow_id: str
    workflow_id: str = Field(description="The journey's Temporal workflow id.")
    outcome: str = Field(
        description="enrolled: a journey started; not_reentered: the flow's "
        "re-entry policy kept the contact's earlier journey; signalled: the "
        "contact's running journey got the event."
    )

    @classmethod
    def of(cls, routed: Routed) -> "RoutedOut":
        return cls(
            event_id=routed.event_id,
            flow_id=routed.flow_id,
            workflow_id=routed.workflow_id,
            outcome=routed.outcome,
        )


def reported(routed: list[Routed]) -> list[RoutedOut]:
    """Routing outcomes worth reporting: flows the event neither enrolled in nor reached
    a journey of (`no_journey`) are left out, or every event would list every flow."""
    return [RoutedOut.of(r) for r in routed if r.outcome != "no_journey"]
