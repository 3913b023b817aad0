"""A JSON setting (a list, an object) whose value is no JSON is named in one line with the
form wanted, exit status 2, by every command and the worker's own entry point, never
pydantic-settings' SettingsError traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.invoke import dripstone_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "variable, value, line",
    [
        (
            "DRIPSTONE_API_KEYS",
            "dev-key",
            'error: settings: DRIPSTONE_API_KEYS: must be JSON (a list, e.g. ["key"])',
        ),
        (
            "DRIPSTONE_CODEC_KEYS",
            "nojson",
            "error: settings: DRIPSTONE_CODEC_KEYS: must be JSON "
            '(an object, e.g. {"k1": "BASE64 OF 32 BYTES"})',
        ),
    ],
)
@pytest.mark.parametrize("args", [("api",), ("worker",), ("flow", "list")])
def test_a_setting_that_is_no_json_is_one_line(args, variable, value, line, monkeypatch, tmp_path):
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(variable, value)
    result = dripstone_run(*args, code=2)
    assert result.stderr.strip() == line


def test_the_worker_module_names_it_too(tmp_path):
    env = {
        **os.environ,
        "DRIPSTONE_DATA_DIR": str(tmp_path),
        "DRIPSTONE_API_KEYS": "dev-key",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: settings: DRIPSTONE_API_KEYS: must be JSON " '(a list, e.g. ["key"])'
    )
