"""End-to-end fixtures: the whole stack as ``make run`` starts it, driven over HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest
import requests

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec example
KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}  # two tenants
METRICS_KEY = "prometheus-key-0123456789"  # the scraper's own: tenant keys do not open /metrics
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


STACK_ENV = {
    "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
    "COPYDESK_WEBHOOK_SECRET": SECRET,
    "COPYDESK_WEBHOOK_RETRY_DELAYS": "0.5,0.5,0.5",
    "COPYDESK_API_KEYS": ",".join(f"{name}:{key}" for name, key in KEYS.items()),
    "COPYDESK_METRICS_KEY": METRICS_KEY,
    "COPYDESK_RATE_LIMIT": "100000/minute",
}  # the session's stack: two tenants, fast webhook retries, no rate limit to speak of


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("stack")
    running = Stack(
        var_dir=var,
        http_port=free_port(),
        log_dir=var / "logs",
        flower_port=free_port(),
        extra_env=STACK_ENV,
    )
    try:
        running.start(timeout=120)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def start_archived_stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str, dict[str, str]], Stack]]:
    """Start a stack of the module's own with the archive on (on its own embedded
    PostgreSQL): ``start(name, env)``, its settings in ``env``. Stopped when the module ends."""
    started: list[Stack] = []

    def start(name: str, env: dict[str, str]) -> Stack:
        var = tmp_path_factory.mktemp(name)
        running = Stack(
            var_dir=var, http_port=free_port(), log_dir=var / "logs", archive=True, extra_env=env
        )
        started.append(running)  # stopped even when it fails to start
        return running.start(timeout=180)

    yield start
    for running in reversed(started):
        running.stop()


@pytest.fixture(scope="module")
def start_intake(
    start_archived_stack: Callable[..., Stack],
) -> Iterator[Callable[..., str]]:
    """Start a stack's intake command again on another port, ``workers`` processes (the
    stack's number when None) and the settings in ``without`` left out: ``start(stack, name,
    ...)`` returns its URL once it is ready. Stopped when the module ends, before its stack."""
    started: list[subprocess.Popen[bytes]] = []

    def start(
        stack: Stack, name: str, *, workers: int | None = None, without: tuple[str, ...] = ()
    ) -> str:
        port, var = free_port(), stack.var_dir
        args = list(stack.commands["intake"][0])
        args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
        if workers is not None:
            args[args.index("--workers") + 1] = str(workers)
        metrics = var / f"prometheus-{name}"
        metrics.mkdir(exist_ok=True)
        env = stack.env() | {
            "COPYDESK_HTTP_PORT": str(port),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        for setting in without:
            del env[setting]
        with (var / "logs" / f"{name}-intake.log").open("ab") as log:
            process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.poll() is None, f"the {name} intake exited with {process.returncode}"
            try:
                return requests.get(url + "/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout=60, every=0.2)
        return url

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


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
