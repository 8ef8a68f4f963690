"""A webhook endpoint on 127.0.0.1 for the tests and the soak benchmark: one, so all agree.

It records every request (arrival time, lower-cased headers, body) and answers as scripted:
``statuses`` holds an int, or ``(status, headers)``, per request; after them it refuses (503)
its first ``refuse_first`` requests, and every request while ``down`` is set, to stand for a
receiver that is away. Given a ``secret`` it then behaves as a careful client writes one: it
verifies every signature (400 if wrong) and processes each ``webhook-id`` once, so a test can
count duplicates; without one it accepts what arrives (204).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

from standardwebhooks.webhooks import Webhook


class Request(NamedTuple):
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Serve from construction until :meth:`close` (or the end of a ``with`` block)."""

    def __init__(
        self,
        secret: str | None = None,
        *,
        statuses: list | None = None,
        refuse_first: int = 0,
        port: int = 0,
    ) -> None:
        self.secret = secret
        self.statuses = list(statuses or [])
        self.refuse_first = refuse_first
        self.down = threading.Event()
        self.requests: list[Request] = []
        self.refused = self.duplicates = self.bad_signatures = 0
        self.processed: dict[str, dict] = {}  # webhook-id -> verified event (with a secret)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra = outer.handle(headers, body)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/copydesk"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def seen(self) -> int:
        return len(self.requests)

    def ids(self) -> list[str]:
        """The ``webhook-id`` of every request, in arrival order."""
        return [request.headers["webhook-id"] for request in self.requests]

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        """Record one request and choose its answer: a status and extra headers."""
        with self.lock:
            self.requests.append(Request(time.monotonic(), headers, body))
            if self.statuses:
                answer = self.statuses.pop(0)
                return answer if isinstance(answer, tuple) else (answer, {})
            if self.seen <= self.refuse_first or self.down.is_set():
                self.refused += 1
                return 503, {}
            if self.secret is None:
                return 204, {}
            try:
                event = Webhook(self.secret).verify(body, headers)
            except Exception:
                self.bad_signatures += 1
                return 400, {}
            if headers["webhook-id"] in self.processed:
                self.duplicates += 1
            else:
                self.processed[headers["webhook-id"]] = event
            return 204, {}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
