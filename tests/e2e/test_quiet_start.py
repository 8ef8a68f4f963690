"""``make run`` (``python -m copydesk.devstack``) keeps its terminal short: where things are,
then a line per finished job; the processes' own output goes to var/log/<process>.log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.waiting import wait_for

MOST_LINES = 25  # the welcome (about 15 lines), a warning or two, a job line, "stopping"
NEVER_SHOWN = (
    "celery@",
    "-------------- ",
    "[tasks]",
    "[queues]",
    "Booting worker",
    "Task copydesk.",
)


@pytest.mark.timeout(280)
def test_make_run_prints_where_things_are_and_a_line_per_job(tmp_path: Path) -> None:
    port, var = free_port(), tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if not key.startswith("COPYDESK_")}
    env |= {"COPYDESK_HTTP_HOST": "127.0.0.1", "COPYDESK_HTTP_PORT": str(port),
            "COPYDESK_VAR_DIR": str(var)}  # fmt: skip
    terminal = tmp_path / "terminal.txt"
    with terminal.open("wb") as output:
        devstack = subprocess.Popen(
            [sys.executable, "-m", "copydesk.devstack"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to clean up after a failure
        )
    try:
        wait_for(lambda: "Ctrl-C" in terminal.read_text() or devstack.poll() is not None,
                 timeout=150, every=0.5)  # fmt: skip
        assert devstack.poll() is None, terminal.read_text()
        url = f"http://127.0.0.1:{port}"
        article = {"title": "Storm closes ports", "text": "A storm closed three ports on Monday."}
        job_id = requests.post(f"{url}/v1/jobs", json={"article": article}, timeout=30).json()["id"]
        wait_for(lambda: f"job {job_id} " in terminal.read_text(), timeout=90, every=0.5)
    finally:
        devstack.send_signal(signal.SIGINT)  # as Ctrl-C: it stops what it started
        try:
            devstack.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(devstack.pid, signal.SIGKILL)
            devstack.wait(timeout=10)
    shown = terminal.read_text()
    assert len(shown.splitlines()) <= MOST_LINES, shown
    assert f"copydesk is running at {url}" in shown
    assert f"{url}/docs" in shown and f"{url}/openapi.json" in shown and f"{url}/metrics" in shown
    assert str(var / "log") in shown
    assert f" job {job_id} succeeded in " in shown
    for noise in NEVER_SHOWN:
        assert noise not in shown, noise
    worker_log = (var / "log" / "analysis-worker.log").read_text()
    assert "[tasks]" in worker_log and job_id in worker_log and "Task copydesk." in worker_log
    assert "Listening at" in (var / "log" / "intake.log").read_text()
    assert (var / "log" / "dispatcher.log").exists()
