"""A stack that does not come up leaves nothing running: a benchmark or test that fails in
Stack.start (a process exited, or readiness timed out) has no try/finally to stop it yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack


def test_a_start_that_fails_stops_every_process_it_started(tmp_path: Path) -> None:
    stack = Stack(var_dir=tmp_path, http_port=free_port(), log_dir=tmp_path / "logs")
    try:
        with pytest.raises(RuntimeError, match="did not become ready"):
            stack.start(timeout=0.5)  # too short for any model to load
        assert stack.processes  # the intake, the worker and the dispatcher had been spawned
        assert all(process.poll() is not None for process in stack.processes.values())
        assert stack.redis is not None and stack.redis.process is not None
        assert stack.redis.process.poll() is not None
    finally:
        stack.stop()  # what the test checks start did; here only if it did not
