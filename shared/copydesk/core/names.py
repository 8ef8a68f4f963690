"""Name the stages, the analyses, their queues and their Celery tasks in one place.

The intake queues the prepare task by name and never imports the worker code, so both sides
read the names from here.
"""

from __future__ import annotations

from typing import Final, Literal

AnalysisName = Literal["summary", "sentiment", "topics"]
ANALYSES: Final[tuple[AnalysisName, ...]] = ("summary", "sentiment", "topics")

PREPARE_QUEUE: Final = "prepare"
QUEUES: Final[tuple[str, ...]] = (PREPARE_QUEUE, *ANALYSES)  # webhooks: see workers.delivery

PREPARE_TASK: Final = "copydesk.prepare"
ANALYSIS_TASKS: Final[dict[str, str]] = {name: f"copydesk.analyse.{name}" for name in ANALYSES}
