"""Run one stage of one job (prepare, or one analysis) and record its outcome.

Plain logic over the job store and the stages: the Celery tasks are thin adapters around
these functions. Bad input and unsupported requests become a failed analysis with a problem
object; only infrastructure faults (Redis unreachable) propagate so the task retries. A
delivery count stops a job whose input keeps killing the worker from looping forever, and an
input that needs more memory than the process may use fails with ``resource_exhausted``.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from copydesk.prepare.stage import PrepareStage
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.prepare.vectors import DocVectors
from copydesk.core import errors
from copydesk.core.messages import task_message
from copydesk.core.names import ANALYSIS_TASKS, OPEN_TENANT, queue_key
from copydesk.core.errors import failed_result as failed
from copydesk.store.base import Transition
from copydesk.store.records import JobStore

log = logging.getLogger(__name__)


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
        options, gone = _with_label_set(store, job, job["analyses"])
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
    if prepared.embedded:
        try:
            vectors = stage.embed([prepared])[0].vectors
        except Exception as exc:
            failure = failed(as_failure(exc, stage="prepare"))
            for analysis in prepared.embedded:
                transition = store.record_result(job_id, analysis, failure)
        else:
            ready += list(prepared.embedded)
    save(
        vectors=vectors.to_bytes() if vectors is not None and ready else None,
        messages=_messages(job, ready),
        step="final",
    )
    return transition


def _with_label_set(
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


def run_analysis(
    *,
    store: JobStore,
    registry: AnalyserRegistry,
    job_id: str,
    analysis: str,
    max_deliveries: int,
    token: str = "",
    retry: bool = False,
    max_result_bytes: int = 1_000_000,
) -> Transition:
    """Analyse, record, and return the store transition (``completed`` once per job)."""
    started = store.start_analysis(job_id, analysis, token=token, retry=retry)
    if started.outcome in ("missing", "done"):
        return started
    if started.attempts > max_deliveries:
        failure = errors.WorkerLost(
            f"the {analysis} analysis was delivered {started.attempts - 1} times without "
            "finishing; its input may be crashing the worker"
        )
        return store.record_result(job_id, analysis, failed(failure))
    job = store.get(job_id)
    doc = store.document(job_id)
    if job is None or doc is None:
        return Transition("missing", "")
    raw = store.vectors(job_id)
    vectors = DocVectors.from_bytes(raw, doc) if raw is not None else None
    options, gone = _with_label_set(store, job, [analysis])
    if analysis in gone:
        return store.record_result(job_id, analysis, failed(gone[analysis]))
    result = analyse(
        registry=registry,
        analysis=analysis,
        doc=doc,
        options=options[analysis],
        vectors=vectors,
        max_bytes=max_result_bytes,
    )
    return store.record_result(job_id, analysis, result)


def analyse(
    *,
    registry: AnalyserRegistry,
    analysis: str,
    doc: Any,
    options: dict[str, Any],
    vectors: DocVectors | None = None,
    max_bytes: int = 1_000_000,
) -> dict[str, Any]:
    """Return the JSON-ready result for one analysis, success or failure, of at most
    ``max_bytes`` (see :func:`bounded`)."""
    began = time.perf_counter()
    try:
        analyser = registry.for_request(analysis, options)
        result = analyser(doc, options, vectors=vectors)
    except Exception as exc:
        return failed(as_failure(exc, stage=analysis))
    result = {"status": "succeeded", **result}
    result["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 1)
    return bounded(result, max_bytes=max_bytes, analysis=analysis)


LISTS = ("sentences", "labels")  # the per-item lists a result may trim


def bounded(result: dict[str, Any], *, max_bytes: int, analysis: str) -> dict[str, Any]:
    """Keep a stored result under ``max_bytes`` of JSON: its per-sentence (or per-label) list
    is cut to the longest prefix that fits, and the result says so (``truncated: true``, with
    ``<list>_total``). A result that still does not fit fails with ``result_too_large``."""

    def size(candidate: dict[str, Any]) -> int:
        return len(json.dumps(candidate, ensure_ascii=False).encode())

    if size(result) <= max_bytes:
        return result
    for key in LISTS:
        items = result.get(key)
        if not isinstance(items, list) or not items:
            continue
        low, high = 0, len(items)  # the longest prefix that fits lies in [low, high]
        while low < high:
            middle = (low + high + 1) // 2
            trial = {**result, key: items[:middle], "truncated": True}
            if size(trial) <= max_bytes:
                low = middle
            else:
                high = middle - 1
        result = {**result, key: items[:low], "truncated": True, f"{key}_total": len(items)}
        if size(result) <= max_bytes:
            return result
    return failed(
        errors.ResultTooLarge(
            f"the {analysis} result needs more than {max_bytes} bytes "
            "(COPYDESK_MAX_RESULT_BYTES), even with its lists trimmed"
        )
    )


def as_failure(exc: Exception, *, stage: str) -> errors.CopydeskError:
    """Name what went wrong as a problem; infrastructure faults re-raise so the task retries."""
    if isinstance(exc, redis.RedisError):
        raise exc
    if isinstance(exc, errors.AnalysisError):
        return exc
    if isinstance(exc, SoftTimeLimitExceeded):
        return errors.AnalysisTimeout(f"the {stage} stage ran out of time")
    if is_out_of_memory(exc):
        log.warning("%s stage ran out of memory: %s", stage, exc)
        return errors.ResourceExhausted(
            f"the {stage} stage needed more memory than a worker process may use "
            "(COPYDESK_WORKER_MEMORY_LIMIT_MB)"
        )
    log.exception("%s stage crashed", stage)
    return errors.InternalAnalysisError(f"the {stage} stage crashed: {type(exc).__name__}")


def is_out_of_memory(exc: BaseException) -> bool:
    """Tell allocation failures apart: numpy raises MemoryError, torch a RuntimeError, ONNX
    Runtime its own RuntimeException naming C++'s ``std::bad_alloc``."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return any(sign in text for sign in ("can't allocate memory", "out of memory", "bad_alloc"))
