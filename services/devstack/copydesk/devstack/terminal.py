"""Show at ``make run``'s terminal the few log lines a person needs: one per finished job, and
every warning and error. Everything else stays in the log files.

The processes write straight to their files under var/log/ (banners, Celery's lines per
task and ONNX Runtime's warnings from C++ included); this reads those files as they grow
instead of standing between a process and its file, so a slow terminal never holds a worker
up and the files keep every line whatever happens here.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from copydesk.core.logs import Line, read_line

SHOWN = ("WARNING", "ERROR", "CRITICAL")
_GUNICORN = re.compile(r"\[([^\]]+)\] \[\d+\] \[([A-Z]+)\] (.*)")  # gunicorn's own lines
_JOB_STATUS = re.compile(r"\(job (\w+)\)$")  # the worker's "topics of job …: completed (job …)"


class Terminal:
    """Pick the lines worth a person's attention and say them briefly.

    A job's line is the worker's last stage ("completed", which the store returns once per
    job), timed from the intake's "accepted" line: one line says both that the job ran and how
    long it took. A warning said again within ``quiet_for`` seconds (by each of the intake's
    processes, or by a loop that retries) is said once.
    """

    def __init__(self, *, log_dir: Path, quiet_for: float = 60.0, remembered: int = 10_000):
        self.log_dir = log_dir
        self.quiet_for = quiet_for
        self.remembered = remembered
        self.accepted: dict[str, datetime] = {}  # job id -> when the intake accepted it
        self.said: dict[tuple[str, str], datetime] = {}  # (process, warning) -> when said

    def lines(self, read: list[tuple[str, str]]) -> list[str]:
        """What to print for lines just read from the logs, as (process, line) pairs.

        They are taken in time order: a pass reads one file after another, so a job's end
        (the worker's file) may come before its "accepted" (the intake's); within the same
        millisecond, "accepted" goes first.
        """
        entries = [(name, entry) for name, text in read if (entry := _read(text))]
        entries.sort(
            key=lambda named: (named[1].time, named[1].context.get("outcome") != "accepted")
        )
        return [said for name, entry in entries if (said := self._say(name, entry))]

    def _say(self, name: str, entry: Line) -> str | None:
        if entry.level in SHOWN:
            return self._problem(name, entry)
        job_id, outcome = entry.context.get("job_id"), entry.context.get("outcome")
        if job_id and outcome == "accepted":
            if len(self.accepted) >= self.remembered:  # jobs that never end: forget the oldest
                del self.accepted[next(iter(self.accepted))]
            self.accepted[job_id] = entry.time
        elif job_id and outcome == "completed":
            found = _JOB_STATUS.search(entry.message)
            began = self.accepted.pop(job_id, None)
            took = f" in {(entry.time - began).total_seconds():.2f} s" if began else ""
            return f"{_clock(entry.time)} job {job_id} {found[1] if found else 'ended'}{took}"
        return None

    def _problem(self, name: str, entry: Line) -> str | None:
        key = (name, entry.message)
        last = self.said.get(key)
        if last is not None and abs((entry.time - last).total_seconds()) < self.quiet_for:
            return None
        if len(self.said) >= self.remembered:
            self.said.clear()
        self.said[key] = entry.time
        said = f"{_clock(entry.time)} {entry.level} {name}: {entry.message}"
        if entry.level != "WARNING":
            said += f"  (more in {shown_path(self.log_dir / f'{name}.log')})"
        return said


class Follower:
    """Read every ``*.log`` of a folder as it grows, from where each ends now."""

    def __init__(
        self, log_dir: Path, each: Callable[[list[tuple[str, str]]], None], *, every: float = 0.2
    ) -> None:
        self.log_dir = log_dir
        self.each = each  # called after each pass with (process, line): the file's stem, a line
        self.every = every
        self.offsets = {path: path.stat().st_size for path in log_dir.glob("*.log")}
        self.partial: dict[Path, bytes] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> Follower:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopping.wait(self.every):
            self.read()

    def read(self) -> None:
        """Hand on the lines written since the last read (a file that appeared: all of it)."""
        read = [
            (path.stem, text)
            for path in sorted(self.log_dir.glob("*.log"))
            for text in self._new_lines(path)
        ]
        if read:
            self.each(read)

    def _new_lines(self, path: Path, *, most: int = 1 << 20) -> list[str]:
        try:
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < self.offsets.get(path, 0):  # truncated: start again
                    self.offsets[path], self.partial[path] = 0, b""
                file.seek(self.offsets.get(path, 0))
                data = file.read(min(most, size - self.offsets.get(path, 0)))
        except OSError:  # gone, or not readable: the process's own output is unaffected
            return []
        self.offsets[path] = self.offsets.get(path, 0) + len(data)
        *lines, rest = (self.partial.get(path, b"") + data).split(b"\n")
        self.partial[path] = rest[-(64 << 10) :]  # a line longer than 64 KiB is cut
        return [line.decode("utf-8", "replace") for line in lines]


def shown_path(path: Path) -> str:
    """``path`` as a person would type it here: relative under the current folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read(text: str) -> Line | None:
    """A copydesk log line, or gunicorn's own (``[time] [pid] [LEVEL] message``)."""
    if (line := read_line(text)) is not None:
        return line
    found = _GUNICORN.fullmatch(text.rstrip("\r\n"))
    if found is None:
        return None
    try:
        when = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return None
    return Line(when, found[2], "intake", "gunicorn.error", found[3], {})


def _clock(when: datetime) -> str:
    return when.astimezone().strftime("%H:%M:%S")
