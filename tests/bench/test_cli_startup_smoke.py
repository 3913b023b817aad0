"""The CLI start-up benchmark runs end to end (one timed run per case, no Temporal, no
bytecode mode) and prints its figures. Their values are never checked: the targets
live in the bench's output only."""

import subprocess
import sys

from bench.cli_startup import BASELINES, COMMANDS


def test_the_cli_startup_benchmark_prints_its_figures():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.cli_startup",
            "--repeat",
            "1",
            "--no-temporal",
            "--modes",
            "configured",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("median s", 1)[1]
    for label in (*BASELINES, *COMMANDS):
        row = next(line for line in table.splitlines() if line.startswith(label))
        assert "configured" in row and "failed" not in row
        assert row.rstrip().endswith("baseline" if label in BASELINES else "met")
    assert "targets (configured):" in table and "of 6 met" in table
