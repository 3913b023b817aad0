"""`python -m patches` exits 0 every time once its report is printed: the Temporal core
runtime it used is released before the interpreter finalizes. Left to finalization, a
core thread could take the GIL of an interpreter going away, and the process aborted
after its work was done (exit status 134, "Fatal Python error: PyGILState_Release"),
about one run in two to ten: hence several runs, against a real Temporal."""

import os
import subprocess
import sys

import pytest

from patches.catalogue import ROOT

pytestmark = pytest.mark.devserver

RUNS = 6
# Only so a hung run fails instead of hanging the suite; never reached when it passes.
HANG_GUARD_SECONDS = 300


def test_the_report_exits_cleanly_run_after_run(dev_server_env):
    address = dev_server_env.client.service_client.config.target_host
    env = {**os.environ, "DRIPSTONE_TEMPORAL_ADDRESS": address}
    for run in range(RUNS):
        done = subprocess.run(
            [sys.executable, "-m", "patches", "--no-replay"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD_SECONDS,
        )
        assert (done.returncode, "Fatal Python error" in done.stderr) == (0, False), (
            run,
            done.stderr[-3000:],
        )
        assert "running executions started before it: 0" in done.stdout  # Temporal answered
