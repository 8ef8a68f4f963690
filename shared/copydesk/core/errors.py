"""Name every failure copydesk reports, with its HTTP status and stable machine code.

One root exception; ``retryable`` separates infrastructure faults (retry with backoff) from
terminal ones (bad input: a 4xx problem or a failed analysis, never a crash); a worker's one
rule, ``copydesk.workers.failures.is_retryable``, adds Redis's faults to it. The table of
codes lives on the classes, so the intake's problem responses and the workers' failed
analyses speak the same language.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "urn:copydesk:problem:"  # stable identifiers; the `code` field says the same


class CopydeskError(Exception):
    """Root of every error copydesk raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    retryable: ClassVar[bool] = False
    retry_after: ClassVar[int] = 5  # seconds a client waits before retrying a retryable one

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_problem(self, *, instance: str | None = None) -> dict[str, Any]:
        """Render as an RFC 9457 problem object."""
        problem: dict[str, Any] = {
            "type": PROBLEM_BASE + self.code.replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extra)
        return problem


class MalformedJSON(CopydeskError):
    status, code, title = 400, "malformed_json", "Malformed JSON"


class ValidationFailed(CopydeskError):
    status, code, title = 422, "validation_failed", "Request failed validation"


class UnknownAnalysis(CopydeskError):
    status, code, title = 422, "unknown_analysis", "Unknown analysis"


class UnsupportedMediaType(CopydeskError):
    status, code, title = 415, "unsupported_media_type", "Body must be application/json"


class BodyTooLarge(CopydeskError):
    status, code, title = 413, "body_too_large", "Request body too large"


class HtmlBodyTooLarge(CopydeskError):
    status, code, title = 413, "html_body_too_large", "Request body with HTML too large"


class DecompressedBodyTooLarge(CopydeskError):
    status, code, title = 413, "decompressed_body_too_large", "Body inflates past the limit"


class MalformedGzip(CopydeskError):
    status, code, title = 400, "malformed_gzip", "Body is not a valid gzip stream"


class UnsupportedContentEncoding(CopydeskError):
    status, code, title = 415, "unsupported_content_encoding", "Content-Encoding not supported"


class InvalidIdempotencyKey(CopydeskError):
    status, code, title = 400, "invalid_idempotency_key", "Invalid Idempotency-Key header"


class IdempotencyKeyReused(CopydeskError):
    """409, not the IETF draft's 422: the request is valid, but the key is taken (stored)."""

    status, code, title = 409, "idempotency_key_reused", "Idempotency-Key used for another request"


class Unauthorized(CopydeskError):
    status, code, title = 401, "unauthorized", "API key missing or invalid"


class IdempotencyKeyInFlight(CopydeskError):
    status, code, title = 409, "idempotency_key_in_flight", "Request with this key in progress"
    retryable = True


class BatchNotFound(CopydeskError):
    status, code, title = 404, "batch_not_found", "Batch not found"


class TooManyJobs(CopydeskError):
    status, code, title = 413, "batch_too_large", "Too many jobs in one batch"


class JobNotFound(CopydeskError):
    status, code, title = 404, "job_not_found", "Job not found"


class TextNotReady(CopydeskError):
    status, code, title = 409, "text_not_ready", "Article not prepared yet"
    retryable = True


class TextNotFound(CopydeskError):
    """The job exists but ended before its article was prepared: a 409 (its state), not a
    404, which would say the job is not there."""

    status, code, title = 409, "text_not_found", "Job has no analysed text"


class JobExpired(CopydeskError):
    status, code, title = 410, "job_expired", "Job expired"


class QueueFull(CopydeskError):
    status, code, title = 429, "queue_full", "Too many jobs waiting"
    retryable = True


class RateLimited(CopydeskError):
    status, code, title = 429, "rate_limited", "Too many requests"


class TooManyStreams(CopydeskError):
    """This intake process holds as many event streams as COPYDESK_SSE_MAX_STREAMS allows."""

    status, code, title = 503, "too_many_streams", "Too many open event streams"
    retryable = True


class NotFound(CopydeskError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(CopydeskError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class OtherHTTPError(CopydeskError):
    """Any other HTTP error the web framework raises, carried with its own status."""

    def __init__(self, detail: str, *, status: int, title: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.code = status, title, f"http_{status}"  # type: ignore[misc]


class LabelSetNotFound(CopydeskError):
    status, code, title = 404, "label_set_not_found", "Label set not found"


class UnknownLabelSet(CopydeskError):
    """409: the job is valid, but names a set the tenant does not keep (yet, or any more)."""

    status, code, title = 409, "unknown_label_set", "Job names a label set that does not exist"


class TooManyLabelSets(CopydeskError):
    status, code, title = 409, "too_many_label_sets", "Tenant has as many label sets as allowed"


class DeliveryNotFound(CopydeskError):
    status, code, title = 404, "delivery_not_found", "Webhook delivery not found"


class AlertNotFound(CopydeskError):
    status, code, title = 404, "alert_not_found", "Alert not found"


class StoryNotFound(CopydeskError):
    status, code, title = 404, "story_not_found", "Story not found"


class TooManyAlerts(CopydeskError):
    status, code, title = 409, "too_many_alerts", "Tenant has as many alerts as allowed"


class TooManyAlertsOnTerm(CopydeskError):
    """One entity, ref or topic holds as many of the tenant's alerts as allowed: each article
    that names it is checked against all of them."""

    status, code, title = 409, "too_many_alerts_on_term", "Too many alerts on one term"


class TooManyBroadAlerts(CopydeskError):
    """Alerts with no entity, ref or topic are checked against every article of the tenant,
    so it keeps only a few."""

    status, code, title = 409, "too_many_broad_alerts", "Too many alerts without a term"


class JobNotFinished(CopydeskError):
    status, code, title = 409, "job_not_finished", "Job has not finished"


class ServiceUnavailable(CopydeskError):
    status, code, title = 503, "service_unavailable", "Service unavailable"
    retryable = True


class StoreFull(ServiceUnavailable):
    """Redis is near or at its maxmemory: new jobs wait until stored ones expire."""

    status, code, title = 503, "store_full", "Job store full"
    retry_after = 60  # room comes back as stored jobs expire, not in seconds


class ArchiveBehind(ServiceUnavailable):
    """The archive's outbox is full (PostgreSQL away or slow): new jobs wait for it."""

    status, code, title = 503, "archive_behind", "Archive behind"
    retry_after = 30


class ArchiveUnavailable(ServiceUnavailable):
    """A job no longer in Redis is read from the archive, which does not answer."""

    status, code, title = 503, "archive_unavailable", "Archive unavailable"


class ArchiveOff(ServiceUnavailable):
    """Search reads the archive, and this deployment keeps none (no COPYDESK_DATABASE_URL)."""

    status, code, title = 503, "archive_off", "No archive in this deployment"
    retryable = False


class SearchTimeout(ServiceUnavailable):
    """A search ran past COPYDESK_ARCHIVE_SEARCH_TIMEOUT_MS: narrow it (a time range, an
    entity, a ref) or retry when the archive is less busy."""

    status, code, title = 503, "search_timeout", "Search took too long"


# --- analysis outcomes (recorded as a failed analysis, not raised to a client) ---


class AnalysisError(CopydeskError):
    """An analysis cannot produce a result for this input; retrying will not help."""

    status, code, title = 422, "analysis_failed", "Analysis failed"


class EmptyArticle(AnalysisError):
    status, code, title = 422, "empty_article", "Article has no text to analyse"


class NotProse(AnalysisError):
    status, code, title = 422, "not_prose", "Article text has no words to analyse"


class TooManyTokens(AnalysisError):
    status, code, title = 413, "too_many_tokens", "Article has more tokens than allowed"


class TooManySentences(AnalysisError):
    status, code, title = 413, "too_many_sentences", "Article has more sentences than allowed"


class HtmlTooLarge(AnalysisError):
    status, code, title = 413, "html_too_large", "HTML page larger than allowed"


class HtmlTooComplex(AnalysisError):
    status, code, title = 413, "html_too_complex", "HTML page has more tags than allowed"


class ResourceExhausted(AnalysisError):
    status, code, title = 500, "resource_exhausted", "Analysis needed more memory than allowed"


class UnsupportedLanguage(AnalysisError):
    code, title = "unsupported_language", "Language not supported by the configured model"


class AnalysisUnavailable(AnalysisError):
    code, title = "analysis_unavailable", "Analysis not available in this deployment"


class LabelSetGone(AnalysisError):
    status, code, title = 410, "label_set_gone", "Label set version no longer stored"


class WorkerLost(AnalysisError):
    status, code, title = 500, "worker_lost", "Analysis kept killing its worker"


class ResultTooLarge(AnalysisError):
    status, code, title = 500, "result_too_large", "Result too large to store"


class JobStalled(AnalysisError):
    status, code, title = 500, "job_stalled", "Analysis made no progress"


class AnalysisTimeout(AnalysisError):
    status, code, title = 504, "analysis_timeout", "Analysis ran out of time"


class StoriesUnavailable(AnalysisError):
    """The stories analysis waited out COPYDESK_STORIES_WAIT_SECONDS for PostgreSQL."""

    status, code, title = 503, "stories_unavailable", "Story index unavailable"


class InternalAnalysisError(AnalysisError):
    status, code, title = 500, "internal_error", "Analysis crashed"


class WebhookRefused(CopydeskError):
    """The webhook destination is not allowed (non-public address) or invalid."""

    status, code, title = 422, "webhook_refused", "Webhook destination refused"


class WebhookDeliveryFailed(CopydeskError):
    status, code, title = 502, "webhook_delivery_failed", "Webhook delivery failed"
    retryable = True


def failed_result(error: CopydeskError) -> dict[str, Any]:
    """The stored result of an analysis that failed with ``error``."""
    return {"status": "failed", "error": error.to_problem()}
