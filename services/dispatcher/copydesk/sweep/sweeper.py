"""Find jobs that stopped making progress and set them moving again, or end them.

Every unfinished job sits in an in-flight set, scored by when it could first be called
stalled; each step of progress (a stage starting, the text saved, a result recorded) pushes
that later. A job still there past its time lost its way: its message was deleted, held by a
worker that died, dropped by a Redis restart, or the worker running it died. The sweeper
re-queues the stage it is stuck at (``lua.SWEEP`` decides, atomically, so several sweepers
can run), and after ``COPYDESK_SWEEP_MAX_ROUNDS`` rounds fails what is left with
``job_stalled``, which ends the job and makes its webhook due.
"""

from __future__ import annotations

import logging

from copydesk.core import errors
from copydesk.core.messages import task_message
from copydesk.core.names import ANALYSIS_TASKS, PREPARE_QUEUE, PREPARE_TASK
from copydesk.core.settings import Settings
from copydesk.store.jobs import RedisJobStore

log = logging.getLogger(__name__)
BATCH = 200  # stalled jobs looked at per round


class Sweeper:
    def __init__(self, *, store: RedisJobStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def sweep(self) -> dict[str, int]:
        """Look at every stalled job once; returns how many ended in each outcome."""
        counts: dict[str, int] = {}
        for job_id in self.store.stalled(limit=BATCH):
            outcome = self.sweep_job(job_id)
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def sweep_job(self, job_id: str) -> str:
        job = self.store.get(job_id)
        analyses = list(job["analyses"]) if job else []
        priority = (job or {}).get("priority", "normal")
        outcome, stages = self.store.sweep(
            job_id,
            analyses=analyses,
            prepare_message=task_message(
                PREPARE_TASK, (job_id,), queue=PREPARE_QUEUE, priority=priority
            ),
            analysis_messages={
                name: task_message(ANALYSIS_TASKS[name], (job_id,), queue=name, priority=priority)
                for name in analyses
            },
            max_rounds=self.settings.sweep_max_rounds,
            priority=priority,
        )
        if outcome == "requeued":
            log.warning(
                "job %s made no progress for %d s: re-queued %s",
                job_id,
                self.store.stall,
                ", ".join(stages),
            )
        elif outcome == "exhausted" and job is not None:
            self._fail(job)
        return outcome

    def _fail(self, job: dict) -> None:
        rounds = self.settings.sweep_max_rounds
        stalled = errors.JobStalled(
            f"the job made no progress for {self.store.stall} s after being re-queued "
            f"{rounds} time{'s' if rounds != 1 else ''}"
        )
        log.error("job %s: %s; failing what is left", job["id"], stalled.detail)
        for analysis in job["analyses"]:
            if analysis not in job["results"]:
                self.store.record_result(job["id"], analysis, errors.failed_result(stalled))
