"""/codec/encode and /codec/decode: the codec server the Temporal Web UI and
`temporal workflow show --codec-endpoint` call, so authorised ops read journeys in plain
text while Temporal itself only ever holds encrypted payloads. Keyed like /v1; the UI's
origin is allowed by CORS (settings.codec_cors_origins) and passes the key as a bearer
token ("Pass the user access token" in the UI's codec settings)."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from codec.aes_gcm import UnknownKey

router = APIRouter(prefix="/codec", tags=["codec"])


def _payloads(body: Any) -> Payloads:
    try:
        return json_format.ParseDict(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError) as exc:
        raise HTTPException(422, detail=[{"loc": ["body", "payloads"], "msg": str(exc),
                                          "type": "invalid_payloads"}]) from None


def _answer(payloads: list) -> dict:
    return json_format.MessageToDict(Payloads(payloads=payloads))


@router.post("/encode", summary="Encrypt payloads (Temporal codec server protocol)")
async def encode(request: Request) -> dict:
    payloads = _payloads(await request.json())
    return _answer(await request.app.state.codec.encode(payloads.payloads))


@router.post("/decode", summary="Decrypt payloads (Temporal codec server protocol)")
async def decode(request: Request) -> dict:
    payloads = _payloads(await request.json())
    try:
        return _answer(await request.app.state.codec.decode(payloads.payloads))
    except UnknownKey as exc:
        raise HTTPException(422, detail=[{"loc": ["body", "payloads"], "msg": str(exc),
                                          "type": "unknown_key"}]) from None
