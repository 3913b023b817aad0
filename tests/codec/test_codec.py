"""The payload codec: AES-GCM with the key id in the metadata, rotation, payloads from
before the codec passing through, keys from settings or (one machine only) the data
folder, and failures encrypted like payloads."""

import base64
import json
import os
import re
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from codec import keys as keys_module
from codec.aes_gcm import ENCODING, KEY_ID_KEY, DecryptFailed, EncryptionCodec, UnknownKey
from codec.converter import codec_for, data_converter
from codec.keys import KEY_FILE, KeyConfigError, local_keys, new_key, parse_keys
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]

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
    flipped = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    for bad in (swapped, flipped):
        with pytest.raises(DecryptFailed):
            await codec.decode([bad])


async def test_a_payload_from_another_key_under_the_same_id_names_the_key():
    # Two processes that each made a key of their own under one id: InvalidTag, said plainly.
    [sealed] = await EncryptionCodec({"local-1": A}, "local-1").encode([plain("x")])
    with pytest.raises(DecryptFailed, match="key 'local-1' does not decrypt") as failed:
        await EncryptionCodec({"local-1": B}, "local-1").decode([sealed])
    assert "DRIPSTONE_CODEC_KEYS" in str(failed.value)
    assert not isinstance(failed.value, UnknownKey)


def test_keys_from_settings_are_checked_naming_the_problem():
    key = new_key()
    assert parse_keys({"k1": key}, None).current == "k1"
    with pytest.raises(KeyConfigError, match="not valid base64"):
        parse_keys({"k1": "%%%"}, None)
    with pytest.raises(KeyConfigError, match="16 bytes"):
        parse_keys({"k1": base64.b64encode(os.urandom(16)).decode()}, None)
    with pytest.raises(KeyConfigError, match="'k9' is not among the keys"):
        parse_keys({"k1": key}, "k9")


def one_machine(monkeypatch) -> None:
    """No DRIPSTONE_CODEC_KEYS and no DATABASE_URL: the embedded, single-machine set-up."""
    for name in ("DRIPSTONE_CODEC_KEYS", "DATABASE_URL", "DRIPSTONE_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_on_one_machine_the_data_folder_gets_a_key_readable_by_its_owner_only(
    tmp_path, monkeypatch
):
    one_machine(monkeypatch)
    first = codec_for(Settings(_env_file=None, data_dir=tmp_path))
    again = local_keys(tmp_path)
    # A random id: another machine's key file is an unknown key, not a failed decryption.
    assert re.fullmatch(r"local-[0-9a-f]{8}", first.current_key_id)
    assert again.current == first.current_key_id
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]  # no temporary file left
    assert local_keys(tmp_path / "other").current != first.current_key_id


@pytest.mark.parametrize("make", [codec_for, data_converter], ids=["codec_for", "data_converter"])
def test_with_a_database_url_and_no_keys_nothing_starts(tmp_path, monkeypatch, make):
    one_machine(monkeypatch)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://dripstone@db/dripstone")
    with pytest.raises(KeyConfigError) as refused:
        make(Settings(_env_file=None, data_dir=tmp_path))
    message = str(refused.value)
    assert "DRIPSTONE_CODEC_KEYS is not set" in message and "DATABASE_URL" in message
    assert "openssl rand -base64 32" in message  # how to make one
    assert not (tmp_path / KEY_FILE).exists()  # no per-process key made behind its back
    monkeypatch.setenv("DRIPSTONE_CODEC_KEYS", json.dumps({"k1": new_key()}))
    assert codec_for(Settings(_env_file=None, data_dir=tmp_path)).current_key_id == "k1"


def test_threads_creating_the_key_file_at_once_all_end_with_the_same_key(tmp_path, monkeypatch):
    # Every thread writes its own key before any links it into place: a real race.
    racers = 8
    barrier = threading.Barrier(racers, timeout=10)
    link = os.link

    def link_together(source, destination):
        barrier.wait()
        return link(source, destination)

    monkeypatch.setattr(keys_module.os, "link", link_together)
    with ThreadPoolExecutor(racers) as pool:
        results = list(pool.map(lambda _: local_keys(tmp_path), range(racers)))
    assert len({(r.current, r.keys[r.current]) for r in results}) == 1
    on_disk = local_keys(tmp_path)
    assert (on_disk.current, on_disk.keys) == (results[0].current, results[0].keys)
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]


def test_processes_starting_together_share_one_key(tmp_path):
    script = (
        "import sys; from pathlib import Path; from codec.keys import local_keys; "
        "k = local_keys(Path(sys.argv[1])); print(k.current, k.keys[k.current].hex())"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path / "data")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = {p.communicate(timeout=60)[0].strip() for p in processes}
    assert all(p.returncode == 0 for p in processes)
    assert len(outputs) == 1, outputs


async def test_the_data_converter_round_trips_models_through_the_codec(tmp_path, monkeypatch):
    monkeypatch.setenv("DRIPSTONE_CODEC_KEYS", json.dumps({"x": new_key()}))
    converter = data_converter(Settings(_env_file=None, data_dir=tmp_path))
    payloads = await converter.encode([{"email": "grace@example.com"}])
    assert b"grace@example.com" not in payloads[0].SerializeToString()
    assert await converter.decode(payloads, [dict]) == [{"email": "grace@example.com"}]


async def test_failure_messages_and_details_are_encrypted(tmp_path, monkeypatch):
    """A provider's or webhook's refusal quotes the contact: the message, stack trace and
    details of every failure go into Temporal encrypted, and come back whole."""
    monkeypatch.setenv("DRIPSTONE_CODEC_KEYS", json.dumps({"x": new_key()}))
    converter = data_converter(Settings(_env_file=None, data_dir=tmp_path))
    phone, body = "+14155550123", '{"error": "unknown subscriber grace@example.com"}'
    try:
        try:
            raise ApplicationError(
                f"20003: Invalid 'To' Phone Number: {phone}",
                {"to": phone},
                type="ProviderRejected",
                non_retryable=True,
            )
        except ApplicationError as cause:
            raise ActivityError(
                "activity failed",
                scheduled_event_id=5,
                started_event_id=6,
                identity="worker",
                activity_type="send_sms",
                activity_id="1",
                retry_state=RetryState.NON_RETRYABLE_FAILURE,
            ) from cause
    except ActivityError as error:
        failure = Failure()
        await converter.encode_failure(error, failure)
    webhook = Failure()
    await converter.encode_failure(
        ApplicationError(f"webhook answered 400: {body}", type="ProviderRejected"), webhook
    )
    stored = failure.SerializeToString() + webhook.SerializeToString()
    for value in (phone, "4155550123", "grace@example.com", "Invalid 'To' Phone"):
        assert value.encode() not in stored, value
    assert failure.message == webhook.message == "Encoded failure"
    assert failure.cause.application_failure_info.type == "ProviderRejected"  # types stay readable

    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded.cause, ApplicationError)
    assert decoded.cause.message == f"20003: Invalid 'To' Phone Number: {phone}"
    assert decoded.cause.details == ({"to": phone},)
    assert (await converter.decode_failure(webhook)).message == f"webhook answered 400: {body}"


def deployed(tmp_path, monkeypatch) -> Settings:
    """DATABASE_URL (a migrated database) and no DRIPSTONE_CODEC_KEYS."""
    from projections.database import make_engine, migrate

    one_machine(monkeypatch)
    url = f"sqlite:///{tmp_path / 'deployed.db'}"
    database = make_engine(url)
    migrate(database)
    database.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path / "data"))
    return Settings(_env_file=None)


async def test_the_api_and_the_worker_refuse_to_start_without_keys(tmp_path, monkeypatch, engine):
    """A deployment whose processes would each encrypt with a key of their own."""
    from api.app import create_app
    from worker import connect

    settings = deployed(tmp_path, monkeypatch)
    with pytest.raises(KeyConfigError, match="DRIPSTONE_CODEC_KEYS"):
        create_app(settings, engine)
    with pytest.raises(KeyConfigError, match="DRIPSTONE_CODEC_KEYS"):
        await connect(settings, lazy=True)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", [["worker"], ["api"]])
def test_the_cli_says_why_in_one_line(tmp_path, monkeypatch, command):
    from typer.testing import CliRunner

    from cli.main import app as cli

    deployed(tmp_path, monkeypatch)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1, (result.output, result.exception)
    assert "error: DRIPSTONE_CODEC_KEYS is not set" in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()
