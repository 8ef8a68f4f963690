"""One log format for every copydesk process: JSON lines by default, readable under make run.

``COPYDESK_LOG_FORMAT=json`` (default) writes one JSON object per line with the time, level,
logger, component (intake, worker, dispatcher), message and the fields passed as
``extra={"job_id": ..., "tenant": ...}``, so the lines of one job can be found by its id in
every process. ``console`` writes the same as text. Article text is never logged: tasks carry
job ids only, and copydesk's own lines name ids, stages, outcomes and timings. ``read_line``
reads either format back (``make run`` picks a few lines of its processes' logs to show).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

CONTEXT = ("job_id", "tenant", "stage", "analysis", "outcome", "ms", "batch_id", "attempt")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "component": self.component,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {component} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = [f"{key}={getattr(record, key)}" for key in CONTEXT if hasattr(record, key)]
        return f"{text} [{' '.join(context)}]" if context else text


def configure(component: str, *, fmt: str = "json", level: str = "INFO") -> None:
    """Send every log line of this process to stderr in ``fmt``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component) if fmt == "json" else ConsoleFormatter(component))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


@dataclass(frozen=True, slots=True)
class Line:
    """One log line read back into the fields a formatter wrote."""

    time: datetime
    level: str
    component: str
    logger: str
    message: str
    context: dict[str, str]


_CONSOLE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ([A-Z]+) (\S+) (\S+): (.*)")
_CONTEXT = re.compile(r"(.*) \[(\w+=\S*(?: \w+=\S*)*)\]")


def read_line(text: str) -> Line | None:
    """Read a line either formatter wrote; None for any other line (a banner, a traceback)."""
    text = text.rstrip("\r\n")
    if text.startswith("{"):
        try:
            entry = json.loads(text)
            when = datetime.fromisoformat(entry["ts"]).astimezone()
            level, component, logger, message = (
                str(entry[key]) for key in ("level", "component", "logger", "message")
            )
        except (ValueError, KeyError, TypeError):
            return None
        context = {key: str(entry[key]) for key in CONTEXT if key in entry}
        return Line(when, level.upper(), component, logger, message, context)
    console = _CONSOLE.fullmatch(text)
    if console is None:
        return None
    stamp, level, component, logger, message = console.groups()
    context: dict[str, str] = {}
    tail = _CONTEXT.fullmatch(message)
    if tail is not None:
        pairs = {k: v for k, _, v in (pair.partition("=") for pair in tail.group(2).split())}
        if pairs.keys() <= set(CONTEXT):
            message, context = tail.group(1), pairs
    when = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").astimezone()  # asctime: local
    return Line(when, level, component, logger, message, context)
