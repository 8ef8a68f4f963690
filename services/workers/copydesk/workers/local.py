"""Run a job's stages in this process: prepare, then each analysis, as the workers do.

The same PrepareStage, analysers, vectors (through the same float16 bytes) and failure
mapping as the service, with no Redis and no Celery: ``copydesk analyze --local`` and the
benchmarks' in-process baseline call this, so the two paths differ only by the transport.
"""

from __future__ import annotations

import time
from typing import Any

from copydesk.prepare.stage import PrepareStage
from copydesk.analyse.registry import AnalyserRegistry, registry_for
from copydesk.prepare.vectors import DocVectors
from copydesk.core.names import QUEUES
from copydesk.core.render import article_view
from copydesk.core.schemas import JobRequest
from copydesk.core.settings import Settings
from copydesk.complete.state import job_status
from copydesk.core.ids import now_rfc3339
from copydesk.workers.process import load_models
from copydesk.analyse.run import analyse
from copydesk.core.errors import failed_result as failed
from copydesk.workers.failures import as_failure


class LocalPipeline:
    """Analyse validated job requests in-process; one instance per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry: AnalyserRegistry = registry_for(settings)
        self.stage = PrepareStage(self.registry)

    def warm_up(self) -> None:
        """Load every model a worker would, so timings exclude start-up."""
        load_models(self.settings, queues=set(QUEUES))

    def run(self, request: JobRequest, *, job_id: str) -> dict[str, Any]:
        """Return the job document a client would fetch once the job has ended."""
        began = time.perf_counter()
        created = now_rfc3339()
        options = {name: request.options_for(name) for name in request.analyses}
        article = request.article.model_dump(exclude_none=True)
        view = article_view(article)
        results: dict[str, Any] = {}
        try:
            prepared = self.stage.text(article, analyses=request.analyses, options=options)
        except Exception as exc:
            problem = failed(as_failure(exc, stage="prepare"))
            results = dict.fromkeys(request.analyses, problem)
        else:
            view = prepared.article
            results = {name: failed(error) for name, error in prepared.failures.items()}
            vectors = None
            try:
                self.stage.embed([prepared])
            except Exception as exc:  # as in the service: only the embedded analyses fail
                problem = failed(as_failure(exc, stage="prepare"))
                results.update(dict.fromkeys(prepared.embedded, problem))
            if prepared.vectors is not None:  # the same bytes the service stores in Redis
                vectors = DocVectors.from_bytes(prepared.vectors.to_bytes(), prepared.doc)
            for name in request.analyses:
                if name in results:
                    continue
                results[name] = analyse(
                    registry=self.registry,
                    analysis=name,
                    doc=prepared.doc,
                    options=options[name],
                    vectors=vectors,
                    max_bytes=self.settings.max_result_bytes,
                )
        results = {name: results[name] for name in request.analyses}
        return {
            "id": job_id,
            "status": job_status(results),
            "created_at": created,
            "completed_at": now_rfc3339(),
            "article": view,
            "analyses": request.analyses,
            "options": options,
            "results": results,
            "elapsed_ms": round((time.perf_counter() - began) * 1000, 1),
        }
