"""What `python -m patches` says without Temporal: an unknown --released name is refused
naming it and the known ones (exit 2); with no run predating a patch's first commit and
no --released, the verdict says plainly why it is still unknown."""

import subprocess
import sys

from patches.__main__ import readiness_verdict
from patches.catalogue import ROOT, find_patches


def test_an_unknown_released_name_is_refused_naming_the_known_ones():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "patches",
            "--released",
            "nosuch=2026-01-01T00:00:00Z",
            "--no-temporal",
            "--no-replay",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "--released nosuch: no patch of that name; known: " in done.stderr
    assert "journey-migration" in done.stderr and done.stdout == ""


def test_the_verdict_without_released_says_why_it_is_unknown():
    patch = next(p for p in find_patches() if p.name == "journey-migration")
    verdict = readiness_verdict(patch, 0, released_given=False)
    assert verdict.startswith(
        "unknown: no running execution predates its first commit here, "
        "but without --released its deploy date is not known"
    )
    assert "--released journey-migration=<" in verdict
    assert "no run started before" not in verdict
    assert readiness_verdict(patch, 0, released_given=True) == "READY (deprecate_patch)"
    assert readiness_verdict(patch, 2, released_given=False).startswith("not ready: 2 run(s)")
