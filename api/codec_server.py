"""/codec/encode and /codec/decode: the codec server the Temporal Web UI and
`temporal workflow show --codec-endpoint` call, so authorised ops read journeys in plain
text while Temporal itself only ever holds encrypted payloads.

Decrypting is reading every contact's personal data, so these routes take their own keys
(settings.codec_api_keys, DRIPSTONE_CODEC_API_KEYS), never the /v1 keys services use to
send events; with none configured they answer 403. The Web UI's origin is allowed by CORS
(settings.codec_cors_origins). The CLI sends a key with --codec-auth; the UI's "pass the
user access token" sends an OIDC token, which `temporal server start-dev` does not have,
so settings.codec_open_on_loopback lets a developer's own machine in without a key."""

import hmac
import ipaddress
import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from api.auth import _bearer, _header, key_problem, unauthorized
from codec.aes_gcm import DecryptFailed

NOT_ENABLED = (
    "the codec server is off: no codec API keys are configured. Set "
    "DRIPSTONE_CODEC_API_KEYS to a JSON list of keys for the people and tools "
    "allowed to decrypt (kept apart from DRIPSTONE_API_KEYS), or, on a "
    "developer's own machine only, DRIPSTONE_CODEC_OPEN_ON_LOOPBACK=true"
)
NOT_A_CODEC_KEY = (
    "this API key may not decrypt: the codec routes take a key listed in "
    "DRIPSTONE_CODEC_API_KEYS"
)


def from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, not an address (e.g. a test client's "testclient")


async def require_codec_key(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
    header_key: str | None = Depends(_header),
) -> None:
    """Only DRIPSTONE_CODEC_API_KEYS open the codec; or, when codec_open_on_loopback is
    set, any request from this machine."""
    settings = request.app.state.settings
    if settings.codec_open_on_loopback and from_loopback(request):
        return
    if not settings.codec_api_keys:
        raise HTTPException(403, detail=NOT_ENABLED)
    presented = bearer.credentials if bearer else header_key
    problem = key_problem(presented, settings.codec_api_keys)
    if problem is None:
        return
    if presented and any(
        hmac.compare_digest(presented.encode(), key.encode()) for key in settings.api_keys
    ):
        # A good /v1 key: known, but not allowed here.
        raise HTTPException(403, detail=NOT_A_CODEC_KEY)
    raise unauthorized(problem)


router = APIRouter(prefix="/codec", tags=["codec"], dependencies=[Depends(require_codec_key)])


def _invalid(message: str, type_: str) -> HTTPException:
    return HTTPException(422, detail=[{"loc": "payloads", "msg": message, "type": type_}])


async def _payloads(request: Request) -> Payloads:
    try:
        body: Any = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid(
            f'the body is not JSON ({exc}); expected {{"payloads": [...]}}', "json_invalid"
        ) from None
    if not isinstance(body, dict):
        raise _invalid('expected a JSON object {"payloads": [...]}', "invalid_payloads")
    try:
        return json_format.ParseDict(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError, ValueError) as exc:
        raise _invalid(str(exc), "invalid_payloads") from None


def _answer(payloads: list) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


@router.post("/encode", summary="Encrypt payloads (Temporal codec server protocol)")
async def encode(request: Request) -> dict:
    payloads = await _payloads(request)
    return _answer(await request.app.state.codec.encode(payloads.payloads))


@router.post("/decode", summary="Decrypt payloads (Temporal codec server protocol)")
async def decode(request: Request) -> dict:
    payloads = await _payloads(request)
    try:
        return _answer(await request.app.state.codec.decode(payloads.payloads))
    except DecryptFailed as exc:
        raise _invalid(str(exc), "undecryptable") from None
