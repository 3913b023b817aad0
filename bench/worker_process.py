"""A worker (`python -m worker`) in a process of its own, as deployed: the mailing bench
measures it, kills it with SIGKILL halfway and starts another, and reads its peak memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bench.api_server import ROOT


class WorkerProcess:
    def __init__(
        self,
        *,
        database_url: str,
        temporal_address: str,
        namespace: str,
        task_queue: str,
        data_dir: Path,
        log_path: Path,
    ):
        # The codec keys come with os.environ (bench.enrollment.share_codec_key).
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DRIPSTONE_TEMPORAL_ADDRESS": temporal_address,
            "DRIPSTONE_TEMPORAL_NAMESPACE": namespace,
            "DRIPSTONE_TASK_QUEUE": task_queue,
            "DRIPSTONE_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT),
        }
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.peak_rss_bytes = 0
        self.cpu_seconds = 0.0  # of the processes that ended, plus the running one's so far
        self._ended_cpu = 0.0

    def start(self) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def peak_rss(self) -> int:
        """The process's peak resident memory so far (VmHWM), remembered across restarts;
        its CPU time too (the machine may be shared: CPU seconds say what wall time cannot)."""
        if self.process is not None and self.process.poll() is None:
            try:
                fields = (
                    Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                )
                used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                self.cpu_seconds = self._ended_cpu + used
            except (OSError, IndexError, ValueError):
                pass
            try:
                status = Path(f"/proc/{self.process.pid}/status").read_text()
            except OSError:
                return self.peak_rss_bytes
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_bytes = max(self.peak_rss_bytes, int(line.split()[1]) * 1024)
        return self.peak_rss_bytes

    def kill(self) -> None:
        """SIGKILL: no cleanup, as when a machine dies."""
        self.peak_rss()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._ended_cpu = self.cpu_seconds
        self._log.close()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.peak_rss()
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
        self.process = None
