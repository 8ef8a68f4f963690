"""One log format for every copydesk process: JSON lines by default, readable under make run.

``COPYDESK_LOG_FORMAT=json`` (default) writes one JSON object per line with the time, level,
logger, component (intake, worker, dispatcher), message and the fields passed as
``extra={"job_id": ..., "tenant": ...}``, so the lines of one job can be found by its id in
every process. ``console`` writes the same as text. Article text is never logged: tasks carry
job ids only, and copydesk's own lines name ids, stages, outcomes and timings.
"""

from __future__ import annotations

import json
import logging
import sys
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
