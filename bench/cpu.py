"""CPU seconds used, per process: wall-clock rates on a shared 2-core machine move with
whatever else runs, while the CPU a run costs barely does. Linux only (/proc); where it
is not available the figures are simply left out."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float | None:
    """utime + stime of `pid` (all its threads), in seconds; None if unreadable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after it are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu(pid: int) -> float | None:
    """CPU of `pid` and its live children (uvicorn's worker processes), in seconds."""
    own = process_cpu(pid)
    if own is None:
        return None
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            own += process_cpu(int(entry.name)) or 0.0
    return own


def dev_server_pid(target_host: str) -> int | None:
    """The `temporal server start-dev` listening on `target_host`'s port, if it runs here."""
    port = target_host.rsplit(":", 1)[-1]
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start-dev" in args and b"--port" in args:
            index = args.index(b"--port")
            if index + 1 < len(args) and args[index + 1].decode() == port:
                return int(entry.name)
    return None


@dataclass
class CpuMeter:
    """CPU of this process (worker, activities and the load generator) and of the dev
    server, between start() and stop()."""

    server_pid: int | None = None
    here: float = 0.0
    server: float | None = None

    def start(self) -> None:
        self._here = time.process_time()
        self._server = process_cpu(self.server_pid) if self.server_pid else None

    def stop(self) -> None:
        self.here = time.process_time() - self._here
        end = process_cpu(self.server_pid) if self.server_pid else None
        self.server = end - self._server if end is not None and self._server is not None else None
