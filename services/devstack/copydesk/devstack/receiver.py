"""A webhook receiver as a careful client writes one: it verifies every signature and
processes each ``webhook-id`` once. For the fault tests and the soak benchmark.

It can refuse (503) its first ``refuse_first`` deliveries, or every delivery while ``down``
is set, to stand for a receiver that is away.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


class DedupReceiver:
    def __init__(self, secret: str, *, refuse_first: int = 0) -> None:
        self.secret = secret
        self.refuse_first = refuse_first
        self.down = threading.Event()
        self.seen = self.refused = self.duplicates = self.bad_signatures = 0
        self.processed: dict[str, dict] = {}  # webhook-id -> verified event
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["content-length"]))
                status = outer.handle({k.lower(): v for k, v in self.headers.items()}, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.seen += 1
            if self.seen <= self.refuse_first or self.down.is_set():
                self.refused += 1
                return 503
            try:
                event = Webhook(self.secret).verify(body, headers)
            except Exception:
                self.bad_signatures += 1
                return 400
            if headers["webhook-id"] in self.processed:
                self.duplicates += 1
            else:
                self.processed[headers["webhook-id"]] = event
            return 204

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
