"""Name the analyses, their queues and their Celery tasks in one place.

The intake sends tasks by name and never imports the worker code, so both sides read the
names from here.
"""

from __future__ import annotations

from typing import Final, Literal

AnalysisName = Literal["summary", "sentiment", "topics"]
ANALYSES: Final[tuple[AnalysisName, ...]] = ("summary", "sentiment", "topics")

WEBHOOK_QUEUE: Final = "webhooks"
QUEUES: Final[tuple[str, ...]] = (*ANALYSES, WEBHOOK_QUEUE)

ANALYSIS_TASKS: Final[dict[str, str]] = {name: f"copydesk.analyse.{name}" for name in ANALYSES}
WEBHOOK_TASK: Final = "copydesk.deliver_webhook"
