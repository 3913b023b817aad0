"""Signing webhook requests the way SendGrid and Twilio do, with keys made in the test."""

import base64
import json
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from api.signatures import SENDGRID_SIGNATURE, SENDGRID_TIMESTAMP, TWILIO_SIGNATURE

TWILIO_TOKEN = "twilio-auth-token"


class SendGridSigner:
    """An ECDSA P-256 key pair like the one SendGrid's Signed Event Webhook uses; the
    public half is what the user pastes into DRIPSTONE_SENDGRID_WEBHOOK_PUBLIC_KEY."""

    def __init__(self):
        self._private = ec.generate_private_key(ec.SECP256R1())
        der = self._private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, body: bytes, timestamp: str | None = None) -> dict[str, str]:
        timestamp = timestamp or str(int(time.time()))
        signature = self._private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            SENDGRID_SIGNATURE: base64.b64encode(signature).decode(),
            SENDGRID_TIMESTAMP: timestamp,
            "Content-Type": "application/json",
        }

    def post(self, client, events: list[dict]):
        body = json.dumps(events).encode()
        return client.post("/webhooks/sendgrid/events", content=body, headers=self.headers(body))


def twilio_post(client, path: str, form: dict[str, str], token: str = TWILIO_TOKEN):
    url = f"{client.base_url}{path}"
    signature = RequestValidator(token).compute_signature(url, form)
    return client.post(path, data=form, headers={TWILIO_SIGNATURE: signature})


def sendgrid_event(kind: str, sg_event_id: str, email: str, **fields) -> dict:
    return {
        "event": kind,
        "sg_event_id": sg_event_id,
        "email": email,
        "timestamp": int(time.time()) - 5,
        "sg_message_id": "msg.filter0001",
        **fields,
    }
