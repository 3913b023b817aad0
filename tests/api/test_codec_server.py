"""The codec server: the protocol the Temporal Web UI and `temporal workflow show
--codec-endpoint` speak, behind keys of its own (not the /v1 keys), off until they are
set, open to loopback only when asked, with CORS for the UI's origin."""

import base64
import os
from contextlib import asynccontextmanager

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from api.app import create_app
from codec.aes_gcm import EncryptionCodec
from codec.keys import new_key
from tests.api.v1_harness import AUTH, KEY, keyed, ok

UI = "http://localhost:8233"
CODEC_KEY = "codec-key-0123456789"
CODEC_AUTH = {"Authorization": f"Bearer {CODEC_KEY}"}


def payload(text: str) -> dict:
    return {
        "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
        "data": base64.b64encode(f'"{text}"'.encode()).decode(),
    }


@asynccontextmanager
async def codec_client(settings, engine, client_address: str = "203.0.113.7", **overrides):
    """The app with /v1 keys (KEY) and, unless overridden, one codec key; requests come
    from `client_address` (the ASGI transport's default would be loopback)."""
    app = create_app(
        keyed(settings).model_copy(update={"codec_api_keys": [CODEC_KEY], **overrides}), engine
    )
    transport = httpx.ASGITransport(app=app, client=(client_address, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://dripstone.test") as api:
        yield api


async def test_encode_then_decode_round_trips_and_hides_the_text(settings, engine):
    async with codec_client(settings, engine) as api:
        sealed = ok(
            await api.post(
                "/codec/encode", json={"payloads": [payload("ada@example.com")]}, headers=CODEC_AUTH
            )
        )
        [one] = sealed["payloads"]
        assert base64.b64decode(one["metadata"]["encoding"]) == b"binary/encrypted"
        assert b"ada@example.com" not in base64.b64decode(one["data"])
        opened = ok(await api.post("/codec/decode", json=sealed, headers={"X-API-Key": CODEC_KEY}))
    assert opened == {"payloads": [payload("ada@example.com")]}


@pytest.mark.parametrize("path", ["/codec/encode", "/codec/decode"])
async def test_only_codec_keys_open_it_and_v1_keys_do_not(settings, engine, path):
    body = {"payloads": []}
    async with codec_client(settings, engine) as api:
        anonymous = await api.post(path, json=body)
        wrong = await api.post(path, json=body, headers={"Authorization": "Bearer nope"})
        service = await api.post(path, json=body, headers=AUTH)  # a /v1 key sending events
        codec = await api.post(path, json=body, headers=CODEC_AUTH)
        # ...and a codec key is no /v1 key.
        v1 = await api.get("/v1/flows", headers=CODEC_AUTH)
    assert anonymous.status_code == 401 and anonymous.json()["detail"].startswith("missing API key")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
    assert service.status_code == 403 and "DRIPSTONE_CODEC_API_KEYS" in service.json()["detail"]
    assert codec.status_code == 200, codec.text
    assert v1.status_code == 401


async def test_without_codec_keys_it_is_off_and_says_how_to_enable_it(settings, engine):
    async with codec_client(settings, engine, codec_api_keys=[]) as api:
        for headers in ({}, AUTH, {"Authorization": f"Bearer {KEY}"}):
            refused = await api.post("/codec/decode", json={"payloads": []}, headers=headers)
            assert refused.status_code == 403, headers
            detail = refused.json()["detail"]
            assert (
                "DRIPSTONE_CODEC_API_KEYS" in detail
                and "DRIPSTONE_CODEC_OPEN_ON_LOOPBACK" in detail
            )


@pytest.mark.parametrize(
    "address, open_on_loopback, status",
    [
        ("127.0.0.1", True, 200),
        ("::1", True, 200),
        ("127.0.0.2", True, 200),
        ("203.0.113.7", True, 403),
        ("10.0.0.5", True, 403),
        ("127.0.0.1", False, 403),
    ],
)
async def test_loopback_needs_no_key_only_when_opened(
    settings, engine, address, open_on_loopback, status
):
    # The Web UI of `temporal server start-dev` has no key to send.
    async with codec_client(
        settings,
        engine,
        client_address=address,
        codec_api_keys=[],
        codec_open_on_loopback=open_on_loopback,
    ) as api:
        sealed = await api.post("/codec/encode", json={"payloads": [payload("x")]})
    assert sealed.status_code == status, sealed.text


async def test_opened_loopback_still_asks_other_addresses_for_a_codec_key(settings, engine):
    async with codec_client(settings, engine, codec_open_on_loopback=True) as api:
        anonymous = await api.post("/codec/decode", json={"payloads": []})
        keyed_call = await api.post("/codec/decode", json={"payloads": []}, headers=CODEC_AUTH)
    assert anonymous.status_code == 401 and keyed_call.status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'"payloads"',
        b'{"payloads": [{"data": 42}]}',
        b'{"payloads": [{"data": "not base64!"}]}',
        b'{"payloads": 7}',
    ],
    ids=[
        "broken",
        "empty",
        "not-utf8",
        "list",
        "string",
        "number-data",
        "bad-base64",
        "not-a-list",
    ],
)
@pytest.mark.parametrize("path", ["/codec/encode", "/codec/decode"])
async def test_a_bad_body_is_a_422_naming_payloads(settings, engine, content, path):
    async with codec_client(settings, engine) as api:
        bad = await api.post(
            path, content=content, headers={**CODEC_AUTH, "Content-Type": "application/json"}
        )
    assert bad.status_code == 422, bad.text
    [problem] = bad.json()["detail"]
    assert problem["loc"] == "payloads"


async def test_a_payload_that_does_not_decrypt_is_a_422_naming_its_key(settings, engine):
    mine = {"k1": new_key()}
    # Another process's key under the same id (InvalidTag), and a key this one lacks.
    [wrong_key] = await EncryptionCodec({"k1": os.urandom(32)}, "k1").encode([raw("x")])
    [unknown_key] = await EncryptionCodec({"gone": os.urandom(32)}, "gone").encode([raw("y")])
    async with codec_client(settings, engine, codec_keys=mine) as api:
        [own] = ok(
            await api.post("/codec/encode", json={"payloads": [payload("z")]}, headers=CODEC_AUTH)
        )["payloads"]
        sealed = base64.b64decode(own["data"])
        tampered = {**own, "data": base64.b64encode(sealed[:-1] + bytes([sealed[-1] ^ 1])).decode()}
        truncated = {**own, "data": base64.b64encode(sealed[:5]).decode()}
        answers = {}
        for name, body in (
            ("wrong_key", as_json(wrong_key)),
            ("unknown_key", as_json(unknown_key)),
            ("tampered", tampered),
            ("truncated", truncated),
        ):
            answers[name] = await api.post(
                "/codec/decode", headers=CODEC_AUTH, json={"payloads": [body]}
            )
    messages = {}
    for name, answer in answers.items():
        assert answer.status_code == 422, (name, answer.text)
        [problem] = answer.json()["detail"]
        assert problem["loc"] == "payloads", name
        messages[name] = problem["msg"]
    assert "'gone'" in messages["unknown_key"] and "not configured" in messages["unknown_key"]
    assert "key 'k1' does not decrypt" in messages["wrong_key"]


def raw(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{text}"'.encode())


def as_json(message: Payload) -> dict:
    return json_format.MessageToDict(message)


async def test_the_web_ui_origin_may_call_it_and_others_may_not(settings, engine):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with codec_client(settings, engine) as api:
        allowed = await api.options("/codec/decode", headers={"Origin": UI, **preflight})
        refused = await api.options(
            "/codec/decode", headers={"Origin": "http://evil.test", **preflight}
        )
        answered = await api.post(
            "/codec/decode", json={"payloads": []}, headers={"Origin": UI, **CODEC_AUTH}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "access-control-allow-origin" not in refused.headers
    assert answered.headers["access-control-allow-origin"] == UI
