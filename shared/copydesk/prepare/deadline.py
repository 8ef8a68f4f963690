"""Run a function in a forked child with a wall-clock deadline, for work that can stall.

HTML extraction spends its time inside lxml's C code, where neither a signal handler nor a
thread can stop it; a child process can be killed. Forking copies nothing up front (pages are
shared copy-on-write), so this costs a few milliseconds, and the child inherits the parent's
memory cap. POSIX only, like the workers.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The child did not finish in time and was killed."""


class ChildFailed(Exception):
    """The child died or raised; the message says how."""


def call_with_deadline(func: Callable[[], T], *, seconds: float) -> T:
    """Return ``func()`` computed in a child process; raise DeadlineExceeded past ``seconds``."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: compute, send the pickled outcome, leave without cleanup handlers
        os.close(read_end)
        code = 0
        try:
            payload = pickle.dumps(("ok", func()))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload, code = pickle.dumps(("error", f"{type(exc).__name__}: {exc}")), 1
        try:
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data = _read_until(read_end, deadline=time.monotonic() + seconds)
    except DeadlineExceeded:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    if not data:
        raise ChildFailed("the child process died without an answer")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise ChildFailed(value)
    return value


def _read_until(fd: int, *, deadline: float) -> bytes:
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            raise DeadlineExceeded
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
