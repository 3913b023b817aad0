"""The baseline the enrollment benchmark compares journeys with: a plain Temporal
workflow that calls the same activities, with the same requests, timeouts and retry
policies, one after the other; no flow interpretation, search attributes or signals."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.contracts.contact_changes import ContactChangeRequest
    from domain.contracts.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
    from domain.events import EventType
    from domain.flow import Flow
    from domain.journey import idempotency_key
    from domain.step_table import CONTACT_EVENT, SEND_EMAIL, SEND_SMS, Call
    from domain.steps.contact_changes import AddTag
    from domain.steps.messaging import SendEmail, SendSms
    from workflows.retries import retry_policy

BARE_KINDS = (SendEmail, AddTag, SendSms)


class BareInput(BaseModel):
    flow: Flow  # only its send_email / add_tag / send_sms steps, read as a fixed script
    contact_id: str
    enrollment_id: str


@workflow.defn(name="BenchBareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, input: BareInput) -> list[str]:
        flow, outcomes = input.flow, []
        for step in flow.steps:
            key = idempotency_key(workflow.info().workflow_id, input.enrollment_id, step.id, 1)
            if isinstance(step, SendEmail):
                request = SendEmailRequest.for_step(step, key, flow.id, input.contact_id)
                outcomes.append((await self._send(SEND_EMAIL, request)).status)
            elif isinstance(step, SendSms):
                request = SendSmsRequest.for_step(step, key, flow.id, input.contact_id)
                outcomes.append((await self._send(SEND_SMS, request)).status)
            elif isinstance(step, AddTag):
                # Always a regular activity here: the baseline is the plain call.
                await workflow.execute_activity(
                    CONTACT_EVENT.activity,
                    ContactChangeRequest(
                        idempotency_key=key,
                        contact_id=input.contact_id,
                        event_type=EventType.TAG_ADDED,
                        payload={"tag": step.tag},
                    ),
                    start_to_close_timeout=CONTACT_EVENT.start_to_close,
                    retry_policy=retry_policy(CONTACT_EVENT.retry),
                )
                outcomes.append("tagged")
            else:
                raise ValueError(f"the bare workflow runs {BARE_KINDS}, not {step.kind}")
        return outcomes

    async def _send(self, call: Call, request) -> SendOutcome:
        """As the journey calls a send (domain/step_table.py)."""
        return await workflow.execute_activity(
            call.activity,
            request,
            result_type=SendOutcome,
            start_to_close_timeout=call.start_to_close,
            schedule_to_close_timeout=call.schedule_to_close,
            heartbeat_timeout=call.heartbeat,
            retry_policy=retry_policy(call.retry),
        )
