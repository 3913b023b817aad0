"""Reading flow documents from YAML or JSON files, with problems that name the field."""

import json
from pathlib import Path

import yaml

from domain.flow import Flow
from domain.validation import Problem, parse_flow


class FlowFileError(ValueError):
    pass


def load_flow_file(path: Path) -> tuple[Flow | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise FlowFileError(f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}") from None
    if not isinstance(document, dict):
        raise FlowFileError(f"{path}: a flow document must be a mapping at the top level")
    return parse_flow(document)
