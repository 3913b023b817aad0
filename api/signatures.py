"""Provider webhook signatures. A request that fails is refused before its body is
even parsed: only the provider can make us append events."""

import binascii

from cryptography.exceptions import UnsupportedAlgorithm
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from twilio.request_validator import RequestValidator

SENDGRID_SIGNATURE = EventWebhookHeader.SIGNATURE  # X-Twilio-Email-Event-Webhook-Signature
SENDGRID_TIMESTAMP = EventWebhookHeader.TIMESTAMP  # X-Twilio-Email-Event-Webhook-Timestamp
TWILIO_SIGNATURE = "X-Twilio-Signature"


class SignatureInvalid(Exception):
    """403: the request did not come from the provider (or was altered)."""


class NotConfigured(Exception):
    """503: we cannot check signatures yet; the provider retries, so nothing is lost."""


def sendgrid_verifier(public_key: str | None) -> EventWebhook | None:
    """Parse the verification key once, at start-up: a bad key fails the app loudly
    instead of refusing every webhook later."""
    if not public_key:
        return None
    try:
        return EventWebhook(public_key)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(
            f"DRIPSTONE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid ECDSA public " f"key: {exc}"
        ) from None


def verify_sendgrid(verifier: EventWebhook | None, body: bytes, headers) -> None:
    if verifier is None:
        raise NotConfigured(
            "SendGrid event webhook verification key is not configured "
            "(DRIPSTONE_SENDGRID_WEBHOOK_PUBLIC_KEY)"
        )
    signature, timestamp = headers.get(SENDGRID_SIGNATURE), headers.get(SENDGRID_TIMESTAMP)
    for name, value in ((SENDGRID_SIGNATURE, signature), (SENDGRID_TIMESTAMP, timestamp)):
        if not value:
            raise SignatureInvalid(f"missing {name} header")
    try:
        payload = body.decode("utf-8")
        valid = verifier.verify_signature(payload, signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    if not valid:
        raise SignatureInvalid(
            f"invalid {SENDGRID_SIGNATURE}: the body was not signed with "
            "the configured SendGrid verification key"
        )


def verify_twilio(auth_token: str | None, url: str, params, headers) -> None:
    """Twilio signs the full URL it called plus the sorted form parameters."""
    if not auth_token:
        raise NotConfigured("Twilio auth token is not configured (DRIPSTONE_TWILIO_AUTH_TOKEN)")
    signature = headers.get(TWILIO_SIGNATURE)
    if not signature:
        raise SignatureInvalid(f"missing {TWILIO_SIGNATURE} header")
    if not RequestValidator(auth_token).validate(url, params, signature):
        raise SignatureInvalid(
            f"invalid {TWILIO_SIGNATURE} for {url} (if a proxy rewrites the "
            "URL, set DRIPSTONE_WEBHOOK_PUBLIC_BASE_URL)"
        )
