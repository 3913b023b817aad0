"""What goes into an email besides its text: provider template data, List-Unsubscribe
headers and attachments. Shared by the send_email activity and the test send."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Connection, select
from temporalio.exceptions import ApplicationError

from activities.ports import EmailAttachment
from activities.preference_links import PreferenceLinks
from activities.webhook_targets import GuardedTransport, Resolver, TargetRefused, system_resolver
from domain.contracts.messaging import SendEmailRequest, SendSmsRequest
from domain.frequency import FrequencyCaps
from domain.locales import choose, contact_locale
from domain.merge_tags import URL_MAX_CHARS, render
from domain.steps.messaging import MAX_ATTACHMENTS_BYTES, Attachment
from domain.targets import url_problem
from domain.topics import topic_or_default
from projections.experiment_schema import experiment_assignments

_FETCH_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True)
class MessagingOptions:
    """Settings the messaging activities need beyond the provider adapters."""

    unsubscribe_url: str | None = None  # merge tags allowed
    unsubscribe_mailto: str | None = None  # merge tags allowed
    phone_default_region: str | None = None
    # Attachments may be fetched from loopback, private and link-local addresses (the
    # webhooks' setting: one rule for every URL a flow makes the worker fetch).
    allow_private_targets: bool = False
    frequency_caps: FrequencyCaps = field(default_factory=dict)
    # Signed preference links (None: not configured): every marketing email then carries
    # its contact's page in a footer and a one-click unsubscribe from its topic.
    links: PreferenceLinks | None = None

    @classmethod
    def from_settings(cls, settings) -> "MessagingOptions":
        return cls(
            unsubscribe_url=settings.email_unsubscribe_url,
            unsubscribe_mailto=settings.email_unsubscribe_mailto,
            phone_default_region=settings.phone_default_region,
            allow_private_targets=settings.webhook_allow_private_targets,
            frequency_caps=settings.frequency_caps,
            links=PreferenceLinks.from_settings(settings),
        )


def unsubscribe_headers(
    options: MessagingOptions, context: dict[str, Any], one_click: str | None = None
) -> dict[str, str]:
    """List-Unsubscribe (RFC 2369) and, with an https URL, one-click List-Unsubscribe-Post
    (RFC 8058), which Gmail and Yahoo require of bulk senders. `one_click`: this message's
    signed unsubscribe link (preference links), which replaces email_unsubscribe_url.
    Raises MergeTagError, so a message whose unsubscribe link cannot be built is not
    sent at all."""
    targets = []
    if options.unsubscribe_mailto:
        address = render(options.unsubscribe_mailto, context, max_chars=URL_MAX_CHARS).strip()
        targets.append(address if address.startswith("mailto:") else f"mailto:{address}")
    if one_click:
        targets.append(one_click)
    elif options.unsubscribe_url:
        targets.append(render(options.unsubscribe_url, context, max_chars=URL_MAX_CHARS).strip())
    if not targets:
        return {}
    headers = {"List-Unsubscribe": ", ".join(f"<{target}>" for target in targets)}
    if one_click or options.unsubscribe_url:
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


# Where a bulk provider substitutes each recipient's own preference link (EmailMessage.
# substitutions): SendGrid's substitution tags, in a form no merge tag produces.
PREFERENCES_PLACEHOLDER = "-dripstone-preferences-url-"


def with_footer(body: str, preferences_url: str) -> str:
    """The preference link at the foot of a marketing email, unless the body shows it
    already (a {{ preferences_url }} merge tag)."""
    if preferences_url in body:
        return body
    return (
        f"{body.rstrip()}\n\n--\nChoose which emails you get, or unsubscribe: {preferences_url}\n"
    )


def template_data(context: dict[str, Any], subject: str | None) -> dict[str, Any]:
    """The contact's fields for a provider template ({{first_name}} or
    {{contact.first_name}} in Handlebars), plus the step's rendered subject if it has one."""
    return {**context, **({"subject": subject} if subject else {})}


# What a send does with its step's attachments: (attachments, allow_private) -> files.
AttachmentFetcher = Callable[[list[Attachment], bool], tuple[EmailAttachment, ...]]


def fetch_attachments(
    attachments: list[Attachment],
    allow_private: bool = False,
    *,
    resolver: Resolver = system_resolver,
    inner: httpx.BaseTransport | None = None,
) -> tuple[EmailAttachment, ...]:
    """Download every attachment, refusing more than 25 MB in total. Sizes declared in
    the flow are checked at publish time; the bytes really served are checked here, and
    the download stops as soon as they pass the limit. A 4xx (or too much data) fails the
    step for good; a 5xx or network error is retried like a provider outage.

    Attachment URLs are written by marketers like webhook URLs, so they go through the
    webhooks' guard (activities/webhook_targets.py): unless `allow_private`
    (MessagingOptions.allow_private_targets), a URL whose host is, or resolves to, a
    loopback, private, link-local or cloud-metadata address is refused for good before
    anything is sent, and so is every redirect that leads to one."""
    declared = sum(a.size_bytes for a in attachments)
    if declared > MAX_ATTACHMENTS_BYTES:
        raise _too_large(declared)
    for item in attachments:
        # Literal hosts, as validation refuses them (a flow published before that check).
        if (problem := url_problem(item.url, "URL", allow_private=allow_private)) is not None:
            raise _fetch_failed(item, problem[1], permanent=True)
    fetched, total = [], 0
    # trust_env=False: a proxy from the environment would connect on our behalf to an
    # address the guard never saw. Redirects are followed: each hop is a new request
    # through the guarded transport, so each is resolved and checked.
    transport = GuardedTransport(allow_private, resolver, inner)
    with httpx.Client(
        transport=transport, timeout=_FETCH_TIMEOUT, follow_redirects=True, trust_env=False
    ) as client:
        for item in attachments:
            chunks = []
            try:
                with client.stream("GET", item.url) as response:
                    if response.status_code >= 400:
                        raise _fetch_failed(
                            item,
                            f"HTTP {response.status_code}",
                            permanent=response.status_code < 500
                            and response.status_code not in (408, 429),
                        )
                    for chunk in response.iter_bytes():
                        total += len(chunk)
                        if total > MAX_ATTACHMENTS_BYTES:
                            raise _too_large(total, streaming=True)
                        chunks.append(chunk)
            except TargetRefused as exc:
                raise _fetch_failed(item, str(exc), permanent=True) from None
            except httpx.HTTPError as exc:
                raise _fetch_failed(item, f"{type(exc).__name__}: {exc}", permanent=False) from None
            fetched.append(EmailAttachment(item.filename, item.content_type, b"".join(chunks)))
    return tuple(fetched)


def _too_large(size: int, streaming: bool = False) -> ApplicationError:
    what = "more than" if streaming else ""
    return ApplicationError(
        f"attachments total {what} {size / 2**20:.1f} MB; the limit is 25 MB".replace("  ", " "),
        type="ProviderRejected",
        non_retryable=True,
    )


def _fetch_failed(item: Attachment, why: str, permanent: bool) -> ApplicationError:
    message = f"attachment {item.filename!r} could not be fetched from {item.url}: {why}"
    if permanent:
        # Same type as a provider refusal: the workflow records it on the step and goes on.
        return ApplicationError(message, type="ProviderRejected", non_retryable=True)
    return ApplicationError(message, type="AttachmentUnavailable")


def sent_details(
    conn: Connection, request: SendEmailRequest | SendSmsRequest, attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """What message.sent says of a journey's message besides its address: the topic it
    went under (none for a transactional one), the locale variant chosen (the same
    choice composing makes, domain/locales.py) and, for an experiment step, the variant
    chosen for this send (recorded under the same key before the send was asked for).
    Conditions and per-step analytics read them from the event."""
    details: dict[str, Any] = {}
    if not request.transactional:
        details["topic"] = topic_or_default(request.topic)
    if (locale := choose(request.locales, contact_locale(attributes))) is not None:
        details["locale"] = locale
    # Straight from the table: projections.experiments brings SciPy along.
    A = experiment_assignments.c
    assigned = conn.execute(
        select(A.variant, A.phase).where(A.message_key == request.idempotency_key)
    ).first()
    if assigned is not None:
        details["variant"], details["variant_phase"] = assigned.variant, assigned.phase
    return details
