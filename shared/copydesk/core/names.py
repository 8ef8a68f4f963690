"""Name the stages, the analyses, their queues and Celery tasks, and the job statuses.

The intake queues the prepare task by name and never imports the worker code, so both sides
read the names from here. The analyses, their queues and tasks are read from the analysis
table (:mod:`copydesk.core.analyses`) each time they are used, so an analysis registered at
run time is in them. Standard library only: the Python client imports the statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Final, Literal, get_args, overload

from copydesk.core.analyses import REGISTRY

OPEN_TENANT: Final = "public"  # the tenant of every request when no API keys are configured
PREPARE_QUEUE: Final = "prepare"
PREPARE_TASK: Final = "copydesk.prepare"

JobStatus = Literal["queued", "running", "succeeded", "partially_succeeded", "failed", "cancelled"]
JOB_STATUSES: Final[tuple[str, ...]] = get_args(JobStatus)
TERMINAL_STATUSES: Final = frozenset({"succeeded", "partially_succeeded", "failed", "cancelled"})


def is_terminal(status: str) -> bool:
    return status in TERMINAL_STATUSES


def analysis_task(analysis: str) -> str:
    """The Celery task that runs ``analysis``; its queue has the analysis's own name."""
    return f"copydesk.analyse.{analysis}"


class Names(Sequence[str]):
    """A tuple of names computed from the analysis table each time it is read."""

    def __init__(self, compute: Callable[[], tuple[str, ...]]) -> None:
        self._compute = compute

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._compute()[index]

    def __len__(self) -> int:
        return len(self._compute())

    def __iter__(self) -> Iterator[str]:
        return iter(self._compute())

    def __contains__(self, name: object) -> bool:
        return name in self._compute()

    def __repr__(self) -> str:
        return repr(self._compute())


class Tasks(Mapping[str, str]):
    """Each analysis's Celery task, read from the analysis table each time."""

    def __getitem__(self, analysis: str) -> str:
        if analysis not in REGISTRY:
            raise KeyError(analysis)
        return analysis_task(analysis)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(REGISTRY))

    def __len__(self) -> int:
        return len(REGISTRY)


ANALYSES: Final = Names(lambda: tuple(REGISTRY))
DEFAULT_ANALYSES: Final = Names(lambda: tuple(n for n, a in REGISTRY.items() if a.default))
QUEUES: Final = Names(lambda: (PREPARE_QUEUE, *REGISTRY))  # webhooks: see copydesk.deliver
ANALYSIS_TASKS: Final = Tasks()

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
