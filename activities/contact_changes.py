"""Contact changes made by journeys are events like any other: appended to the store
and projected in one transaction. The event id derives from the step's idempotency
key, so a retried activity appends nothing new.

`change_contact` appends one given event (the journey's tag steps); `apply_contact_change`
runs any other contact-change step: it reads what the step needs, maps the step to
events (domain.contact_change_events) and appends them, all in one transaction."""

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import Connection, Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.change_ids import change_event_id, indexed_change_event_id
from domain.contact_change_events import ChangeContext, InvalidChange, change_events
from domain.contracts.actions import CONTACT_CHANGE_ACTIVITY, ActionOutcome, ActionRequest
from domain.contracts.contact_changes import ContactChangeOutcome, ContactChangeRequest
from domain.events import ContactEvent, EventType
from domain.merge_tags import MergeTagError, contact_context, max_chars_for, render
from domain.steps.contact_changes import AddToLeadRouter, CancelOpenOrders, RechargeTransactions
from domain.validation.content import templated_fields
from projections import change_state
from projections.contacts import load_snapshot
from projections.dialect import lock_contacts
from projections.dispatch_bell import BELL
from projections.event_store import append


class ContactChangeActivities:
    def __init__(self, engine: Engine, lead_routers: Mapping[str, list[str]] | None = None):
        self.engine = engine
        self.lead_routers = dict(lead_routers or {})

    @activity.defn(name="change_contact")
    async def change_contact(self, request: ContactChangeRequest) -> ContactChangeOutcome:
        try:
            event = ContactEvent(
                event_id=change_event_id(request.idempotency_key, request.origin),
                type=EventType(request.event_type),
                contact_id=request.contact_id,
                occurred_at=datetime.now(UTC),
                source="dripstone.journey",
                payload=request.payload,
            )
            event.typed_payload()  # refuse a malformed change before it reaches the store
        except (ValidationError, ValueError) as exc:
            # Retrying the same bad change cannot succeed: fail the step with the reason.
            raise ApplicationError(
                f"invalid contact change: {exc}", type="InvalidChange", non_retryable=True
            ) from None
        # A change made by one journey is an event like any other: it can start or wake
        # journeys of other flows (e.g. a contact.tag_added trigger). Its dispatch record
        # gets it routed by the dispatcher, even if this attempt dies right after.
        event_id, appended = await asyncio.to_thread(self._append_one, request, event)
        return ContactChangeOutcome(event_id=event_id, appended=appended)

    def _append_one(self, request: ContactChangeRequest, event: ContactEvent) -> tuple[str, bool]:
        """(the step run's event id, whether this attempt appended it). An attempt of the
        same run in the other form (begun unmarked by an older journey, then reset or
        retried across a deploy to a v11 run, or the reverse) keeps what it stored, so
        the change is not made twice. Looked for after the append: by then SQLite's write
        lock (PostgreSQL: the contact's lock) is held, so an attempt that committed
        first is seen, and one that comes later sees this one."""
        try:
            with self.engine.begin() as conn:
                lock_contacts(conn, [request.contact_id])
                if not append(conn, [event], dispatch=True, fast_path=False):
                    return event.event_id, False  # this form stored already: a retry
                _refuse_other_form(conn, request.idempotency_key, [event], indexed=False)
        except _AlreadyApplied as other:
            return other.events[0].event_id, False
        BELL.ring()  # after the commit, so the dispatcher finds the row
        return event.event_id, True

    @activity.defn(name=CONTACT_CHANGE_ACTIVITY)
    async def apply_contact_change(self, request: ActionRequest) -> ActionOutcome:
        try:
            step = request.parsed_step()
        except ValidationError as exc:
            raise _invalid(f"invalid step: {exc}") from None
        try:
            stored, appended = await asyncio.to_thread(self._apply, request, step)
        except _MergeValueMissing as missing:
            # As for message content: never a raw placeholder, the step skipped with why.
            return ActionOutcome(status="skipped", reason=missing.reason, reason_code="merge_value")
        if appended:
            BELL.ring()  # their dispatch records are due: the dispatcher routes them
        return ActionOutcome(
            status="done",
            data={
                "event_ids": [e.event_id for e in stored],
                "event_types": [e.type for e in stored],
                "appended": len(appended),
            },
        )

    def _apply(self, request: ActionRequest, step) -> tuple[list[ContactEvent], list[ContactEvent]]:
        """(the run's events, those this attempt appended). One transaction: the reads
        the step depends on, the lead router's turn and the append commit together."""
        try:
            with self.engine.begin() as conn:
                lock_contacts(conn, [request.contact_id])  # as in _append_one
                # Then, so concurrent assignments queue on the router's row (take_turn).
                owner = (
                    self._next_owner(conn, step.router)
                    if isinstance(step, AddToLeadRouter)
                    else None
                )
                earlier = change_state.stored_run(
                    conn, request.contact_id, request.idempotency_key, indexed=True
                )
                if earlier:
                    # A retry of a run that committed: leaving by an exception rolls
                    # back, which gives back the router turn just taken.
                    raise _AlreadyApplied(earlier)
                batch, appended = self._append(conn, request, step, owner)
                if appended:  # as in _append_one: an attempt in the other form won
                    _refuse_other_form(conn, request.idempotency_key, batch, indexed=True)
                return batch, appended
        except _AlreadyApplied as done:
            return done.events, []

    def _append(
        self, conn: Connection, request: ActionRequest, step, owner: str | None
    ) -> tuple[list[ContactEvent], list[ContactEvent]]:
        context = self._context(conn, request, step, owner)
        try:
            changes = change_events(_rendered(step, context), context)
        except InvalidChange as exc:
            raise _invalid(str(exc)) from None
        batch = [
            ContactEvent(
                event_id=indexed_change_event_id(request.idempotency_key, index, request.origin),
                type=kind,
                contact_id=request.contact_id,
                occurred_at=context.now,
                source="dripstone.journey",
                payload=payload,
            )
            for index, (kind, payload) in enumerate(changes)
        ]
        return batch, append(conn, batch, dispatch=True, fast_path=False)

    def _next_owner(self, conn: Connection, router: str) -> str:
        """Round-robin over the router's members (settings.lead_routers), counting turns
        in the database so every worker shares one rotation."""
        members = self.lead_routers.get(router)
        if not members:
            known = ", ".join(sorted(self.lead_routers)) or "none configured"
            raise _invalid(
                f"lead router {router!r} is unknown or has no members "
                f"(DRIPSTONE_LEAD_ROUTERS; known: {known})"
            )
        turn = change_state.take_turn(conn, router)
        return members[(turn - 1) % len(members)]

    def _context(
        self, conn: Connection, request: ActionRequest, step, owner: str | None
    ) -> ChangeContext:
        snapshot = load_snapshot(conn, request.contact_id, {"attributes"})
        if snapshot is None:
            # Changing a contact no event has mentioned would create it from nothing.
            raise ApplicationError(
                f"unknown contact {request.contact_id!r}", type="UnknownContact", non_retryable=True
            )
        return ChangeContext(
            contact_id=request.contact_id,
            now=datetime.now(UTC),
            flow_id=request.flow_id,
            step_id=request.step_id,
            email=snapshot.email,
            phone=snapshot.phone,
            attributes=snapshot.attributes,
            open_orders=(
                change_state.open_orders(conn, request.contact_id)
                if isinstance(step, CancelOpenOrders)
                else ()
            ),
            collections=(
                change_state.in_collections(conn, request.contact_id)
                if isinstance(step, RechargeTransactions)
                else ()
            ),
            assigned_owner=owner,
        )


def _rendered(step, context: ChangeContext):
    """The step with its merge tags (a task's title, a note's text) filled in for this
    contact; the fields are the ones validation checks as templates."""
    fields = {name: template for name, template in templated_fields(step).items() if template}
    if not fields:
        return step
    values = contact_context(context.contact_id, context.email, context.phone, context.attributes)
    try:
        return step.model_copy(
            update={
                name: render(template, values, max_chars=max_chars_for(step.kind, name))
                for name, template in fields.items()
            }
        )
    except MergeTagError as exc:
        raise _MergeValueMissing(str(exc)) from None


class _MergeValueMissing(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _invalid(reason: str) -> ApplicationError:
    # Retrying the same bad change cannot succeed: fail the step with the reason.
    return ApplicationError(
        f"invalid contact change: {reason}", type="InvalidChange", non_retryable=True
    )


def _refuse_other_form(
    conn: Connection, idempotency_key: str, mine: list[ContactEvent], *, indexed: bool
) -> None:
    """Rolls this attempt back (_AlreadyApplied, with what the other one stored) when the
    run's events are stored in the other form too: one attempt's events stand, not both."""
    contact_id, ours = mine[0].contact_id, {e.event_id for e in mine}
    if set(change_state.run_ids(conn, contact_id, idempotency_key, indexed=indexed)) - ours:
        others = change_state.stored_run(conn, contact_id, idempotency_key, indexed=indexed)
        raise _AlreadyApplied([e for e in others if e.event_id not in ours])


class _AlreadyApplied(Exception):
    def __init__(self, events: list[ContactEvent]):
        self.events = events
