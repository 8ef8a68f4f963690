"""Run the prepare stage of one job: read its article, prepare it, queue its analyses.

Plain logic over the job store and ``PrepareStage``: the Celery task is a thin adapter around
``run_prepare``. Bad input becomes failed analyses with a problem object; only
infrastructure faults (Redis unreachable) propagate so the task retries. A delivery count
stops a job whose input keeps killing the worker from looping forever.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from copydesk.core import errors
from copydesk.core.errors import failed_result as failed
from copydesk.core.messages import task_message
from copydesk.core.names import ANALYSIS_TASKS, OPEN_TENANT, queue_key
from copydesk.prepare.stage import PrepareStage
from copydesk.store.base import Transition
from copydesk.store.records import JobStore
from copydesk.store.stats import prepare_stats
from copydesk.workers.failures import as_failure


def run_prepare(
    *,
    store: JobStore,
    stage: PrepareStage,
    job_id: str,
    max_deliveries: int,
    token: str = "",
    retry: bool = False,
) -> Transition:
    """Prepare the job's article and queue its analyses; a failure here ends them with a code.

    ``token`` and ``retry`` describe the delivery (see ``RedisJobStore.start_prepare``).
    """
    started = store.start_prepare(job_id, token=token, retry=retry)
    if started.outcome in ("missing", "done"):
        return started
    job, article = store.get(job_id), store.raw_article(job_id)
    if job is None:
        return Transition("missing", "")
    if article is None:  # an earlier delivery failed the job, then died before its ack
        return Transition("done", job["status"])
    if started.attempts > max_deliveries:
        lost = errors.WorkerLost(
            f"preparing this article was delivered {started.attempts - 1} times without "
            "finishing; its input may be crashing the worker"
        )
        return fail_job(store, job, lost)
    try:
        options, gone = with_label_set(store, job, job["analyses"])
        analyses = [a for a in job["analyses"] if a not in gone]
        prepared = stage.text(article, analyses=analyses, options=options)
        prepared.failures.update(gone)
    except Exception as exc:
        return fail_job(store, job, as_failure(exc, stage="prepare"))
    transition = Transition("prepared", started.status)
    for analysis, failure in prepared.failures.items():
        transition = store.record_result(job_id, analysis, failed(failure))
    save = functools.partial(
        store.save_prepared, job_id, doc=prepared.doc, article=prepared.article
    )
    ready = [
        a for a in job["analyses"] if a not in prepared.failures and a not in prepared.embedded
    ]
    if ready and prepared.embedded:  # Hugging Face analyses start before the encoder runs
        save(vectors=None, messages=_messages(job, ready), step="text")
        ready = []
    vectors = None
    parse = prepared.doc.parse
    steps = {"parse": parse.ms / 1000} if parse is not None else {}
    if prepared.embedded:
        began = time.perf_counter()
        try:
            vectors = stage.embed([prepared])[0].vectors
        except Exception as exc:
            failure = failed(as_failure(exc, stage="prepare"))
            for analysis in prepared.embedded:
                transition = store.record_result(job_id, analysis, failure)
        else:
            ready += list(prepared.embedded)
            steps["embed"] = time.perf_counter() - began
    save(
        vectors=vectors.to_bytes() if vectors is not None and ready else None,
        messages=_messages(job, ready),
        step="final",
        stats=prepare_stats(
            steps=steps,
            parse=None if parse is None else _reach(parse.end, len(prepared.doc.text)),
        ),
    )
    return transition


def _reach(end: int, length: int) -> str:
    """``whole`` when the parse read the text to its end, else ``partial`` (a budget ran out)."""
    return "whole" if end >= length else "partial"


def with_label_set(
    store: JobStore, job: dict[str, Any], analyses: list[str]
) -> tuple[dict[str, Any], dict[str, errors.AnalysisError]]:
    """The job's options with the labels of the label set version it pinned filled in when
    ``analyses`` include topics (the one that reads labels); or, when that version is gone,
    the failure of topics."""
    topics = job["options"].get("topics") or {}
    version = topics.get("label_set_version")
    if version is None or "topics" not in analyses:
        return job["options"], {}
    labels = store.label_set(job.get("tenant", OPEN_TENANT), topics["label_set"], version)
    if labels is None:
        gone = errors.LabelSetGone(
            f"label set {topics['label_set']!r} version {version} is no longer stored"
        )
        return job["options"], {"topics": gone}
    return {**job["options"], "topics": {**topics, "labels": labels}}, {}


def _messages(job: dict[str, Any], analyses: list[str]) -> list[tuple[str, str]]:
    """The analysis messages of a job, each for the list of the job's priority."""
    priority = job.get("priority", "normal")
    return [
        (
            queue_key(name, priority),
            task_message(ANALYSIS_TASKS[name], (job["id"],), queue=name, priority=priority),
        )
        for name in analyses
    ]


def fail_job(store: JobStore, job: dict[str, Any], failure: errors.CopydeskError) -> Transition:
    """Record the same failure for every analysis of the job, which ends it."""
    transition = Transition("missing", "")
    for analysis in job["analyses"]:
        transition = store.record_result(job["id"], analysis, failed(failure))
    return transition
