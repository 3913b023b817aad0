"""The codec server: the protocol the Temporal Web UI and `temporal workflow show
--codec-endpoint` speak, behind the API key, with CORS for the UI's origin."""

import base64

from tests.api.v1_harness import async_client, ok

UI = "http://localhost:8233"


def payload(text: str) -> dict:
    return {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
            "data": base64.b64encode(f'"{text}"'.encode()).decode()}


async def test_encode_then_decode_round_trips_and_hides_the_text(settings, engine):
    async with async_client(settings, engine) as api:
        sealed = ok(await api.post("/codec/encode", json={"payloads": [payload("ada@example.com")]}))
        [one] = sealed["payloads"]
        assert base64.b64decode(one["metadata"]["encoding"]) == b"binary/encrypted"
        assert b"ada@example.com" not in base64.b64decode(one["data"])
        opened = ok(await api.post("/codec/decode", json=sealed))
    assert opened == {"payloads": [payload("ada@example.com")]}


async def test_the_codec_needs_the_key_and_names_a_bad_body(settings, engine):
    async with async_client(settings, engine) as api:
        anonymous = await api.post("/codec/decode", json={"payloads": []},
                                   headers={"Authorization": ""})
        bad = await api.post("/codec/decode", json={"payloads": [{"data": 42}]})
    assert anonymous.status_code == 401
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "payloads"]


async def test_the_web_ui_origin_may_call_it_and_others_may_not(settings, engine):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type,x-namespace"}
    async with async_client(settings, engine) as api:
        allowed = await api.options("/codec/decode", headers={"Origin": UI, **preflight})
        refused = await api.options("/codec/decode", headers={"Origin": "http://evil.test",
                                                              **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "access-control-allow-origin" not in refused.headers
