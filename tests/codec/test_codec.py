"""The payload codec: AES-GCM with the key id in the metadata, rotation, payloads from
before the codec passing through, and keys from settings or the data folder."""

import base64
import json
import os
import stat

import pytest
from temporalio.api.common.v1 import Payload

from codec.aes_gcm import ENCODING, KEY_ID_KEY, EncryptionCodec, UnknownKey
from codec.converter import codec_for, data_converter
from codec.keys import KEY_FILE, KeyConfigError, local_keys, new_key, parse_keys
from settings import Settings

A, B = os.urandom(32), os.urandom(32)


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def test_a_payload_is_encrypted_under_the_current_key_and_decrypts_back():
    codec = EncryptionCodec({"a": A}, "a")
    [sealed] = await codec.encode([plain("ada@example.com")])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID_KEY] == b"a"
    assert b"ada@example.com" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [plain("ada@example.com")]


async def test_rotation_encrypts_with_the_new_key_and_still_reads_the_old_one():
    old = EncryptionCodec({"a": A}, "a")
    [from_before] = await old.encode([plain("kept")])
    rotated = EncryptionCodec({"a": A, "b": B}, "b")
    [fresh] = await rotated.encode([plain("new")])
    assert fresh.metadata[KEY_ID_KEY] == b"b"
    assert await rotated.decode([from_before, fresh]) == [plain("kept"), plain("new")]
    with pytest.raises(UnknownKey, match="'b'"):
        await old.decode([fresh])  # a process without the new key says which is missing


async def test_payloads_recorded_before_the_codec_pass_through():
    codec = EncryptionCodec({"a": A}, "a")
    assert await codec.decode([plain("old history")]) == [plain("old history")]


async def test_a_tampered_payload_or_a_swapped_key_id_is_refused():
    codec = EncryptionCodec({"a": A, "b": B}, "a")
    [sealed] = await codec.encode([plain("x")])
    swapped = Payload(metadata={**sealed.metadata, KEY_ID_KEY: b"b"}, data=sealed.data)
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    for bad in (swapped, flipped):
        with pytest.raises(Exception):
            await codec.decode([bad])


def test_keys_from_settings_are_checked_naming_the_problem():
    key = new_key()
    assert parse_keys({"k1": key}, None).current == "k1"
    with pytest.raises(KeyConfigError, match="not valid base64"):
        parse_keys({"k1": "%%%"}, None)
    with pytest.raises(KeyConfigError, match="16 bytes"):
        parse_keys({"k1": base64.b64encode(os.urandom(16)).decode()}, None)
    with pytest.raises(KeyConfigError, match="'k9' is not among the keys"):
        parse_keys({"k1": key}, "k9")


def test_without_keys_the_data_folder_gets_one_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("DRIPSTONE_CODEC_KEYS", raising=False)
    first = codec_for(Settings(_env_file=None, data_dir=tmp_path))
    again = local_keys(tmp_path)
    assert first.current_key_id == again.current == "local-1"
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


async def test_the_data_converter_round_trips_models_through_the_codec(tmp_path, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_CODEC_KEYS", json.dumps({"x": new_key()}))
    converter = data_converter(Settings(_env_file=None, data_dir=tmp_path))
    payloads = await converter.encode([{"email": "grace@example.com"}])
    assert b"grace@example.com" not in payloads[0].SerializeToString()
    assert await converter.decode(payloads, [dict]) == [{"email": "grace@example.com"}]
