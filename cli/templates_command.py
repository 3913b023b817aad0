"""Ready-made flows shipped in `flow_templates/`: list them, load one as a Flow.

A template's name is its file name without `.yaml`, the same as the id of the flow it
makes (`nps-survey`); `nps_survey` is accepted too. Loading validates
the document exactly as `dripstone flow validate` does and refuses one with errors.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from cli.flow_files import FlowFileError, load_flow_file
from domain.flow import Flow
from domain.validation import Problem, errors

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "flow_templates"
SUFFIX = ".yaml"


class TemplateError(ValueError):
    """A template that cannot be found or does not validate; the message is for people."""


class UnknownTemplate(TemplateError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        super().__init__(f"there is no template {name!r}; known: {', '.join(known) or 'none'}")


class InvalidTemplate(TemplateError):
    def __init__(self, name: str, problems: list[Problem]):
        self.problems = problems
        super().__init__(
            f"template {name!r} has problems:\n" + "\n".join(f"  {p}" for p in problems)
        )


def template_names(directory: Path = TEMPLATES_DIR) -> list[str]:
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob(f"*{SUFFIX}") if p.is_file())


def list_templates(directory: Path = TEMPLATES_DIR) -> list[tuple[str, str]]:
    """(name, description) of every template, by name. Reads only each document's
    `description` (falling back to its `name`), so one broken file still lists."""
    listed = []
    for name in template_names(directory):
        try:
            document = yaml.safe_load((directory / f"{name}{SUFFIX}").read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            document = None
        if not isinstance(document, dict):
            listed.append((name, "(unreadable template)"))
            continue
        text = document.get("description") or document.get("name") or ""
        listed.append((name, " ".join(str(text).split())))
    return listed


def load_template(
    name: str, directory: Path = TEMPLATES_DIR, *, allow_private_targets: bool = False
) -> Flow:
    """The template as a draft Flow (version 0), ready to publish or to copy.
    `allow_private_targets`: settings.webhook_allow_private_targets, as validation takes it."""
    known = template_names(directory)
    stem = name.strip().removesuffix(SUFFIX).replace("_", "-")
    # Only names from the listing are opened, so a name can never reach outside it.
    if stem not in known:
        raise UnknownTemplate(name, known)
    try:
        flow, problems = load_flow_file(
            directory / f"{stem}{SUFFIX}", allow_private_targets=allow_private_targets
        )
    except FlowFileError as exc:
        raise TemplateError(str(exc)) from None
    if flow is None or errors(problems):
        raise InvalidTemplate(stem, errors(problems) or problems)
    return flow
