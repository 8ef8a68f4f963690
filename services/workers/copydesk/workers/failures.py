"""Name what went wrong in a stage as a problem, or re-raise it so the task retries.

The one place that tells a worker's faults apart: Redis errors are infrastructure (the task
retries), copydesk's own errors keep their code, Celery's soft time limit is a timeout, an
allocation failure is ``resource_exhausted``, and anything else is an internal error.
"""

from __future__ import annotations

import logging

import redis
from celery.exceptions import SoftTimeLimitExceeded

from copydesk.core import errors

log = logging.getLogger(__name__)


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
