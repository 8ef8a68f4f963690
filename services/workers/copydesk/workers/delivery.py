"""Queue and deliver a job's webhook: at least once, deduplicable by ``webhook-id``.

The message id is derived from the job and event, so a receiver that sees the same event
twice (a worker died after sending, before recording) can drop the copy. Retries follow an
exponential schedule capped below the broker's visibility timeout, so a waiting retry is
never handed to a second worker.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from copydesk.core.errors import WebhookRefused
from copydesk.core.names import WEBHOOK_QUEUE, WEBHOOK_TASK
from copydesk.core.render import render_job
from copydesk.core.secrets import SecretBox
from copydesk.core.store import RedisJobStore, is_terminal, now_rfc3339
from copydesk.workers.webhooks import WebhookSender, backoff_seconds, build_event, event_type_for

if TYPE_CHECKING:
    from celery import Celery

    from copydesk.workers.tasks import CopydeskTask

log = logging.getLogger(__name__)
SETTLED = frozenset({"queued", "delivered", "failed", "refused"})


def ensure_queued(app: Celery, store: RedisJobStore, job_id: str) -> None:
    """Queue the webhook of a terminal job unless that already happened."""
    job = store.get(job_id)
    if job is None or not job.get("webhook") or job.get("webhook_state") in SETTLED:
        return
    app.send_task(WEBHOOK_TASK, args=(job_id,), queue=WEBHOOK_QUEUE)
    # after sending: a crash in between re-sends (receivers dedupe by webhook-id) rather than
    # losing the event; and a delivery that already finished keeps its outcome
    store.set_webhook_state(job_id, "queued", only_if_unset=True)


def deliver_webhook_task(self: CopydeskTask, job_id: str) -> str:
    """Deliver the terminal-state event of one job; retry with backoff on failure."""
    store, settings = self.store, self.settings
    job = store.get(job_id)
    if job is None or not job.get("webhook") or not is_terminal(job["status"]):
        return "skipped"
    if job.get("webhook_state") in ("delivered", "refused", "failed"):
        return str(job["webhook_state"])
    try:
        secret = _signing_secret(job, settings)
    except ValueError as exc:
        _settle(store, job_id, "failed", error=str(exc))
        return "failed"
    event_type = event_type_for(job["status"])
    public = render_job(job)
    event = build_event(job=public, event_type=event_type, job_url=_job_url(job))
    sender = WebhookSender.from_settings(settings)
    attempt = self.request.retries + 1
    try:
        outcome = sender.send(
            url=job["webhook"]["url"],
            event=event,
            secret=secret,
            msg_id=f"msg_{job_id}_{event_type}",
        )
    except WebhookRefused as exc:
        _log_attempt(store, job_id, attempt=attempt, status=None, error=exc.detail, ms=0.0)
        _settle(store, job_id, "refused", error=exc.detail)
        return "refused"
    _log_attempt(
        store,
        job_id,
        attempt=attempt,
        status=outcome.status,
        error=outcome.error,
        ms=outcome.duration_ms,
    )
    if outcome.delivered:
        _settle(store, job_id, "delivered")
        return "delivered"
    if outcome.retryable and attempt < settings.webhook_max_attempts:
        cap = settings.task_visibility_timeout / 2
        delay = backoff_seconds(
            attempt, base=settings.webhook_backoff_seconds, cap=cap, jitter=True
        )
        raise self.retry(countdown=delay, max_retries=settings.webhook_max_attempts)
    _settle(store, job_id, "failed", error=outcome.error)
    return "failed"


def _signing_secret(job: dict[str, Any], settings: Any) -> str:
    """Open the job's sealed secret, else use the deployment's; ValueError says what is wrong."""
    sealed = job["webhook"].get("secret")
    if sealed is None:
        if settings.webhook_secret is None:
            raise ValueError("no signing secret configured")
        return settings.webhook_secret.get_secret_value()
    if settings.secrets_key is None:
        raise ValueError("the job's secret is sealed and COPYDESK_SECRETS_KEY is not set")
    from cryptography.fernet import InvalidToken

    try:
        return SecretBox(settings.secrets_key.get_secret_value()).open(sealed)
    except InvalidToken as exc:
        raise ValueError("the job's secret cannot be opened with COPYDESK_SECRETS_KEY") from exc


def _job_url(job: dict[str, Any]) -> str:
    return f"{job.get('base_url', '')}/v1/jobs/{job['id']}"


def _settle(store: RedisJobStore, job_id: str, state: str, *, error: str | None = None) -> None:
    log.info("webhook of job %s: %s%s", job_id, state, f" ({error})" if error else "")
    store.set_webhook_state(job_id, state)


def _log_attempt(
    store: RedisJobStore,
    job_id: str,
    *,
    attempt: int,
    status: int | None,
    error: str | None,
    ms: float,
) -> None:
    entry = {
        "attempt": attempt,
        "at": now_rfc3339(),
        "status": status,
        "error": error,
        "ms": round(ms, 1),
    }
    store.append_delivery(job_id, json.dumps(entry))
