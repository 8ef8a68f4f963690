"""Register copydesk's Celery tasks: thin adapters around each stage's run function.

One task per stage: prepare, then one per analysis of the analysis table. Each takes a job id,
nothing more. Guarantees stand on the decorator: late acks, re-delivery when the worker dies,
retries with backoff on what ``failures.is_retryable`` calls retryable (Redis unreachable). Ending a job makes its webhook due inside the store's own
script; the dispatcher (``copydesk.deliver.dispatcher``) delivers it.
"""

from __future__ import annotations

import logging
import time
from functools import cached_property

import redis
from celery import Celery, Task

from copydesk.analyse.registry import AnalyserRegistry, registry_for
from copydesk.analyse.run import run_analysis
from copydesk.core import errors
from copydesk.core.errors import failed_result as failed
from copydesk.core.names import ANALYSIS_TASKS, PREPARE_QUEUE, PREPARE_TASK
from copydesk.core.settings import Settings
from copydesk.prepare.run import fail_job, run_prepare
from copydesk.prepare.stage import PrepareStage
from copydesk.store.base import Transition
from copydesk.store.jobs import RedisJobStore
from copydesk.workers.failures import retryable_errors
from copydesk.workers.process import release_memory

log = logging.getLogger(__name__)


class CopydeskTask(Task):
    """Base task holding the process-wide store and analyser registry."""

    abstract = True
    settings: Settings
    stage: str = ""  # the queue it serves: prepare, or its analysis

    @cached_property
    def store(self) -> RedisJobStore:
        return RedisJobStore.from_settings(self.settings)

    @property
    def registry(self) -> AnalyserRegistry:
        return registry_for(self.settings)

    @cached_property
    def prepare_stage(self) -> PrepareStage:
        return PrepareStage(self.registry)

    def delivery(self) -> dict[str, object]:
        """Name the message being run: a retry the task sent after a Redis error is no crash."""
        retries = int(self.request.retries or 0)
        return {"token": f"{self.request.id}:{retries}", "retry": retries > 0}

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        """Fail the stage when the task itself gave up, so the job still ends."""
        stage = self.stage
        if not stage or not args:
            return
        job_id = args[0]
        log.error("%s of job %s gave up: %r", stage, job_id, exc)
        crash = errors.InternalAnalysisError(f"the {stage} task gave up: {type(exc).__name__}")
        try:
            if stage == PREPARE_QUEUE:
                job = self.store.get(job_id)
                transition = fail_job(self.store, job, crash) if job else Transition("missing", "")
            else:
                transition = self.store.record_result(job_id, stage, failed(crash))
            _after(job_id, transition, stage=stage)
        except redis.RedisError:
            log.exception("could not record the failure of %s for job %s", stage, job_id)


def register(app: Celery, settings: Settings) -> None:
    """Attach the prepare task and one analysis task per queue to ``app``."""
    base = type("BoundCopydeskTask", (CopydeskTask,), {"settings": settings, "abstract": True})
    common = {
        "base": base,
        "shared": False,
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": retryable_errors(),
        "retry_backoff": True,
        "retry_backoff_max": 60,
        "max_retries": 20,
    }
    app.task(name=PREPARE_TASK, queue=PREPARE_QUEUE, stage=PREPARE_QUEUE, **common)(prepare)
    for analysis, name in ANALYSIS_TASKS.items():
        app.task(name=name, queue=analysis, stage=analysis, **common)(_analysis_task(analysis))


def prepare(self: CopydeskTask, job_id: str) -> str:
    """Prepare one job's article and fan out to its analysis queues."""
    began = time.perf_counter()
    try:
        transition = run_prepare(
            store=self.store,
            stage=self.prepare_stage,
            job_id=job_id,
            max_deliveries=self.settings.task_max_deliveries,
            **self.delivery(),
        )
    finally:
        release_memory()
    _after(job_id, transition, stage="prepare", began=began)
    return transition.outcome


def _analysis_task(analysis: str):  # noqa: ANN202 - returns a task body
    def analyse(self: CopydeskTask, job_id: str) -> str:
        began = time.perf_counter()
        transition = run_analysis(
            store=self.store,
            registry=self.registry,
            job_id=job_id,
            analysis=analysis,
            max_deliveries=self.settings.task_max_deliveries,
            max_result_bytes=self.settings.max_result_bytes,
            **self.delivery(),
        )
        _after(job_id, transition, stage=analysis, began=began)
        return transition.outcome

    analyse.__name__ = f"analyse_{analysis}"
    analyse.__doc__ = f"Run the {analysis} analysis of one job."
    return analyse


def _after(
    job_id: str, transition: Transition, *, stage: str = "", began: float | None = None
) -> None:
    """Log what the stage did, with the job's id (never its text)."""
    if transition.outcome == "missing":
        log.warning("job %s no longer exists; dropping its task", job_id, extra={"job_id": job_id})
        return
    context = {"job_id": job_id, "stage": stage, "outcome": transition.outcome}
    if began is not None:
        context["ms"] = round((time.perf_counter() - began) * 1000, 1)
    log.info("%s of job %s: %s (job %s)", stage, job_id, transition.outcome, transition.status,
             extra=context)  # fmt: skip
