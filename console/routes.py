"""The console's pages under /console: log in with an API key, then flows (with their
step graph), experiments, mailings and a contact's timeline. Read-only, server-rendered.

Every page but the login form and the stylesheet needs a session cookie (console.session)
or the API key in a header, as /v1 takes it; a browser without either is sent to the
login form, which brings it back to the page it asked for."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import TypeAdapter, ValidationError

from api.auth import key_problem, presented_key
from api.deps import engine_of, settings_of
from console import graph, readings, session
from console.experiments import experiment_results, interval, p_value, percent
from console.step_numbers import COLUMNS, on_the_box
from domain.identifiers import ContactId, FlowId
from domain.mailing import MailingId
from projections.flow_catalogue import UnknownFlow, UnknownVersion
from projections.mailings import MailingNotFound

HERE = FilePath(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(
    on_the_box=on_the_box, COLUMNS=COLUMNS, percent=percent, interval=interval, p_value=p_value
)
templates.env.globals["BOX_W"], templates.env.globals["BOX_H"] = graph.BOX_W, graph.BOX_H
_CONTACT_ID = TypeAdapter(ContactId)


class LoginRequired(Exception):
    def __init__(self, wanted: str):
        self.wanted = wanted


def require_login(request: Request) -> None:
    keys = settings_of(request).api_keys
    if session.valid(request.cookies.get(session.COOKIE), keys, datetime.now(UTC)):
        return
    if key_problem(presented_key(request), keys) is None:
        return  # scripts and curl may send the key itself, as to /v1
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(wanted)


async def to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={quote(exc.wanted, safe='')}", 303)


class HtmlRefusals(APIRoute):
    """A console route answers a request it cannot read (`?version=abc`, a contact id
    with a slash) with an HTML page naming the parameter and why, as the rest of the
    console does, not with the API's JSON. The login check runs first: a browser with
    no session is still sent to the login form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _unreadable(request, exc)

        return answer


public = APIRouter(prefix="/console", include_in_schema=False, route_class=HtmlRefusals)
pages = APIRouter(
    prefix="/console",
    include_in_schema=False,
    route_class=HtmlRefusals,
    dependencies=[Depends(require_login)],
)
_SECTIONS = ("flows", "experiments", "mailings", "contacts")


def _safe_next(wanted: str | None) -> str:
    """Only back into the console: a login link must not bounce anyone elsewhere, nor
    to another part of this host through dot segments (`/console/../v1`), which
    browsers resolve, percent-encoded or not, before they follow the redirect."""
    if not wanted:
        return _HOME
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or wanted.startswith("//") or "\\" in wanted:
        return _HOME
    path = unquote(parts.path)
    segments = path.split("/")[1:]
    if (
        not path.startswith("/console/")
        or any(s in (".", "..") for s in segments)
        or "//" in path
        or "\\" in path
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in wanted)
    ):
        return _HOME
    return wanted


_HOME = "/console/flows"


@public.get("/static/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "console.css", media_type="text/css")


@public.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None):
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "problem": None}
    )


@public.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    api_key: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    problem = key_problem(api_key.strip(), settings_of(request).api_keys)
    if problem is not None:
        return templates.TemplateResponse(
            request, "login.html", {"next": _safe_next(next), "problem": problem}, status_code=401
        )
    response = RedirectResponse(_safe_next(next), 303)
    response.set_cookie(
        session.COOKIE,
        session.issue(api_key.strip(), datetime.now(UTC)),
        max_age=int(session.LIFETIME.total_seconds()),
        path="/console",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


def _secure(request: Request) -> bool:
    forced = settings_of(request).console_secure_cookie
    return forced if forced is not None else request.url.scheme == "https"


@public.post("/logout")
def logout() -> RedirectResponse:
    response = RedirectResponse("/console/login", 303)
    response.delete_cookie(session.COOKIE, path="/console")
    return response


@pages.get("", include_in_schema=False)
@pages.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/console/flows", 303)


@pages.get("/flows", response_class=HTMLResponse)
def flows(request: Request):
    with engine_of(request).connect() as conn:
        rows = readings.flows(conn)
    return _page(request, "flows.html", section="flows", flows=rows)


@pages.get("/flows/{flow_id}", response_class=HTMLResponse)
def flow(
    request: Request,
    flow_id: Annotated[FlowId, Path()],
    version: Annotated[int | None, Query(ge=1, description="A published version")] = None,
):
    try:
        with engine_of(request).connect() as conn:
            shown = readings.flow_page(conn, flow_id, version)
    except (UnknownFlow, UnknownVersion) as exc:
        return _missing(request, "flows", str(exc))
    drawing = graph.layout(shown.flow, shown.counts) if shown.flow else None
    return _page(request, "flow.html", section="flows", page=shown, drawing=drawing)


@pages.get("/experiments", response_class=HTMLResponse)
def experiments(request: Request):
    with engine_of(request).connect() as conn:
        results = experiment_results(conn)
    return _page(request, "experiments.html", section="experiments", results=results)


@pages.get("/mailings", response_class=HTMLResponse)
def mailings(request: Request):
    with engine_of(request).connect() as conn:
        rows = readings.mailings(conn)
    return _page(request, "mailings.html", section="mailings", mailings=rows)


@pages.get("/mailings/{mailing_id}", response_class=HTMLResponse)
def mailing(request: Request, mailing_id: Annotated[MailingId, Path()]):
    try:
        with engine_of(request).connect() as conn:
            shown = readings.mailing_page(conn, mailing_id)
    except MailingNotFound as exc:
        return _missing(request, "mailings", str(exc))
    return _page(request, "mailing.html", section="mailings", page=shown)


@pages.get("/contacts", response_class=HTMLResponse)
def find_contact(request: Request, contact_id: Annotated[str | None, Query(max_length=200)] = None):
    if not contact_id:
        return _contacts(request, 200, problem=None, asked="")
    try:
        wanted = _CONTACT_ID.validate_python(contact_id)
    except ValidationError:
        return _contacts(
            request,
            422,
            asked=contact_id,
            problem="contact_id: letters, digits and _ . : - only, at most 128 "
            "(no e-mail addresses or phone numbers)",
        )
    return RedirectResponse(f"/console/contacts/{quote(wanted, safe='')}", 303)


@pages.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact(request: Request, contact_id: Annotated[ContactId, Path()]):
    with engine_of(request).connect() as conn:
        shown = readings.contact_page(conn, contact_id)
    if shown is None:
        return _missing(request, "contacts", f"there is no contact {contact_id!r}")
    return _page(request, "contact.html", section="contacts", **shown)


def _contacts(request: Request, status: int, **context) -> HTMLResponse:
    """The contact search, above the opt-outs per subscription topic."""
    with engine_of(request).connect() as conn:
        topics = readings.topic_opt_outs(conn, settings_of(request).subscription_topics)
        channels = readings.channel_opt_outs(conn)
    return _page(
        request,
        "contact_search.html",
        status,
        section="contacts",
        topics=topics,
        channels_left=channels,
        **context,
    )


def _page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status)


def _missing(request: Request, section: str, problem: str) -> HTMLResponse:
    return _page(request, "missing.html", 404, section=section, problem=problem)


def _unreadable(request: Request, exc: RequestValidationError) -> HTMLResponse:
    problems = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors())
    part = request.url.path.removeprefix("/console/").split("/")[0]
    where = {"section": part} if part in _SECTIONS else {}
    return _page(
        request, "missing.html", 422, heading="Cannot show this page", problem=problems, **where
    )


# Last, after every page: any other path under /console is an HTML 404 too.
@pages.get("/{unknown:path}", response_class=HTMLResponse)
def no_such_page(request: Request, unknown: str) -> HTMLResponse:
    return _page(
        request,
        "missing.html",
        404,
        section="flows",
        problem=f"the console has no page /console/{unknown}",
    )
