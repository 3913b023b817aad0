"""The DRIPSTONE_TEMPORAL_TLS* and DRIPSTONE_TEMPORAL_API_KEY settings, checked when read:
half a client certificate, a file that cannot be read or is not PEM, TLS switched off
while TLS files are given, each refused naming the variables; the API key never shown.
What codec/client.py hands the SDK from them. (Connecting through a real mutual-TLS
proxy: tests/e2e/test_temporal_tls.py.)"""

import pytest
from pydantic import ValidationError

from codec.client import connection_summary, tls_config
from settings import Settings
from tests.cli.test_flow_cli import dripstone  # noqa: F401  (the fixture)
from tests.fakes.tls_proxy import Certificates


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Certificates:
    return Certificates.create(tmp_path_factory.mktemp("tls"))


def settings_from_env(monkeypatch, tmp_path, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(f"DRIPSTONE_{name}", value)
    return Settings(_env_file=None, data_dir=tmp_path)


def refusal(monkeypatch, tmp_path, **env: str) -> str:
    with pytest.raises(ValidationError) as refused:
        settings_from_env(monkeypatch, tmp_path, **env)
    return str(refused.value)


def test_by_default_temporal_is_reached_in_plain_text(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert settings.temporal_tls_enabled is False
    assert tls_config(settings) is False


def test_a_certificate_without_its_key_names_both_settings(monkeypatch, tmp_path, certificates):
    message = refusal(monkeypatch, tmp_path, TEMPORAL_TLS_CERT_PATH=str(certificates.client.cert))
    assert (
        "DRIPSTONE_TEMPORAL_TLS_CERT_PATH is set but DRIPSTONE_TEMPORAL_TLS_KEY_PATH is not: "
        "a client certificate needs both"
    ) in message


def test_a_key_without_its_certificate_names_both_settings(monkeypatch, tmp_path, certificates):
    message = refusal(monkeypatch, tmp_path, TEMPORAL_TLS_KEY_PATH=str(certificates.client.key))
    assert (
        "DRIPSTONE_TEMPORAL_TLS_KEY_PATH is set but DRIPSTONE_TEMPORAL_TLS_CERT_PATH is not"
        in message
    )


def test_an_unreadable_file_names_the_setting_and_the_path(monkeypatch, tmp_path, certificates):
    missing = tmp_path / "nowhere" / "ca.pem"
    message = refusal(monkeypatch, tmp_path, TEMPORAL_TLS_CA_PATH=str(missing))
    assert (
        f"DRIPSTONE_TEMPORAL_TLS_CA_PATH: cannot read {missing}: No such file or directory"
        in message
    )
    message = refusal(monkeypatch, tmp_path, TEMPORAL_TLS_CA_PATH=str(tmp_path))
    assert f"DRIPSTONE_TEMPORAL_TLS_CA_PATH: cannot read {tmp_path}: Is a directory" in message


def test_a_file_that_is_not_pem_names_the_setting(monkeypatch, tmp_path, certificates):
    der = tmp_path / "client.der"
    der.write_bytes(b"\x30\x82\x01\x0a")
    message = refusal(
        monkeypatch,
        tmp_path,
        TEMPORAL_TLS_CERT_PATH=str(der),
        TEMPORAL_TLS_KEY_PATH=str(certificates.client.key),
    )
    assert f"DRIPSTONE_TEMPORAL_TLS_CERT_PATH: {der} is not a PEM file" in message


def test_tls_switched_off_with_tls_files_given_is_a_contradiction(
    monkeypatch, tmp_path, certificates
):
    message = refusal(
        monkeypatch,
        tmp_path,
        TEMPORAL_TLS="false",
        TEMPORAL_TLS_CA_PATH=str(certificates.ca.pem.cert),
    )
    assert (
        "DRIPSTONE_TEMPORAL_TLS is false but DRIPSTONE_TEMPORAL_TLS_CA_PATH only apply over " "TLS"
    ) in message


def test_an_api_key_turns_tls_on_unless_tls_is_switched_off(monkeypatch, tmp_path):
    cloud = settings_from_env(monkeypatch, tmp_path, TEMPORAL_API_KEY="k-123")
    assert cloud.temporal_tls_enabled is True
    # Temporal Cloud: its certificate is signed by a public CA, so the system's roots.
    assert tls_config(cloud).server_root_ca_cert is None
    sidecar = settings_from_env(monkeypatch, tmp_path, TEMPORAL_TLS="false")
    assert sidecar.temporal_tls_enabled is False and tls_config(sidecar) is False


def test_blank_variables_count_as_unset(monkeypatch, tmp_path):
    settings = settings_from_env(
        monkeypatch,
        tmp_path,
        TEMPORAL_TLS_CA_PATH="",
        TEMPORAL_TLS_CERT_PATH=" ",
        TEMPORAL_API_KEY="",
    )
    assert settings.temporal_tls_ca_path is None and settings.temporal_api_key is None
    assert settings.temporal_tls_enabled is False


def test_mutual_tls_settings_become_the_sdks_tls_config(monkeypatch, tmp_path, certificates):
    settings = settings_from_env(
        monkeypatch,
        tmp_path,
        TEMPORAL_TLS_CA_PATH=str(certificates.ca.pem.cert),
        TEMPORAL_TLS_CERT_PATH=str(certificates.client.cert),
        TEMPORAL_TLS_KEY_PATH=str(certificates.client.key),
        TEMPORAL_TLS_SERVER_NAME="temporal.internal",
    )
    config = tls_config(settings)
    assert config.server_root_ca_cert == certificates.ca.pem.cert.read_bytes()
    assert config.client_cert == certificates.client.cert.read_bytes()
    assert config.client_private_key == certificates.client.key.read_bytes()
    assert config.domain == "temporal.internal"


def test_the_api_key_is_never_shown(monkeypatch, tmp_path, certificates):
    secret = "do-not-print-me"
    settings = settings_from_env(monkeypatch, tmp_path, TEMPORAL_API_KEY=secret)
    assert secret not in repr(settings) and secret not in str(settings)
    assert secret not in connection_summary(settings)
    assert "DRIPSTONE_TEMPORAL_API_KEY set" in connection_summary(settings)
    # Pydantic would print every value read in a validation error; settings hide them.
    message = refusal(monkeypatch, tmp_path, TEMPORAL_TLS_KEY_PATH=str(certificates.client.key))
    assert secret not in message


def test_the_cli_names_the_settings_instead_of_a_traceback(
    dripstone,
    monkeypatch,  # noqa: F811
    certificates,
):
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_TLS_CERT_PATH", str(certificates.client.cert))
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_API_KEY", "do-not-print-me")
    refused = dripstone("journeys", code=2)
    assert refused.stderr.startswith(
        "error: settings: DRIPSTONE_TEMPORAL_TLS_CERT_PATH is set but "
        "DRIPSTONE_TEMPORAL_TLS_KEY_PATH is not"
    ), refused.stderr
    assert "do-not-print-me" not in refused.stderr
    monkeypatch.delenv("DRIPSTONE_TEMPORAL_TLS_CERT_PATH")
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_TLS", "maybe")
    refused = dripstone("journeys", code=2)
    assert refused.stderr.startswith(
        "error: settings: DRIPSTONE_TEMPORAL_TLS: Input should be " "a valid boolean"
    ), refused.stderr
