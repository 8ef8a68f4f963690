"""Run one analysis of one job: read its prepared document and vectors, analyse, record.

Plain logic over the job store and the analyser registry: the Celery tasks are thin
adapters around ``run_analysis``, and ``copydesk analyze --local`` calls ``analyse``. A
result is bounded in size (``bounded``); bad input and unsupported requests become a failed
analysis with a problem object, never a crash.
"""

from __future__ import annotations

import json
import time
from typing import Any

from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core import errors
from copydesk.core.analyses import REGISTRY
from copydesk.core.errors import failed_result as failed
from copydesk.prepare.run import with_label_set
from copydesk.prepare.vectors import DocVectors
from copydesk.store.base import Transition
from copydesk.store.records import JobStore
from copydesk.workers.failures import as_failure


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
    options, gone = with_label_set(store, job, [analysis])
    if analysis in gone:
        return store.record_result(job_id, analysis, failed(gone[analysis]))
    result = analyse(
        registry=registry,
        analysis=analysis,
        doc=doc,
        options=options[analysis],
        vectors=vectors,
        max_bytes=max_result_bytes,
        job=job,
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
    job: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the JSON-ready result for one analysis, success or failure, of at most
    ``max_bytes`` (see :func:`bounded`)."""
    began = time.perf_counter()
    try:
        analyser = registry.for_request(analysis, options, language=doc.language)
        declared = REGISTRY.get(analysis)
        if declared is not None and declared.job:  # stories: the job's tenant, id, time
            result = analyser(doc, options, vectors=vectors, job=job)
        else:
            result = analyser(doc, options, vectors=vectors)
    except Exception as exc:
        return failed(as_failure(exc, stage=analysis))
    result = {"status": "succeeded", **result}
    result["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 1)
    return bounded(result, max_bytes=max_bytes, analysis=analysis)


LISTS = (
    "sentences",
    "labels",
    "entities",
    "keyphrases",
    "quotes",
)  # the per-item lists a result may trim


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
        total = result.get(f"{key}_total", len(items))  # entities count those top_k cut too
        result = {**result, key: items[:low], "truncated": True, f"{key}_total": total}
        if size(result) <= max_bytes:
            return result
    return failed(
        errors.ResultTooLarge(
            f"the {analysis} result needs more than {max_bytes} bytes "
            "(COPYDESK_MAX_RESULT_BYTES), even with its lists trimmed"
        )
    )
