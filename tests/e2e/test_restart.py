"""Ctrl-C on ``make run``, then ``make run`` again at once: the worker report never counts
the processes that stopped, and counts each new one only once its models are loaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests

from copydesk.devstack.redis_server import RedisServer, free_port
from copydesk.devstack.waiting import wait_for
from copydesk.store import presence


def _make_run(env: dict[str, str], terminal: Path) -> subprocess.Popen[bytes]:
    with terminal.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "copydesk.devstack"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
        )


def _ctrl_c(devstack: subprocess.Popen[bytes]) -> None:
    """What Ctrl-C does: SIGINT to the whole process group, then wait for it to stop."""
    os.killpg(devstack.pid, signal.SIGINT)
    try:
        devstack.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(devstack.pid, signal.SIGKILL)
        devstack.wait(timeout=10)


@pytest.mark.timeout(400)
def test_after_ctrl_c_and_an_immediate_restart_no_old_process_counts(tmp_path: Path) -> None:
    server = RedisServer(data_dir=tmp_path / "redis", port=free_port()).start()
    client = redis.Redis.from_url(server.url)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPYDESK_")}
    env |= {"COPYDESK_HTTP_HOST": "127.0.0.1", "COPYDESK_HTTP_PORT": str(port),
            "COPYDESK_VAR_DIR": str(tmp_path / "var"), "COPYDESK_REDIS_URL": server.url}  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    running: list[subprocess.Popen[bytes]] = []
    try:
        first = _make_run(env, tmp_path / "first.txt")
        running.append(first)
        wait_for(lambda: "Ctrl-C" in (tmp_path / "first.txt").read_text(), timeout=150, every=0.5)
        old = {(p["host"], p["pid"]) for p in presence.live(client)}
        assert len(old) >= 2  # the worker's pool processes and the dispatcher
        _ctrl_c(first)
        assert presence.live(client) == []  # each withdrew as it stopped, not 30 s later

        second = _make_run(env, tmp_path / "second.txt")
        running.append(second)
        counted: list[dict] = []

        def complete() -> dict | None:
            processes = presence.live(client)
            assert not {(p["host"], p["pid"]) for p in processes} & old
            counted.extend(processes)
            try:
                report = requests.get(url + "/v1/workers", timeout=5)
            except requests.RequestException:
                return None
            return report.json() if report.json()["status"] == "ok" else None

        report = wait_for(complete, timeout=150, every=0.2)
        assert report["missing"] == [] and report["dispatchers"] == 1
        workers = presence.workers(counted)
        assert workers and all(w["models_loaded"] for w in workers)
        assert all("encoder" in w["models"] for w in workers if "prepare" in w["queues"])
    finally:
        for devstack in running:
            if devstack.poll() is None:
                _ctrl_c(devstack)
        client.close()
        server.stop()
