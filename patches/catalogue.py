"""The patches in today's workflow code, read from its source (never executed): each
`workflow.patched("name")` or `workflow.deprecate_patch("name")`, where it is, which
workflow type runs it, and the first commit that wrote the name (a lower bound of its
release: a deployment that ran it later is what counts)."""

import ast
import inspect
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / "workflows"


@dataclass(frozen=True)
class Patch:
    name: str
    stage: str  # "patched" (both branches in the code) or "deprecated" (new branch only)
    where: str  # file:line of its first use
    workflow_types: tuple[str, ...]
    introduced: datetime | None  # the first commit whose workflows/ mentions it


def find_patches() -> list[Patch]:
    owners = workflow_types_by_file()
    found: dict[str, tuple[str, str, set[str]]] = {}
    for path in sorted(WORKFLOWS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            name, stage = _patch_call(node)
            if name is None:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            previous = found.get(name)
            types = (previous[2] if previous else set()) | set(owners.get(path, ()))
            kept_stage = (
                "patched"
                if stage == "patched" or (previous and previous[0] == "patched")
                else "deprecated"
            )
            found[name] = (kept_stage, previous[1] if previous else where, types)
    return [
        Patch(
            name=name,
            stage=stage,
            where=where,
            workflow_types=tuple(sorted(types)),
            introduced=introduced(name),
        )
        for name, (stage, where, types) in sorted(found.items())
    ]


def _patch_call(node) -> tuple[str | None, str]:
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("patched", "deprecate_patch")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return None, ""
    return node.args[0].value, "patched" if node.func.attr == "patched" else "deprecated"


def workflow_types_by_file() -> dict[Path, list[str]]:
    """Source file -> the workflow types whose class (or a mixin of it) is defined there."""
    from worker import build_worker  # noqa: F401  (imports every registered workflow)
    from workflows.backfill import BackfillWorkflow
    from workflows.flow_control import FlowControlWorkflow
    from workflows.journey import JourneyWorkflow
    from workflows.mailing import MailingWorkflow
    from workflows.migration import MigrationWorkflow
    from workflows.script_run import ScriptRunWorkflow

    owners: dict[Path, list[str]] = {}
    for cls in (
        JourneyWorkflow,
        BackfillWorkflow,
        FlowControlWorkflow,
        MailingWorkflow,
        MigrationWorkflow,
        ScriptRunWorkflow,
    ):
        name = cls.__temporal_workflow_definition.name
        for base in inspect.getmro(cls):
            try:
                owners.setdefault(Path(inspect.getfile(base)).resolve(), []).append(name)
            except TypeError:  # builtins (object)
                continue
    return owners


def introduced(name: str, root: Path = ROOT) -> datetime | None:
    """The commit date of the first commit that wrote the name, quoted, under workflows/.

    Merges are searched too, each against its first parent: a patch written while
    resolving a merge's conflict exists in no commit of either branch, and `git log`
    leaves merges' own changes out unless asked. Any quotes count, so a patch rewritten
    with other quotes or on another line is still dated by the commit that first had it."""
    # Each character that is not a letter or digit in a bracket of its own: literal in
    # git's regular expressions (Python's re.escape writes escapes POSIX leaves undefined).
    literal = "".join(c if c.isalnum() else f"[{c}]" for c in name)
    quoted = f"[\"']{literal}[\"']"
    try:
        out = subprocess.run(
            [
                "git",
                "log",
                "--diff-merges=first-parent",
                "--reverse",
                "--format=%cI",
                "-G",
                quoted,
                "--",
                "workflows",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return datetime.fromisoformat(out[0]) if out else None
