"""Sending, pausing, resuming and cancelling mailings: the catalogue's status changes
first, in the database (so the answer is immediate and two callers cannot both send),
then the mailing's one workflow is started or signalled.

A mailing whose workflow could not be reached keeps its new status, which the workflow
reads back after each activity and while paused; `send` on a scheduled or sending
mailing starts its workflow again if it is missing (the workflow id is the mailing's, so
a second start finds the first), which is how a failed start heals.
"""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.mailing import workflow_id
from domain.mailing_runs import MailingPlan, MailingRunInput
from projections import mailings as store

WORKFLOW = "MailingWorkflow"


async def send(client: Client, engine: Engine, mailing_id: str, *, task_queue: str) -> str:
    """Start the mailing (its first step waits for its own `when`, if any): the status it
    has now, scheduled when the main step is timed, else sending."""
    with engine.begin() as conn:
        status = store.status_of(conn, mailing_id)
        if status == "draft":
            when = store.load(conn, mailing_id).steps[0].when
            timed = bool(when and (when.at or when.local_at))
            status = store.transition(conn, mailing_id, "schedule" if timed else "start")
        elif status not in ("scheduled", "sending"):
            raise store.MailingConflict(mailing_id, "send", status)
        # Read after the status moved: the row is ours now (locked on PostgreSQL), so a
        # draft edit racing this send either came before it or is refused.
        mailing = store.load(conn, mailing_id)
    try:
        await client.start_workflow(
            WORKFLOW,
            MailingRunInput(plan=MailingPlan.of(mailing)),
            id=workflow_id(mailing_id),
            task_queue=task_queue,
            # One run per mailing, ever: a second send finds the first.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"mailing {mailing.name or mailing.id}",
        )
    except WorkflowAlreadyStartedError:
        pass  # it ran to its end before: nothing to start again
    return status


async def pause(client: Client | None, engine: Engine, mailing_id: str) -> str:
    return await _change(client, engine, mailing_id, "pause")


async def resume(client: Client | None, engine: Engine, mailing_id: str) -> str:
    return await _change(client, engine, mailing_id, "resume")


async def cancel(client: Client | None, engine: Engine, mailing_id: str) -> str:
    return await _change(client, engine, mailing_id, "cancel")


async def _change(client: Client | None, engine: Engine, mailing_id: str, action: str) -> str:
    """The catalogue first: the workflow obeys it even when the signal below cannot
    reach it (not started yet, no Temporal client here); the signal makes it quick."""
    with engine.begin() as conn:
        started = store.get(conn, mailing_id)["started_at"] is not None
        try:
            status = store.transition(conn, mailing_id, action)
        except store.MailingConflict as exc:
            if not (action == "cancel" and exc.status == "cancelled"):
                raise
            status = "cancelled"  # cancelling again tells the workflow again
        if action == "resume" and not started:
            # Paused before its first send: back to waiting for its time.
            status = store.set_status(conn, mailing_id, "scheduled")
    if client is not None:
        try:
            await client.get_workflow_handle(workflow_id(mailing_id)).signal(action)
        except RPCError as exc:
            # A draft cancelled before it was ever sent has no workflow to tell.
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
    return status
