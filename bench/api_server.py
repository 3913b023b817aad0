"""The HTTP API as the benchmark runs it: its own process (as deployed, so it does not
share the worker's interpreter lock), started with the production factory
`api.app:from_environment` under uvicorn, configured by environment variables."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import structlog

ROOT = Path(__file__).resolve().parent.parent


def quiet_logs() -> None:
    """Info lines per enrollment and per message would cost the same in every variant but
    flood the terminal; only warnings and errors are printed during a benchmark."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """start() runs the API (blocking until it answers; call it off the event loop),
    stop() ends it; also `with ApiServer(...) as base_url:`."""

    def __init__(
        self,
        *,
        database_url: str,
        temporal_address: str,
        namespace: str,
        task_queue: str,
        api_key: str,
        log_path: Path,
        startup_timeout: float = 60,
        workers: int = 1,
    ):
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DRIPSTONE_TEMPORAL_ADDRESS": temporal_address,
            "DRIPSTONE_TEMPORAL_NAMESPACE": namespace,
            "DRIPSTONE_TASK_QUEUE": task_queue,
            "DRIPSTONE_API_KEYS": json.dumps([api_key]),
            "PYTHONPATH": str(ROOT),
        }
        self.api_key = api_key
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.workers = workers

    def start(self) -> str:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.api_server", str(self.port), str(self.workers)],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def __enter__(self) -> str:
        return self.start()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        headers = {"Authorization": f"Bearer {self.api_key}"}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the API server exited ({self.process.returncode}); " f"see {self.log_path}"
                )
            try:
                # Any answer at all means uvicorn is up and the lifespan has run.
                httpx.get(f"{self.base_url}/openapi.json", headers=headers, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(
            f"the API server did not answer within {self.startup_timeout:g}s; "
            f"see {self.log_path}"
        )

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self._log.close()


def main() -> None:
    import uvicorn

    quiet_logs()
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    uvicorn.run(
        "api.app:from_environment",
        factory=True,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        workers=workers,
    )


if __name__ == "__main__":
    main()
