"""/v1/mailings: mailings to whole segments [003]. Save a draft (only a valid document is
kept: each problem is a 422 naming its field), preview its audience, send it now or at
its time, pause, resume or cancel it, and read its counts per step."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import client_of, client_or_none, engine_of, settings_of
from api.errors import responses
from api.flows import ProblemOut, Validation, problems_out
from domain.mailing import Mailing, MailingId, MailingStatus
from domain.scheduling.zones import Zones
from domain.validation.mailing import errors, parse_mailing, unknown_contacts_warning
from domain.validation.sms_steps import sms_steps
from projections import mailings as catalogue
from projections.audience import profiles
from projections.contacts import known_fields
from projections.mailing_audience import preview as audience_preview
from projections.mailing_audience import unknown_listed
from projections.mailing_reports import step_counts
from routing import mailings as lifecycle

router = APIRouter(prefix="/v1/mailings", tags=["mailings"])

MailingIdPath = Annotated[MailingId, Path(description="The mailing's id.")]
MAILING_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mailing"}}},
    }
}
Document = Annotated[dict[str, Any], Body(description="A mailing document (docs/mailings.md).")]


class MailingSaved(BaseModel):
    mailing_id: str
    status: MailingStatus
    outcome: str = Field(description="created or updated (a draft replaced).")
    problems: list[ProblemOut] = Field(description="Warnings; errors refuse the document (422).")


class MailingSummary(BaseModel):
    mailing_id: str
    name: str | None
    status: MailingStatus
    current_step: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class MailingList(BaseModel):
    mailings: list[MailingSummary]


class StepCounts(BaseModel):
    step_id: str
    channel: str
    audience: int = Field(description="Recipients selected for the step.")
    pending: int = Field(description="Selected, waiting for their send time.")
    sent: int
    failed: int = Field(description="Refused by the provider.")
    skipped: dict[str, int] = Field(
        description="By reason: no_address, unsubscribed, "
        "suppressed (bounced address), frequency_cap, merge_value."
    )
    delivered: int
    opened: int
    clicked: int
    bounced: int
    unsubscribed: int = Field(description="Recipients who opted out of the channel since.")
    converted: int = Field(
        description="Reached the step's goal within its window, the step "
        "being the last that reached them."
    )


class MailingDetail(MailingSummary):
    document: Mailing
    steps: list[StepCounts]


class MailingStatusOut(BaseModel):
    mailing_id: str
    status: MailingStatus


class AudienceContact(BaseModel):
    contact_id: str
    email: str | None
    phone: str | None


class MailingPreview(BaseModel):
    mailing_id: str
    count: int = Field(description="Contacts the main step would go to now.")
    contacts: list[AudienceContact] = Field(description="The first of them, by contact id.")
    unknown_contacts: list[str] = Field(
        default_factory=list, description="Ids of a listed audience no contact has (skipped)."
    )


def _parsed(request: Request, document: dict[str, Any]):
    allowed = settings_of(request).webhook_allow_private_targets
    with engine_of(request).connect() as conn:
        mailing, problems = parse_mailing(
            document,
            known_fields(conn),
            allow_private_targets=allowed,
            known_topics=settings_of(request).topic_ids,
            preference_links=settings_of(request).preference_links_enabled,
        )
        if mailing is not None:
            problems += unknown_contacts_warning(unknown_listed(conn, mailing))
    return mailing, problems


@router.post(
    "/validate",
    response_model=Validation,
    openapi_extra=MAILING_BODY,
    summary="Check a mailing document without saving it",
)
def validate(document: Document, request: Request) -> Validation:
    mailing, problems = _parsed(request, document)
    return Validation(
        valid=not errors(problems),
        problems=problems_out(problems),
        sms=sms_steps(mailing) if mailing is not None else [],
    )


@router.post(
    "",
    status_code=201,
    response_model=MailingSaved,
    openapi_extra=MAILING_BODY,
    responses=responses(409, 422),
    summary="Save a mailing as a draft (or replace its draft)",
)
def save(document: Document, request: Request):
    mailing, problems = _parsed(request, document)
    blocking = errors(problems)
    if mailing is None or blocking:
        return JSONResponse(
            {
                # Field paths as every other 422 names them (api/errors.py), no "body.".
                "detail": [{"loc": p.field, "msg": p.message, "type": p.code} for p in blocking],
                "problems": [p.model_dump(mode="json") for p in blocking],
            },
            422,
        )
    with engine_of(request).begin() as conn:
        outcome = catalogue.save(conn, mailing, document)
    return JSONResponse(
        MailingSaved(
            mailing_id=mailing.id, status="draft", outcome=outcome, problems=problems_out(problems)
        ).model_dump(mode="json"),
        201 if outcome == "created" else 200,
    )


@router.get("", response_model=MailingList, summary="Mailings, newest first")
def listed(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> MailingList:
    with engine_of(request).connect() as conn:
        return MailingList(
            mailings=[MailingSummary(**row) for row in catalogue.listed(conn, limit)]
        )


@router.get(
    "/{mailing_id}",
    response_model=MailingDetail,
    responses=responses(404),
    summary="A mailing, its status and its counts per step",
)
def detail(mailing_id: MailingIdPath, request: Request) -> MailingDetail:
    with engine_of(request).connect() as conn:
        row = catalogue.get(conn, mailing_id)
        mailing = Mailing.model_validate(row["document"])
        counts = step_counts(conn, mailing)
    return MailingDetail(
        **{k: row[k] for k in MailingSummary.model_fields},
        document=mailing,
        steps=[StepCounts(**c) for c in counts],
    )


@router.get(
    "/{mailing_id}/preview",
    response_model=MailingPreview,
    responses=responses(404),
    summary="How many the main step would reach now, and the first of them",
)
def preview(
    mailing_id: MailingIdPath,
    request: Request,
    limit: Annotated[int, Query(ge=0, le=1000, description="Contacts to list.")] = 20,
) -> MailingPreview:
    engine = engine_of(request)
    with engine.connect() as conn:
        mailing = catalogue.load(conn, mailing_id)
        unknown = unknown_listed(conn, mailing)
    settings = settings_of(request)
    count, first = audience_preview(engine, mailing, limit, zones=Zones.from_settings(settings))
    return MailingPreview(
        mailing_id=mailing_id,
        count=count,
        contacts=[AudienceContact(**c) for c in profiles(engine, first)],
        unknown_contacts=unknown,
    )


@router.post(
    "/{mailing_id}/send",
    response_model=MailingStatusOut,
    responses=responses(404, 409, 503),
    summary="Send the mailing: now, or at its main step's time",
)
async def send(mailing_id: MailingIdPath, request: Request) -> MailingStatusOut:
    client = client_of(request, "send a mailing")
    status = await lifecycle.send(
        client, engine_of(request), mailing_id, task_queue=settings_of(request).task_queue
    )
    return MailingStatusOut(mailing_id=mailing_id, status=status)


def _control(action: str, summary: str):
    async def route(mailing_id: MailingIdPath, request: Request) -> MailingStatusOut:
        change = getattr(lifecycle, action)
        status = await change(client_or_none(request), engine_of(request), mailing_id)
        return MailingStatusOut(mailing_id=mailing_id, status=status)

    router.add_api_route(
        f"/{{mailing_id}}/{action}",
        route,
        methods=["POST"],
        response_model=MailingStatusOut,
        responses=responses(404, 409),
        summary=summary,
        name=f"{action}_mailing",
    )


_control("pause", "Hold sending after the current batch")
_control("resume", "Go on sending a paused mailing")
_control("cancel", "Stop the mailing for good (what was sent stays sent)")
