"""Name what went wrong in a stage as a problem, or re-raise it so the task retries.

The one place that tells a worker's faults apart: what ``is_retryable`` calls retryable
(Redis unreachable, say) re-raises so the task retries (the tasks' ``autoretry_for`` is
``retryable_errors``), copydesk's own errors keep their code, Celery's soft time limit is a
timeout, an allocation failure is ``resource_exhausted``, and anything else is an internal
error.
"""

from __future__ import annotations

import logging

import redis
from celery.exceptions import SoftTimeLimitExceeded

from copydesk.core import errors

log = logging.getLogger(__name__)

# Redis unreachable, slow, still loading its data, or full (past maxmemory with noeviction,
# until stored jobs expire): the same call may succeed in a while
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
    redis.exceptions.OutOfMemoryError,
)


def retryable_errors() -> tuple[type[Exception], ...]:
    """The exceptions that trying the same work again may mend: infrastructure faults, and
    copydesk errors marked ``retryable`` (a tuple, as Celery's ``autoretry_for`` takes)."""
    marked = [c for c in _subclasses(errors.CopydeskError) if c.retryable]
    return INFRASTRUCTURE_ERRORS + tuple(marked)


def is_retryable(exc: BaseException) -> bool:
    """Tell whether ``exc`` is one of ``retryable_errors``: retry it rather than name it."""
    return isinstance(exc, retryable_errors())


def as_failure(exc: Exception, *, stage: str) -> errors.CopydeskError:
    """Name what went wrong as a problem; a retryable fault re-raises so the task retries."""
    if is_retryable(exc):
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


def _subclasses(cls: type[errors.CopydeskError]) -> list[type[errors.CopydeskError]]:
    return [s for sub in cls.__subclasses__() for s in (sub, *_subclasses(sub))]
