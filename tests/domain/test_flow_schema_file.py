"""The committed JSON Schema of flow documents matches the models, so editors and other
tools that validate against schemas/flow.schema.json never see a stale contract."""

import json
from pathlib import Path

import pytest

from domain.flow import Flow

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "flow.schema.json"


def test_committed_flow_schema_matches_the_models():
    expected = json.loads(json.dumps(Flow.model_json_schema(mode="validation")))
    committed = (
        json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) if SCHEMA_FILE.exists() else None
    )
    if committed != expected:
        # No dict diff: the schema is thousands of lines and the fix is always the same.
        pytest.fail(
            "schemas/flow.schema.json is missing or out of date with the flow models; "
            "regenerate it with `dripstone flow schema -o schemas/flow.schema.json` "
            "and commit the result",
            pytrace=False,
        )
