"""Accept a validated submission: prepare its text, store the job, queue its analyses.

Kept apart from the views so the HTTP layer only parses and renders. The job is stored
before any task is queued (a worker never sees an unknown id); if queueing fails the job is
removed and the client gets a 503 to retry, so an accepted job is always a queued job.
"""

from __future__ import annotations

import base64
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from celery import Celery

from copydesk.core import errors
from copydesk.core.destinations import check_destination
from copydesk.core.document import Document
from copydesk.core.names import ANALYSIS_TASKS
from copydesk.core.schemas import JobRequest
from copydesk.core.settings import EMBEDDED, Settings
from copydesk.core.store import RedisJobStore, new_job_id, now_rfc3339
from copydesk.core.text import prepare

log = logging.getLogger(__name__)


@dataclass
class IntakeService:
    settings: Settings
    store: RedisJobStore
    broker: Celery

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeService:
        broker = Celery("copydesk-intake", broker=settings.redis_url, set_as_current=False)
        broker.conf.broker_connection_retry_on_startup = False
        broker.conf.broker_transport_options = {"max_retries": 3}
        broker.conf.task_serializer = "json"
        store = RedisJobStore.from_url(settings.redis_url, ttl_seconds=settings.job_ttl_seconds)
        return cls(settings=settings, store=store, broker=broker)

    def submit(self, request: JobRequest, *, base_url: str) -> dict[str, Any]:
        """Store and queue one job; returns the stored job."""
        if request.webhook is not None:
            allow = self.settings.webhook_allow_networks
            check_destination(request.webhook.url, allow_networks=allow, resolve=False)
        self._check_available(request)
        doc = self._prepare(request)
        job_id = new_job_id()
        record = self._record(job_id=job_id, request=request, doc=doc, base_url=base_url)
        self.store.create(job_id=job_id, record=record, doc=doc)
        try:
            for analysis in record["analyses"]:
                self.broker.send_task(
                    ANALYSIS_TASKS[analysis], args=(job_id,), queue=analysis, retry=True
                )
        except Exception as exc:
            log.exception("could not queue job %s; removing it", job_id)
            self.store.delete(job_id)
            raise errors.ServiceUnavailable("the job queue is unavailable; retry later") from exc
        job = self.store.get(job_id)
        assert job is not None
        return job

    def _webhook(self, request: JobRequest) -> dict[str, Any] | None:
        """Keep the webhook with its signing secret; mint one if neither client nor config has one.

        A minted secret is returned once, in the 202 answer, and never rendered again.
        """
        if request.webhook is None:
            return None
        webhook = request.webhook.model_dump(exclude_none=True)
        if "secret" not in webhook and self.settings.webhook_secret is None:
            webhook["secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            webhook["minted"] = True
        return webhook

    def _check_available(self, request: JobRequest) -> None:
        wants_abstractive = request.options.summary.mode == "abstractive"
        embedded = self.settings.summary_model == EMBEDDED
        if "summary" in request.analyses and wants_abstractive and embedded:
            raise errors.AnalysisUnavailable(
                "abstractive summaries need a seq2seq model (COPYDESK_SUMMARY_MODEL); "
                "this deployment offers extractive summaries"
            )

    def _prepare(self, request: JobRequest) -> Document:
        article = request.article
        doc = prepare(
            text=article.text, html=article.html, title=article.title, language=article.language
        )
        if not doc.text.strip() or not doc.sentences:
            raise errors.EmptyArticle("no article text remained after cleaning the input")
        return doc

    def _record(
        self, *, job_id: str, request: JobRequest, doc: Document, base_url: str
    ) -> dict[str, Any]:
        article = request.article
        return {
            "id": job_id,
            "created_at": now_rfc3339(),
            "analyses": request.analyses,
            "options": {name: request.options_for(name) for name in request.analyses},
            "article": {
                "title": article.title or doc.title,
                "ref": article.ref,
                "url": article.url,
                "language": doc.language or article.language,
                "characters": len(doc.text),
            },
            "webhook": self._webhook(request),
            "base_url": (self.settings.public_url or base_url).rstrip("/"),
        }
