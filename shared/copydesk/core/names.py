"""Name the stages, the analyses, their queues and their Celery tasks in one place.

The intake queues the prepare task by name and never imports the worker code, so both sides
read the names from here.
"""

from __future__ import annotations

from typing import Final, Literal

AnalysisName = Literal["summary", "sentiment", "topics"]
ANALYSES: Final[tuple[AnalysisName, ...]] = ("summary", "sentiment", "topics")

OPEN_TENANT: Final = "public"  # the tenant of every request when no API keys are configured
PREPARE_QUEUE: Final = "prepare"
QUEUES: Final[tuple[str, ...]] = (PREPARE_QUEUE, *ANALYSES)  # webhooks: see workers.delivery

PREPARE_TASK: Final = "copydesk.prepare"
ANALYSIS_TASKS: Final[dict[str, str]] = {name: f"copydesk.analyse.{name}" for name in ANALYSES}

# Job priorities, as kombu's Redis transport orders them: step 0 is served first. A message of
# step n sits in list "<queue>\x06\x16<n>" (step 0: "<queue>"; kombu's own separator, so
# any Celery client agrees), and a worker polls every queue's step-0 list before any step-3
# list, so a high job's stages overtake a batch's everywhere.
Priority = Literal["high", "normal", "low"]
PRIORITY_STEPS: Final[dict[str, int]] = {"high": 0, "normal": 3, "low": 6}
PRIORITY_SEPARATOR: Final = "\x06\x16"


def queue_key(queue: str, priority: str = "normal") -> str:
    """The Redis list holding ``queue``'s messages of ``priority``."""
    step = PRIORITY_STEPS[priority]
    return f"{queue}{PRIORITY_SEPARATOR}{step}" if step else queue


def queue_keys(queue: str) -> list[str]:
    """Every list of ``queue``, highest priority first."""
    return [queue_key(queue, priority) for priority in PRIORITY_STEPS]
