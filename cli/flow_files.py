"""Flow documents in YAML or JSON files: reading them with problems that name the field,
and writing them back out for export. The flow models are imported only by the
functions that build or validate flows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

if TYPE_CHECKING:
    from domain.flow import Flow
    from domain.validation import Problem

Format = Literal["yaml", "json"]


class FlowFileError(ValueError):
    pass


def read_flow_document(path: Path) -> dict[str, Any]:
    """The raw document, unvalidated, so a draft with problems can still be saved."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise FlowFileError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    if not isinstance(document, dict):
        raise FlowFileError(f"{path}: a flow document must be a mapping at the top level")
    return document


def load_flow_file(
    path: Path, *, allow_private_targets: bool = False
) -> tuple[Flow | None, list[Problem]]:
    """The file parsed and validated (see domain.validation.parse_flow)."""
    from domain.validation import parse_flow

    return parse_flow(read_flow_document(path), allow_private_targets=allow_private_targets)


def flow_document(flow: Flow) -> dict[str, Any]:
    """The flow as a file to edit and publish again. Version and publish time are left
    out because publishing assigns them; empty settings are left out for readability,
    unless leaving them out would change what the document means."""
    from pydantic import ValidationError

    from domain.flow import Flow

    full = flow.model_dump(mode="json", exclude={"version", "published_at"})
    compact = flow.model_dump(mode="json", exclude={"version", "published_at"}, exclude_none=True)
    try:
        same = Flow.model_validate(compact) == Flow.model_validate(full)
    except ValidationError:  # a required field whose value is None
        same = False
    document = compact if same else full
    # Steps read best with what they are first; the models put inherited fields first.
    document["steps"] = [
        {k: step[k] for k in _LEADING if k in step} | step for step in document["steps"]
    ]
    return document


_LEADING = ("id", "kind", "name")


def format_for(path: Path | None, requested: Format | None) -> Format:
    if requested:
        return requested
    return "json" if path is not None and path.suffix == ".json" else "yaml"


def dump_document(document: dict[str, Any], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


class _BlockDumper(yaml.SafeDumper):
    """Multi-line text (email bodies) as `|` blocks, the way people write it by hand."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _text)
