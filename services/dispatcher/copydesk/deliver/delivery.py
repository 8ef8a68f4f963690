"""Deliver a job's webhook on a schedule kept in Redis: at least once, deduplicable.

A job that ends becomes due in the same script that ends it (``lua.RECORD``, ``lua.CANCEL``),
so no crash can lose its event. A dispatcher claims due webhooks with a lease
(``RedisJobStore.claim_deliveries``), sends one attempt, and settles it: delivered, failed with
a reason, or pending until the next attempt of ``COPYDESK_WEBHOOK_RETRY_DELAYS``. Every
attempt ends with a recorded outcome, whatever it raised. The ``webhook-id`` is derived from
the job and event, so a receiver that sees an event twice (a dispatcher died after sending,
before settling) can drop the copy. It is the message's idempotency key (Standard Webhooks), so
the body is made once, at the first attempt, and kept beside the job for as long as the job:
every attempt and every redelivery under that id sends the very same bytes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis

from copydesk.archive import alert_state
from copydesk.core.errors import WebhookRefused
from copydesk.core.render import batch_view, delivery_id, render_job
from copydesk.core.secrets import SecretBox
from copydesk.core.settings import Settings
from copydesk.core.ids import now_rfc3339
from copydesk.store.base import DUE
from copydesk.store.jobs import RedisJobStore
from copydesk.deliver.destinations import AddressRefused
from copydesk.deliver.webhooks import (
    DeliveryResult,
    Sender,
    WebhookSender,
    build_batch_event,
    build_event,
    encode_event,
    event_type_for,
)

log = logging.getLogger(__name__)
GONE_MEMORY_SECONDS = 30 * 24 * 3600  # how long a 410 from a URL stops deliveries to it
LONGEST_RETRY_AFTER = 24 * 3600  # a receiver's Retry-After is honoured up to this


class Deliverer:
    """Make one attempt at one claimed webhook and record how it went."""

    def __init__(
        self, *, store: RedisJobStore, settings: Settings, sender: Sender | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.sender = sender or WebhookSender.from_settings(settings)

    def deliver(self, member: str) -> str:
        """Attempt one due webhook once (a job's id, or 'batch:<id>'); returns its state after.

        Redis errors propagate: nothing could be recorded, and the claim's lease brings the
        webhook back. Any other exception ends the attempt as an internal error, on schedule.
        """
        subject = self._subject(member)
        if subject is None:
            self.store.redis.zrem(DUE, member)
            return "stale"
        attempt = subject.record["webhook_attempts"] + 1
        entry: dict[str, Any] = {
            "delivery_id": subject.delivery_id,
            "attempt": attempt,
            "at": now_rfc3339(),
            "status": None,
            "error": None,
            "ms": 0.0,
        }
        try:
            outcome = self._send(subject)
        except redis.RedisError:
            raise
        except _Final as final:
            return self._settle(member, entry, state="failed", error=final.reason)
        except Exception as exc:  # a defect must not leave the webhook stuck: log, schedule
            log.exception("webhook attempt %d of %s crashed", attempt, member)
            outcome = DeliveryResult(False, None, True, f"internal error: {type(exc).__name__}", 0)
        entry.update(status=outcome.status, error=outcome.error, ms=round(outcome.duration_ms, 1))
        if outcome.delivered:
            return self._settle(member, entry, state="delivered")
        if outcome.status == 410:
            url = subject.record["webhook"]["url"]
            self.store.redis.set(self.store.gone_marker(url), "1", ex=GONE_MEMORY_SECONDS)
            error = "the receiver answered 410 Gone: deliveries to this URL have stopped"
            return self._settle(member, entry, state="failed", error=error)
        delays = self.settings.webhook_retry_delays
        if not outcome.retryable or attempt > len(delays):
            given_up = f"{outcome.error} (after {attempt} attempts)"
            return self._settle(member, entry, state="failed", error=given_up)
        wait = delays[attempt - 1]
        if outcome.retry_after is not None:
            wait = max(wait, min(outcome.retry_after, LONGEST_RETRY_AFTER))
        return self._settle(member, entry, state="pending", error=outcome.error, retry_in=wait)

    def _subject(self, member: str) -> _Subject | None:
        """What a due member announces, or None when there is nothing (left) to send."""
        if member.startswith("batch:"):
            batch = self.store.batch(member.removeprefix("batch:"))
            if batch is None or not batch.get("webhook") or batch["webhook_state"] != "pending":
                return None
            record, msg_id = batch, f"msg_batch_{batch['id']}_batch.completed"
        elif member.startswith(alert_state.MEMBER):
            fired = alert_state.firing(self.store.redis, member.removeprefix(alert_state.MEMBER))
            if fired is None or not fired.get("webhook") or fired["webhook_state"] != "pending":
                return None
            record, msg_id = fired, alert_state.delivery_id(fired["id"])
        else:
            job = self.store.get(member)
            if job is None or not job.get("webhook") or job.get("webhook_state") != "pending":
                return None
            record, msg_id = job, str(delivery_id(job))
        payload = self.store.kept_body(member)
        if payload is None:
            payload = self.store.keep_body(member, encode_event(self._event(member, record)))
        return None if payload is None else _Subject(member, record, msg_id, payload)

    def _event(self, member: str, record: dict[str, Any]) -> dict[str, Any]:
        """The event a job, a batch or an alert's firing announces, as it stands at its
        webhook's first attempt."""
        if member.startswith(alert_state.MEMBER):
            return record["event"]
        if member.startswith("batch:"):
            view = batch_view(record, self.store.statuses(record["jobs"]))
            url = f"{record.get('base_url', '')}/v1/batches/{record['id']}"
            return build_batch_event(batch=view, batch_url=url)
        event_type = event_type_for(record["status"])
        return build_event(job=render_job(record), event_type=event_type, job_url=_job_url(record))

    def _send(self, subject: _Subject) -> DeliveryResult:
        url = subject.record["webhook"]["url"]
        if self.store.redis.exists(self.store.gone_marker(url)):
            raise _Final(
                "the receiver answered 410 Gone to an earlier delivery: deliveries to this URL "
                "have stopped (redeliver to try again)"
            )
        try:
            secret = signing_secret(subject.record, self.settings)
        except ValueError as exc:
            raise _Final(str(exc)) from exc
        try:
            return self.sender.send(
                url=url, payload=subject.payload, secret=secret, msg_id=subject.delivery_id
            )
        except WebhookRefused as exc:
            if isinstance(exc, AddressRefused):  # the addresses are for operators, not clients
                log.warning(
                    "webhook of %s refused: %s resolves to %s, none allowed",
                    subject.member,
                    exc.host,
                    ", ".join(str(address.ip) for address in exc.addresses),
                    extra=_context(subject.member),
                )
            raise _Final(f"destination refused: {exc.detail}") from exc
        except ValueError as exc:  # the secret cannot sign
            raise _Final(str(exc)) from exc

    def _settle(
        self,
        job_id: str,
        entry: dict[str, Any],
        *,
        state: str,
        error: str | None = None,
        retry_in: float = 0.0,
    ) -> str:
        settled = self.store.settle_delivery(
            job_id, state=state, entry=entry, error=error, retry_in=retry_in
        )
        tail = f", next attempt in {retry_in:g} s" if state == "pending" else ""
        context = {"attempt": entry["attempt"], "outcome": state, "ms": entry["ms"]}
        context.update(_context(job_id))
        log.info(
            "webhook of %s, attempt %d: %s%s%s",
            job_id,
            entry["attempt"],
            state,
            f" ({error})" if error else "",
            tail,
            extra=context,
        )
        return settled


@dataclass(frozen=True, slots=True)
class _Subject:
    """A due webhook: its member in the schedule, the record it belongs to (a job or a
    batch), its id, its kept body."""

    member: str
    record: dict[str, Any]
    delivery_id: str
    payload: bytes


class _Final(Exception):
    """An attempt that cannot succeed by trying again: the webhook fails with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signing_secret(job: dict[str, Any], settings: Settings) -> str:
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


def _context(member: str) -> dict[str, Any]:
    """The log fields naming a due webhook's subject: ``job_id``, or ``batch_id``."""
    if member.startswith("batch:"):
        return {"batch_id": member.removeprefix("batch:")}
    if member.startswith(alert_state.MEMBER):
        return {"firing_id": member.removeprefix(alert_state.MEMBER)}
    return {"job_id": member}


def _job_url(job: dict[str, Any]) -> str:
    return f"{job.get('base_url', '')}/v1/jobs/{job['id']}"
