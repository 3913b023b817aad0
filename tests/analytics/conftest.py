"""The CLI's view of the test database: `dripstone flow stats` reads the engine the
journeys wrote to, with a terminal wide enough for every column."""

import pytest


@pytest.fixture
def cli_database(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "250")
