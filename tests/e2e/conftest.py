"""End-to-end fixtures: the whole stack as ``make run`` starts it, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec example
KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}  # two tenants
METRICS_KEY = "prometheus-key-0123456789"  # the scraper's own: tenant keys do not open /metrics
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("stack")
    running = Stack(
        var_dir=var,
        http_port=free_port(),
        log_dir=var / "logs",
        flower_port=free_port(),
        extra_env={
            "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "COPYDESK_WEBHOOK_SECRET": SECRET,
            "COPYDESK_WEBHOOK_RETRY_DELAYS": "0.5,0.5,0.5",
            "COPYDESK_API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items()),
            "COPYDESK_METRICS_KEY": METRICS_KEY,
            "COPYDESK_RATE_LIMIT": "100000/minute",
        },
    )
    try:
        running.start(timeout=120)
        yield running
    finally:
        running.stop()


class Jobs:
    """Submit and poll jobs over HTTP."""

    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    def submit(self, body: dict | str | bytes, **headers: str) -> requests.Response:
        if isinstance(body, dict):
            return self.session.post(self.base_url + "/v1/jobs", json=body, timeout=30)
        headers.setdefault("Content-Type", "application/json")
        return self.session.post(self.base_url + "/v1/jobs", data=body, headers=headers, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base_url + path, timeout=10)

    def finished(self, job_id: str, *, timeout: float) -> dict:
        def poll() -> dict | None:
            job = self.get(f"/v1/jobs/{job_id}").json()
            return job if job["status"] in TERMINAL else None

        return wait_for(poll, timeout=timeout, every=0.25)


@pytest.fixture(scope="session")
def jobs(stack: Stack) -> Iterator[Jobs]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEYS['alice']}"
        yield Jobs(session, stack.base_url)
