"""Register copydesk's Celery tasks: thin adapters around the runner and the webhook sender.

One task per stage: prepare, then one per analysis, then the webhook. Each takes a job id,
nothing more. Guarantees stand on the decorator: late acks,
re-delivery when the worker dies, retries with backoff when Redis is unreachable.
"""

from __future__ import annotations

import logging
from functools import cached_property

import redis
from celery import Celery, Task

from copydesk.analysis.prepare import PrepareStage
from copydesk.analysis.registry import AnalyserRegistry, registry_for
from copydesk.core import errors
from copydesk.core.names import (
    ANALYSIS_TASKS,
    PREPARE_QUEUE,
    PREPARE_TASK,
    WEBHOOK_QUEUE,
    WEBHOOK_TASK,
)
from copydesk.core.settings import Settings
from copydesk.core.store import RedisJobStore, Transition, is_terminal
from copydesk.workers import delivery
from copydesk.workers.process import release_memory
from copydesk.workers.runner import fail_job, failed, run_analysis, run_prepare

log = logging.getLogger(__name__)
_ANALYSIS_BY_TASK = {task: analysis for analysis, task in ANALYSIS_TASKS.items()}
INFRASTRUCTURE_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class CopydeskTask(Task):
    """Base task holding the process-wide store and analyser registry."""

    abstract = True
    settings: Settings

    @cached_property
    def store(self) -> RedisJobStore:
        return RedisJobStore.from_url(
            self.settings.redis_url, ttl_seconds=self.settings.job_ttl_seconds
        )

    @property
    def registry(self) -> AnalyserRegistry:
        return registry_for(self.settings)

    @cached_property
    def prepare_stage(self) -> PrepareStage:
        return PrepareStage(self.registry)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # noqa: ANN001
        """Fail the stage when the task itself gave up, so the job still ends."""
        stage = PREPARE_QUEUE if self.name == PREPARE_TASK else _ANALYSIS_BY_TASK.get(self.name)
        if stage is None or not args:
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
            _after(self, job_id, transition)
        except redis.RedisError:
            log.exception("could not record the failure of %s for job %s", stage, job_id)


def register(app: Celery, settings: Settings) -> None:
    """Attach one analysis task per queue and the webhook task to ``app``."""
    base = type("BoundCopydeskTask", (CopydeskTask,), {"settings": settings, "abstract": True})
    common = {
        "base": base,
        "shared": False,
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": INFRASTRUCTURE_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": 60,
        "max_retries": 20,
    }
    app.task(name=PREPARE_TASK, queue=PREPARE_QUEUE, **common)(prepare)
    for analysis, name in ANALYSIS_TASKS.items():
        app.task(name=name, queue=analysis, **common)(_analysis_task(analysis))
    app.task(name=WEBHOOK_TASK, queue=WEBHOOK_QUEUE, **common)(delivery.deliver_webhook_task)


def prepare(self: CopydeskTask, job_id: str) -> str:
    """Prepare one job's article and fan out to its analysis queues."""
    try:
        transition = run_prepare(
            store=self.store,
            stage=self.prepare_stage,
            job_id=job_id,
            max_deliveries=self.settings.task_max_deliveries,
        )
    finally:
        release_memory()
    _after(self, job_id, transition)
    return transition.outcome


def _analysis_task(analysis: str):  # noqa: ANN202 - returns a task body
    def analyse(self: CopydeskTask, job_id: str) -> str:
        transition = run_analysis(
            store=self.store,
            registry=self.registry,
            job_id=job_id,
            analysis=analysis,
            max_deliveries=self.settings.task_max_deliveries,
        )
        _after(self, job_id, transition)
        return transition.outcome

    analyse.__name__ = f"analyse_{analysis}"
    analyse.__doc__ = f"Run the {analysis} analysis of one job."
    return analyse


def _after(task: CopydeskTask, job_id: str, transition: Transition) -> None:
    """Queue the webhook once the job is terminal; also on re-delivery after a crash."""
    if transition.outcome == "missing":
        log.warning("job %s no longer exists; dropping its task", job_id)
        return
    if is_terminal(transition.status):
        delivery.ensure_queued(task.app, task.store, job_id)
