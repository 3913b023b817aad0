"""A Temporal address that is no host:port (a space, a scheme, a port out of range) stops
a command with one line naming the option or the setting and the reason, never the
SDK's traceback; one that parses but answers nothing is named with the settings used."""

import pytest

from codec.client import TemporalUnreachable, connect
from settings import Settings, temporal_address_problem
from tests.cli.invoke import dripstone_run


@pytest.mark.parametrize(
    "address, reason",
    [
        ("bad address", "contains a space"),
        ("localhost:99999", "the port must be a number from 1 to 65535"),
        ("http://localhost:7233", "has a scheme"),
        (":7233", "has no host"),
    ],
)
def test_register_search_attributes_names_the_option_and_the_reason(address, reason):
    result = dripstone_run("temporal", "register-search-attributes", "--address", address, code=2)
    assert result.stderr.startswith(f"error: --address: {address!r}")
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args", [("journeys",), ("db", "reindex-journeys"), ("temporal", "register-search-attributes")]
)
def test_a_bad_address_setting_is_named_by_every_command(args, monkeypatch, tmp_path):
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", "bad address")
    result = dripstone_run(*args, code=2)
    assert result.stderr.strip() == (
        "error: settings: DRIPSTONE_TEMPORAL_ADDRESS: 'bad address' "
        "contains a space: give host:port, e.g. localhost:7233"
    )


def test_an_unreachable_server_is_one_line_with_the_settings_used(monkeypatch, tmp_path):
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    result = dripstone_run(
        "temporal", "register-search-attributes", "--address", "127.0.0.1:1", code=2
    )
    assert "could not connect to Temporal at 127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "address",
    ["localhost:7233", "temporal", "[::1]:7233", "my-ns.a1b2c.tmprl.cloud:7233", "10.0.0.5:443"],
)
def test_addresses_temporal_takes_are_accepted(address):
    assert temporal_address_problem(address) is None


async def test_an_address_only_the_sdk_refuses_is_named_not_raised_as_a_value_error():
    # Past the settings' check (an option copied in without validation): the SDK's
    # ValueError becomes the connect failure every caller reports.
    settings = Settings(_env_file=None).model_copy(update={"temporal_address": "bad address"})
    with pytest.raises(TemporalUnreachable, match="DRIPSTONE_TEMPORAL_ADDRESS 'bad address'"):
        await connect(settings)
