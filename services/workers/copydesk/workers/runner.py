"""Run one analysis of one job and record its outcome; no Celery in here.

Bad input and unsupported requests become a failed analysis with a problem object; only
infrastructure faults (Redis unreachable) propagate so the task retries. A delivery count
stops a job whose input keeps killing the worker from looping forever.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded

from copydesk.analysis.registry import AnalyserRegistry
from copydesk.core import errors
from copydesk.core.store import JobStore, Transition

log = logging.getLogger(__name__)


def run_analysis(
    *,
    store: JobStore,
    registry: AnalyserRegistry,
    job_id: str,
    analysis: str,
    max_deliveries: int,
) -> Transition:
    """Analyse, record, and return the store transition (``completed`` once per job)."""
    started = store.start_analysis(job_id, analysis)
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
    result = analyse(
        registry=registry, analysis=analysis, doc=doc, options=job["options"][analysis]
    )
    return store.record_result(job_id, analysis, result)


def analyse(
    *, registry: AnalyserRegistry, analysis: str, doc: Any, options: dict[str, Any]
) -> dict[str, Any]:
    """Return the JSON-ready result for one analysis, success or failure."""
    began = time.perf_counter()
    try:
        analyser = registry.for_request(analysis, options)
        result = analyser(doc, options)
    except errors.AnalysisError as exc:
        return failed(exc)
    except SoftTimeLimitExceeded:
        return failed(errors.AnalysisTimeout(f"the {analysis} analysis ran out of time"))
    except MemoryError:
        raise
    except Exception as exc:
        if _is_infrastructure(exc):
            raise
        log.exception("%s analysis crashed", analysis)
        crash = errors.InternalAnalysisError(
            f"the {analysis} analysis crashed: {type(exc).__name__}"
        )
        return failed(crash)
    result = {"status": "succeeded", **result}
    result["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 1)
    return result


def failed(error: errors.CopydeskError) -> dict[str, Any]:
    return {"status": "failed", "error": error.to_problem()}


def _is_infrastructure(exc: Exception) -> bool:
    return isinstance(exc, redis.RedisError)
