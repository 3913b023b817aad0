"""/v1/flows: list, validate, save drafts, read a flow and its published versions.
Publishing and status changes are in api/flow_lifecycle.py.

Flow documents are taken as plain JSON objects rather than parsed into the Flow model
by FastAPI: a draft is saved with its problems, and validation reports them in the
flow language's own terms (step id, field, code) instead of a pydantic error list."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, Field

from api.deps import engine_of, known_scripts_of, settings_of
from api.errors import responses
from domain.flow import Flow, FlowStatus
from domain.identifiers import FlowId
from domain.validation import Problem, parse_flow
from domain.validation.sms_steps import SmsStep, sms_steps
from projections.contacts import known_fields
from projections.flow_catalogue import get_flow, get_version, list_flows, versions
from projections.flow_lifecycle import save_draft

router = APIRouter(prefix="/v1/flows", tags=["flows"])

FlowIdPath = Annotated[FlowId, Path(description="The flow's id.")]
# The body is documented as a flow document (the Flow schema, also what GET
# .../versions/{version} returns) while the handler takes it raw, problems and all.
FLOW_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Flow"}}},
    }
}
Document = Annotated[dict[str, Any], Body(description="A flow document (docs/flow-language.md).")]


class ProblemOut(BaseModel):
    step_id: str | None = Field(description="The step it is in; null for the flow itself.")
    field: str = Field(description="The field's path within the step (or flow).")
    code: str
    message: str
    severity: str = Field(description="error (blocks publishing) or warning.")


class FlowSummary(BaseModel):
    flow_id: str
    name: str | None
    status: FlowStatus
    current_version: int = Field(description="The live version; 0 before the first publish.")
    has_draft: bool = Field(description="An unpublished draft is saved.")


class FlowList(BaseModel):
    flows: list[FlowSummary]


class Validation(BaseModel):
    valid: bool = Field(description="No problem of severity error.")
    problems: list[ProblemOut]
    sms: list[SmsStep] = Field(
        description="Each SMS step's segments and encoding, as "
        "written (empty when the document does not parse)."
    )


class DraftSaved(BaseModel):
    flow_id: str
    status: FlowStatus = Field(description="The flow's status; saving a draft never changes it.")
    problems: list[ProblemOut] = Field(description="Publishing waits until no error is left.")


class FlowDetail(FlowSummary):
    live: Flow | None = Field(
        description="The live version's document (null before the first publish)."
    )
    draft: dict[str, Any] | None = Field(description="The saved draft, as it was sent.")
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    version: int
    name: str
    published_at: datetime | None


class VersionList(BaseModel):
    flow_id: str
    versions: list[VersionOut]


def problems_out(problems: list[Problem]) -> list[ProblemOut]:
    return [ProblemOut(**p.model_dump()) for p in problems]


@router.get("", response_model=FlowList, summary="Every flow with its status")
def get_flows(request: Request) -> FlowList:
    with engine_of(request).connect() as conn:
        records = list_flows(conn)
    return FlowList(flows=[_summary(r) for r in records])


@router.post(
    "/validate",
    response_model=Validation,
    openapi_extra=FLOW_DOCUMENT_BODY,
    summary="Check a flow document without saving it",
)
def validate(document: Document, request: Request) -> Validation:
    allowed = settings_of(request).webhook_allow_private_targets
    with engine_of(request).connect() as conn:
        # Against the attributes contacts really have, as publishing will check them.
        flow, problems = parse_flow(
            document,
            known_fields(conn),
            allow_private_targets=allowed,
            known_scripts=known_scripts_of(request),
            known_topics=settings_of(request).topic_ids,
            preference_links=settings_of(request).preference_links_enabled,
        )
    return Validation(
        valid=not any(p.severity == "error" for p in problems),
        problems=problems_out(problems),
        sms=sms_steps(flow) if flow is not None else [],
    )


@router.post(
    "",
    status_code=201,
    response_model=DraftSaved,
    openapi_extra=FLOW_DOCUMENT_BODY,
    responses=responses(409),
    summary="Save a flow document as the flow's draft (created if new)",
)
def create(document: Document, request: Request) -> DraftSaved:
    """Saved even with problems; the live version is untouched until the draft is
    published. 409 for an archived flow; 422 when the document has no valid id."""
    allowed = settings_of(request).webhook_allow_private_targets
    with engine_of(request).begin() as conn:
        problems = save_draft(
            conn,
            document,
            allow_private_targets=allowed,
            known_scripts=known_scripts_of(request),
            known_topics=settings_of(request).topic_ids,
            preference_links=settings_of(request).preference_links_enabled,
        )
        record = get_flow(conn, document["id"].strip())
    return DraftSaved(flow_id=record.flow_id, status=record.status, problems=problems_out(problems))


@router.get(
    "/{flow_id}",
    response_model=FlowDetail,
    responses=responses(404),
    summary="A flow, its live version and draft",
)
def get_one(flow_id: FlowIdPath, request: Request) -> FlowDetail:
    with engine_of(request).connect() as conn:
        record = get_flow(conn, flow_id)
        live = (
            get_version(conn, flow_id, record.current_version) if record.current_version else None
        )
    return FlowDetail(
        **_summary(record).model_dump(),
        live=live,
        draft=record.draft,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


@router.get(
    "/{flow_id}/versions",
    response_model=VersionList,
    responses=responses(404),
    summary="A flow's published versions",
)
def get_versions(flow_id: FlowIdPath, request: Request) -> VersionList:
    with engine_of(request).connect() as conn:
        get_flow(conn, flow_id)  # 404 for a flow that does not exist
        listed = versions(conn, flow_id)
    return VersionList(
        flow_id=flow_id,
        versions=[
            VersionOut(version=f.version, name=f.name, published_at=f.published_at) for f in listed
        ],
    )


@router.get(
    "/{flow_id}/versions/{version}",
    response_model=Flow,
    responses=responses(404),
    summary="One published version's document",
)
def get_one_version(
    flow_id: FlowIdPath,
    request: Request,
    version: Annotated[int, Path(ge=1, description="Version number.")],
) -> Flow:
    with engine_of(request).connect() as conn:
        return get_version(conn, flow_id, version)


def _summary(record) -> FlowSummary:
    return FlowSummary(
        flow_id=record.flow_id,
        name=record.name,
        status=record.status,
        current_version=record.current_version,
        has_draft=record.draft is not None,
    )
