"""Read the processes of a running stack from /proc: who they are and how much memory they hold.

Shared by bench/throughput.py and bench/adversarial.py; Linux only, no psutil needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    pid: int
    role: str  # the stack's name for the process tree it belongs to, e.g. "analysis-worker"
    parent: bool  # the celery/gunicorn main process rather than a pool child

    def rss_mb(self) -> float | None:
        """Resident set size now, in MiB (None once the process is gone)."""
        return _status_kb(self.pid, "VmRSS")

    def peak_mb(self) -> float | None:
        """Peak resident set size since the process started (VmHWM), in MiB."""
        return _status_kb(self.pid, "VmHWM")


def children(pid: int) -> list[int]:
    """Return the direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def stack_processes(processes: dict[str, object]) -> list[Proc]:
    """List every process of a Stack (``stack.processes``): each main process and its pool."""
    out = []
    for role, popen in processes.items():
        pid = popen.pid  # type: ignore[attr-defined]
        out.append(Proc(pid, role, True))
        out += [Proc(child, role, False) for child in children(pid)]
    return out


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) that ``pids`` and all their children have used so far.

    A process's own time plus what its reaped children used (``cutime``, ``cstime``), and
    the same for each live child: a pool process that exits between two readings still
    counts once, in its parent.
    """
    total = 0.0
    for pid in [*pids, *(child for pid in pids for child in children(pid))]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(tick) for tick in fields[11:15])  # utime stime cutime cstime
    return total / os.sysconf("SC_CLK_TCK")


def _status_kb(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
