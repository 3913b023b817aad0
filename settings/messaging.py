"""What sends and actions need: the providers and their credentials, addresses, time
zone and phone region, rates, frequency caps, subscription topics and preference links,
webhooks, calls, team notifications, scripts and lead routers."""

from typing import Literal

from cryptography.fernet import Fernet
from pydantic import (
    BaseModel,
    Field,
    PositiveFloat,
    model_validator,
)

from domain.frequency import FrequencyCaps
from domain.topics import DEFAULT_TOPIC, DEFAULT_TOPICS, TOPIC_PATTERN


class MessagingSettings(BaseModel):
    email_provider: Literal["outbox", "sendgrid"] = "outbox"
    sms_provider: Literal["outbox", "twilio"] = "outbox"
    email_from: str = "hello@dripstone.local"

    sendgrid_api_key: str | None = None
    sendgrid_base_url: str = Field(
        default="https://api.sendgrid.com", description="Override only to point at a test double."
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_base_url: str | None = Field(
        default=None, description="Override only to point at a test double."
    )

    # Messaging details and provider webhooks back in (api/provider_webhooks.py).
    email_unsubscribe_url: str | None = Field(
        default=None,
        description="List-Unsubscribe https URL; merge tags allowed, e.g. "
        "https://example.com/unsubscribe/{{ contact_id }}. Also enables one-click (RFC 8058).",
    )
    email_unsubscribe_mailto: str | None = Field(
        default=None, description="List-Unsubscribe mailto address; merge tags allowed."
    )
    default_time_zone: str = Field(
        default="UTC",
        description="IANA zone for contacts whose own zone is unknown (no time "
        "zone attribute, no phone number in a single zone) and flows without their own.",
    )
    phone_default_region: str | None = Field(
        default=None, description="Region (e.g. US) for contact phones stored without +country."
    )
    twilio_status_callback_url: str | None = Field(
        default=None, description="Public URL of POST /webhooks/twilio/status, sent with each SMS."
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None, description="SendGrid Event Webhook verification key (base64 DER, ECDSA)."
    )
    webhook_public_base_url: str | None = Field(
        default=None,
        description="The https://host Twilio calls, when a proxy hides it; "
        "Twilio signs the URL it called, not the one we see.",
    )
    provider_rates: dict[
        Literal["sendgrid", "twilio", "outbox-email", "outbox-sms"], PositiveFloat
    ] = Field(
        default_factory=dict,
        description="Messages per second each provider may be sent, "
        "shared by every worker through the database, as JSON: "
        '{"sendgrid": 100, "twilio": 10}. A provider\'s 429 with Retry-After pauses it for '
        "everyone.",
    )
    frequency_caps: FrequencyCaps = Field(
        default_factory=dict,
        description="Per channel, at most N messages per contact within "
        "a window, across flows and mailings (transactional ones exempt), as JSON: "
        '{"email": {"messages": 3, "within": "7d"}}. A capped message is skipped with the '
        "reason frequency_cap.",
    )
    # Subscription topics and the preference page (api/preferences.py).
    subscription_topics: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_TOPICS),
        description="Topic id -> label shown on "
        "the preference page, as JSON; message steps and mailings name one (`topic`), and "
        "must name one of these. Always holds `general`, the topic of messages naming none.",
    )
    preference_link_key: str | None = Field(
        default=None,
        description="Fernet key(s) (Fernet.generate_key()) signing and encrypting "
        "the preference page and one-click unsubscribe links, comma-separated, newest first: "
        "links are made with the first and read with any, so to rotate put a new key in "
        "front and remove the old one once links made with it may stop working (at most "
        "preference_link_ttl_days later). With preference_base_url, every marketing email "
        "carries the links (footer and List-Unsubscribe headers).",
    )
    preference_base_url: str | None = Field(
        default=None,
        description="Public https://host of this API, where the links lead "
        "(/preferences/TOKEN, /unsubscribe/TOKEN).",
    )
    preference_link_ttl_days: int = Field(
        default=60, ge=1, le=3650, description="How long a preference link works."
    )
    sms_help_text: str = "Dripstone messages. Reply STOP to unsubscribe, START to resubscribe."

    # Call-out actions (webhook, phone call, notify team, run script).
    webhook_signing_secret: str | None = Field(
        default=None, description="HMAC-SHA256 key for X-Dripstone-Signature; unsigned when unset."
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhooks and email attachments to loopback, private "
        "and link-local addresses (checked when a flow is validated, saved or published, and "
        "when its steps run).",
    )
    voice_provider: Literal["outbox", "twilio"] = "outbox"
    twilio_voice_from_number: str | None = None
    team_email: str | None = Field(default=None, description="Notify-team default address.")
    team_phone: str | None = Field(default=None, description="Notify-team default number.")
    scripts_module: str | None = Field(
        default=None, description="Module path exposing SCRIPTS = {name: callable} for run_script."
    )

    # Contact changes: lead routers hand contacts to their members in turn.
    lead_routers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="JSON, router name -> owner user ids, e.g. "
        '{"sales": ["ann", "bob"]}; add_to_lead_router assigns round-robin.',
    )

    # The HTTP API (api/) and event routing (routing/).

    @model_validator(mode="after")
    def _providers_need_credentials(self) -> "MessagingSettings":
        if self.email_provider == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError("DRIPSTONE_SENDGRID_API_KEY is required when email_provider=sendgrid")
        if self.sms_provider == "twilio":
            missing = [
                name
                for name, value in (
                    ("DRIPSTONE_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    ("DRIPSTONE_TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                )
                if not value
            ]
            if not (self.twilio_from_number or self.twilio_messaging_service_sid):
                missing.append(
                    "DRIPSTONE_TWILIO_FROM_NUMBER or DRIPSTONE_TWILIO_MESSAGING_SERVICE_SID"
                )
            if missing:
                raise ValueError(f"sms_provider=twilio needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _topics_and_links(self) -> "MessagingSettings":
        bad = [topic for topic in self.subscription_topics if not TOPIC_PATTERN.match(topic)]
        if bad:
            raise ValueError(
                f"DRIPSTONE_SUBSCRIPTION_TOPICS: {bad} are not topic ids "
                "(lowercase letters, digits, - and _, at most 64)"
            )
        if DEFAULT_TOPIC not in self.subscription_topics:
            raise ValueError(
                f"DRIPSTONE_SUBSCRIPTION_TOPICS must hold {DEFAULT_TOPIC!r}, the "
                "topic of messages that name none"
            )
        for position, key in enumerate(self.preference_link_keys, start=1):
            try:
                Fernet(key.encode())
            except ValueError:
                raise ValueError(
                    f"DRIPSTONE_PREFERENCE_LINK_KEY: key {position} is not a "
                    "Fernet key (32 url-safe base64-encoded bytes; several "
                    "keys are separated by commas)"
                ) from None
        url = self.preference_base_url
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("DRIPSTONE_PREFERENCE_BASE_URL must be an absolute http(s) URL")
        return self

    @property
    def preference_link_keys(self) -> list[str]:
        """DRIPSTONE_PREFERENCE_LINK_KEY's keys, newest first (none: links are off)."""
        return [key.strip() for key in (self.preference_link_key or "").split(",") if key.strip()]

    @property
    def preference_links_enabled(self) -> bool:
        return bool(self.preference_link_keys and self.preference_base_url)

    @property
    def topic_ids(self) -> frozenset[str]:
        return frozenset(self.subscription_topics)

    @property
    def local_sends(self) -> list[Literal["email", "sms"]]:
        """Channels the embedded outbox delivers without a pace: one short database
        transaction whose idempotency key makes a retry exact, so journeys started under
        these settings send them as local activities (JourneyInput.local_sends). A paced
        send may wait long for its slot: it stays a regular activity, as do providers'."""
        providers = {"email": self.email_provider, "sms": self.sms_provider}
        return [
            channel
            for channel, provider in providers.items()
            if provider == "outbox" and f"outbox-{channel}" not in self.provider_rates
        ]
