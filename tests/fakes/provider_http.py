"""A local HTTP stand-in for a provider's API. The real SDK talks to it over loopback;
it records every request and answers with whatever the test queued (default 2xx)."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Reply:
    status: int
    body: dict | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeProvider:
    def __init__(self, default: Reply):
        self.default = default
        self.requests: list[RecordedRequest] = []
        self.queued: list[Reply] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queue(self, *replies: Reply) -> None:
        self.queued.extend(replies)

    def reply_for(self, request: RecordedRequest) -> Reply:
        return self.queued.pop(0) if self.queued else self.default

    def __enter__(self) -> "FakeProvider":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    self.command, self.path, dict(self.headers), self.rfile.read(length)
                )
                fake.requests.append(request)
                reply = fake.reply_for(request)
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler


def twilio_message(
    sid: str = "SM0123456789abcdef0123456789abcdef", to: str = "+14155550101"
) -> dict:
    return {
        "sid": sid,
        "status": "queued",
        "to": to,
        "from": "+14155550000",
        "body": "",
        "account_sid": "AC" + "0" * 32,
        "num_segments": "1",
    }


def twilio_call(sid: str = "CA0123456789abcdef0123456789abcdef", to: str = "+14155550101") -> dict:
    """What POST /2010-04-01/Accounts/{sid}/Calls.json answers when a call is queued."""
    return {
        "sid": sid,
        "status": "queued",
        "to": to,
        "from": "+14155550000",
        "account_sid": "AC" + "0" * 32,
        "direction": "outbound-api",
    }


class RateLimitedProvider(FakeProvider):
    """Answers 429 (Retry-After: 1) to any request beyond `per_second` in the last second,
    as SendGrid and Twilio do; `throttled` counts them."""

    def __init__(self, default: Reply, per_second: int):
        super().__init__(default)
        self.per_second = per_second
        self.arrivals: list[float] = []
        self.throttled = 0
        self._lock = threading.Lock()

    def reply_for(self, request: RecordedRequest) -> Reply:
        now = time.monotonic()
        with self._lock:
            self.arrivals = [t for t in self.arrivals if t > now - 1.0]
            if len(self.arrivals) >= self.per_second:
                self.throttled += 1
                return Reply(429, "too many requests", {"Retry-After": "1"})
            self.arrivals.append(now)
        return super().reply_for(request)
