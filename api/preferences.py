"""The preference page and one-click unsubscribe, reached by signed links in emails
(activities/preference_links.py), so no API key and no login: the token is the right.

GET  /preferences/{token}   the contact's topics x channels, as a plain HTML form
POST /preferences/{token}   store the choices the form names (`shown` = channel:topic,
                            ticked boxes `channel:topic` = on; the rest is left alone)
POST /unsubscribe/{token}   RFC 8058 one-click (body List-Unsubscribe=One-Click only):
                            leave the message's topic by email
GET  /unsubscribe/{token}   a mail client following the link: show the page instead

Every change becomes a contact.preferences_changed event through the same ingest path
as any other event, so conditions and the next send see it at once. Pages are
server-rendered with no script, so they work in any browser and mail client."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from activities.preference_links import LinkClaims, LinkExpired, LinkRefused, PreferenceLinks
from api.deps import engine_of, settings_of
from api.events import store_and_route
from domain.event_payloads import EventType
from domain.events import ContactEvent, parse_event
from domain.topics import TOPIC_CHANNELS
from projections.preferences import Choices, contact_choices

router = APIRouter(tags=["preferences"], include_in_schema=False)

_pages = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_CHANNEL_LABELS = {"email": "Email", "sms": "Text messages"}
_MAX_FORM_BYTES = 64 * 1024


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


@router.get("/preferences/{token}", response_class=HTMLResponse)
async def show(token: str, request: Request) -> HTMLResponse:
    try:
        claims = _claims(request, token)
    except _Refused as refused:
        return _refusal(refused)
    choices = await asyncio.to_thread(_choices, request, claims.contact_id)
    return _page(request, token, choices)


@router.post("/preferences/{token}", response_class=HTMLResponse)
async def save(token: str, request: Request) -> HTMLResponse:
    """The page's form changes only the choices it names: the boxes it showed (`shown`),
    ticked or not, or every choice for "Unsubscribe from everything". A one-click body
    posted here acts as at /unsubscribe; anything else is refused and changes nothing."""
    try:
        claims = _claims(request, token)
        form = await _form(request)
        if _is_one_click(form):
            return await _unsubscribe(request, token, claims)
        wanted = _choices_said(form, settings_of(request).subscription_topics)
    except _Refused as refused:
        return _refusal(refused)
    before = await asyncio.to_thread(_choices, request, claims.contact_id)
    changed = {key: on for key, on in wanted.items() if before.subscribed(*key) != on}
    await _store(request, claims.contact_id, changed, "preference_page")
    after = await asyncio.to_thread(_choices, request, claims.contact_id)
    notice = "Your choices are saved." if changed else "Nothing changed."
    return _page(request, token, after, notice=notice)


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
async def one_click(token: str, request: Request) -> HTMLResponse:
    """RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click`, with no cookie and
    no confirmation step; the contact leaves this message's topic by email (every topic
    for a link that names none). Any other body is refused and changes nothing."""
    try:
        claims = _claims(request, token)
        if not _is_one_click(await _form(request)):
            raise _Refused(
                400,
                "A one-click unsubscribe posts the body "
                "List-Unsubscribe=One-Click (RFC 8058); this request did not, so "
                "nothing was changed.",
            )
    except _Refused as refused:
        return _refusal(refused)
    return await _unsubscribe(request, token, claims)


async def _unsubscribe(request: Request, token: str, claims: LinkClaims) -> HTMLResponse:
    topics = [claims.topic] if claims.topic else list(settings_of(request).subscription_topics)
    before = await asyncio.to_thread(_choices, request, claims.contact_id)
    changed = {(topic, "email"): False for topic in topics if before.subscribed(topic, "email")}
    await _store(request, claims.contact_id, changed, "one_click")
    labels = [settings_of(request).subscription_topics.get(t, t) for t in topics]
    after = await asyncio.to_thread(_choices, request, claims.contact_id)
    return _page(
        request, token, after, notice=(f"You are unsubscribed from {', '.join(labels)} emails.")
    )


def _is_one_click(form: dict[str, list[str]]) -> bool:
    return form == {"List-Unsubscribe": ["One-Click"]}


def _choices_said(
    form: dict[str, list[str]],
    topics: dict[str, str],
) -> dict[tuple[str, str], bool]:
    """(topic, channel) -> subscribed, for the choices the form names; _Refused for a
    form that names none, or anything this page never shows."""
    known = {
        f"{channel}:{topic}": (topic, channel) for topic in topics for channel in TOPIC_CHANNELS
    }
    action = form.get("action", [])
    if action not in (["save"], ["none"]):
        raise _Refused(
            400,
            "The form must say what to do: action=save (with the choices "
            "shown) or action=none (unsubscribe from everything). Nothing was changed.",
        )
    names = {name for name in form if name not in ("action", "shown")} | set(form.get("shown", []))
    unknown = sorted(names - set(known))
    if unknown:
        raise _Refused(
            400,
            f"The form names choices this page does not offer ({', '.join(unknown)}). "
            "Nothing was changed; reload the page and try again.",
        )
    if action == ["none"]:
        return {key: False for key in known.values()}
    if not names:
        raise _Refused(400, "The form names no choices (no boxes were shown). Nothing was changed.")
    return {known[name]: name in form for name in names}


@router.get("/unsubscribe/{token}")
async def unsubscribe_link(token: str) -> RedirectResponse:
    # A GET must never unsubscribe (link scanners follow every link): show the page.
    return RedirectResponse(f"/preferences/{token}", status_code=303)


def _claims(request: Request, token: str) -> LinkClaims:
    links = PreferenceLinks.from_settings(settings_of(request))
    if links is None:
        raise _Refused(404, "Preference links are not enabled here.")
    try:
        return links.read(token)
    except LinkExpired:
        raise _Refused(410, "This link has expired. Use the link in a more recent email.") from None
    except LinkRefused:
        raise _Refused(
            403, "This link is not valid. Use the link exactly as it came in " "your email."
        ) from None


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        raise _Refused(413, "The form is too large.")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        # RFC 8058 lets the provider post one-click as multipart too.
        parsed = await request.form()
        return {name: [str(v) for v in parsed.getlist(name)] for name in parsed}
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise _Refused(400, "The form is not UTF-8.") from None


async def _store(
    request: Request, contact_id: str, changed: dict[tuple[str, str], bool], via: str
) -> None:
    if not changed:
        return
    now = datetime.now(UTC)
    batch = uuid.uuid4().hex
    # Ids name the submission and the choice, never the contact: they are logged.
    events: list[ContactEvent] = [
        parse_event(
            {
                "event_id": f"preferences-{batch}-{channel}-{topic}",
                "contact_id": contact_id,
                "type": EventType.PREFERENCES_CHANGED,
                "occurred_at": now,
                "source": via,
                "payload": {"topic": topic, "channel": channel, "subscribed": on, "via": via},
            },
            now=now,
        )
        for (topic, channel), on in sorted(changed.items())
    ]
    await store_and_route(request, events)


def _choices(request: Request, contact_id: str) -> Choices:
    with engine_of(request).connect() as conn:
        return contact_choices(conn, contact_id)


def _page(
    request: Request,
    token: str,
    choices: Choices,
    notice: str | None = None,
) -> HTMLResponse:
    topics = settings_of(request).subscription_topics
    notes = []
    if "email" in choices.channels_left:
        notes.append(
            "You unsubscribed from all our email earlier; we send you none but "
            "receipts and account notices."
        )
    if "sms" in choices.channels_left:
        notes.append("You replied STOP to our text messages; reply START to get them again.")
    html = _pages.get_template("preferences.html").render(
        title="Your email and text preferences",
        notice=notice,
        notes=notes,
        action=f"/preferences/{token}",
        topics=[{"id": t, "label": label} for t, label in topics.items()],
        channels=[{"id": c, "label": _CHANNEL_LABELS[c]} for c in TOPIC_CHANNELS],
        subscribed={f"{t}:{c}" for t in topics for c in TOPIC_CHANNELS if choices.subscribed(t, c)},
    )
    return HTMLResponse(html, headers=_PRIVATE)


def _refusal(refused: _Refused) -> HTMLResponse:
    html = _pages.get_template("preferences.html").render(
        title="Your email and text preferences", error=refused.message
    )
    return HTMLResponse(html, status_code=refused.status, headers=_PRIVATE)


# The page is one contact's: never cached by a proxy, never sent on as a Referer.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
