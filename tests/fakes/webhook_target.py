"""A generic HTTP receiver for webhook tests, on loopback: records every request (any
method) and answers from a queue of replies that can be errors, 429s with Retry-After,
or slow (the reply waits `delay` seconds before it is written)."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.provider_http import RecordedRequest


@dataclass
class Answer:
    status: int = 200
    body: dict | str = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class WebhookTarget:
    def __init__(self, default: Answer | None = None):
        self.default = default or Answer()
        self.requests: list[RecordedRequest] = []
        self.queued: list[Answer] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def queue(self, *answers: Answer) -> None:
        self.queued.extend(answers)

    def __enter__(self) -> "WebhookTarget":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(request)
            return self.queued.pop(0) if self.queued else self.default

    def _handler(self):
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                answer = target._next(
                    RecordedRequest(
                        self.command, self.path, dict(self.headers), self.rfile.read(length)
                    )
                )
                time.sleep(answer.delay)
                body = (
                    answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                ).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test); nothing to answer

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler
