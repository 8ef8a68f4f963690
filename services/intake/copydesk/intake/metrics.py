"""``/metrics`` in Prometheus text format (prometheus-client).

Two sources, so the figures are right however many processes and hosts run:
- the intake's own requests (by route, method and status, with latency histograms), counted
  in each gunicorn process and merged by prometheus-client's multiprocess mode when
  ``PROMETHEUS_MULTIPROC_DIR`` is set (``make run`` and the image set it);
- everything the workers and the dispatcher do, counted in Redis by the store's own scripts
  (``copydesk:stats``: jobs accepted and ended by status, analyses by analysis, model and
  outcome with duration histograms, the prepare stage's parse and sentence embedding with
  duration histograms and how many parses read the whole text, webhook attempts by outcome),
  plus queue depths per queue
  and priority, the age of the oldest waiting job, and from presence the live worker
  processes per queue, the dispatchers and each worker process's RSS, and Redis's memory
  against its maxmemory (new jobs get 503 store_full near it). The intake reads these at
  scrape time: no worker needs to be scraped.

Those name hosts, pids and queue depths, so once API keys are on /metrics answers only the
scraper's own key (``COPYDESK_METRICS_KEY``, 401 otherwise): a tenant's key does not open it,
and no tenant key has to be handed to Prometheus.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from copydesk.core import errors
from copydesk.core.messages import next_job_id
from copydesk.core.settings import Settings
from copydesk.intake.auth import Keyring
from copydesk.store import presence
from copydesk.core.names import PRIORITY_STEPS, QUEUES, queue_key
from copydesk.store.jobs import RedisJobStore
from copydesk.store.stats import DURATION_BUCKETS, STATS

REQUESTS = Counter(
    "copydesk_http_requests", "Intake requests by route, method and status.",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "copydesk_http_request_duration_seconds", "Intake request latency by route and method.",
    ["route", "method"],
)  # fmt: skip


class RedisCollector(Collector):
    """What the workers did and where the queues stand, read from Redis at scrape time."""

    def __init__(self, store: RedisJobStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        client = self.store.redis
        stats = {k.decode(): v.decode() for k, v in client.hgetall(STATS).items()}
        jobs = CounterMetricFamily(
            "copydesk_jobs", "Jobs accepted, and jobs ended by status.", labels=["event"]
        )
        analyses = CounterMetricFamily(
            "copydesk_analyses", "Analyses recorded by analysis, model and outcome.",
            labels=["analysis", "model", "outcome"],
        )  # fmt: skip
        webhooks = CounterMetricFamily(
            "copydesk_webhook_attempts", "Webhook attempts by outcome (retry: will try again).",
            labels=["outcome"],
        )  # fmt: skip
        archived = CounterMetricFamily(
            "copydesk_archived_jobs",
            "Finished jobs by what archiving did: written (a row committed), missing (expired "
            "in Redis first), expired (older than the retention), refused (PostgreSQL refused "
            "its row).",
            labels=["outcome"],
        )
        parses = CounterMetricFamily(
            "copydesk_parses",
            "Prepare-stage parses (jobs asking for entities, keyphrases or quotes) by how much "
            "of the text they read: whole, or partial (COPYDESK_PARSE_MAX_CHARS or "
            "COPYDESK_PARSE_SECONDS stopped it; the results' coverage is below 1).",
            labels=["outcome"],
        )
        buckets: dict[str, dict[str, int]] = {}
        sums: dict[str, float] = {}
        step_buckets: dict[str, dict[str, int]] = {}
        step_sums: dict[str, float] = {}
        for field, value in stats.items():
            kind, _, rest = field.partition("|")
            if kind == "jobs":
                jobs.add_metric([rest], float(value))
            elif kind == "analysis":
                analysis, model, outcome = rest.split("|", 2)
                analyses.add_metric([analysis, model, outcome], float(value))
            elif kind == "webhook":
                webhooks.add_metric([rest], float(value))
            elif kind == "archive":
                archived.add_metric([rest], float(value))
            elif kind == "seconds_bucket":
                analysis, bound = rest.split("|", 1)
                buckets.setdefault(analysis, {})[bound] = int(value)
            elif kind == "seconds_sum":
                sums[rest] = float(value)
            elif kind == "step_bucket":
                step, bound = rest.split("|", 1)
                step_buckets.setdefault(step, {})[bound] = int(value)
            elif kind == "step_sum":
                step_sums[rest] = float(value)
            elif kind == "parse":
                parses.add_metric([rest], float(value))
        yield from (jobs, analyses, webhooks, archived, parses)
        yield _histogram(
            "copydesk_analysis_duration_seconds", "Time each analysis took.", "analysis",
            buckets, sums,
        )  # fmt: skip
        yield _histogram(
            "copydesk_prepare_duration_seconds",
            "Time the prepare stage's costly steps took: parse (once per job asking for "
            "entities, keyphrases or quotes) and embed (the sentence encoder).",
            "step", step_buckets, step_sums,
        )  # fmt: skip
        depth = GaugeMetricFamily(
            "copydesk_queue_depth", "Messages waiting per queue and priority.",
            labels=["queue", "priority"],
        )  # fmt: skip
        oldest = GaugeMetricFamily(
            "copydesk_oldest_queued_seconds",
            "Age of the job whose message is next in each queue (since it was submitted).",
            labels=["queue"],
        )
        now = time.time()
        lists = [(q, p, queue_key(q, p)) for q in QUEUES for p in PRIORITY_STEPS]
        pipe = client.pipeline(transaction=False)
        for *_, key in lists:
            pipe.llen(key)
        ages: dict[str, list[float]] = {queue: [0.0] for queue in QUEUES}
        for (queue, priority, key), length in zip(lists, pipe.execute(), strict=True):
            depth.add_metric([queue, priority], float(length))
            if length:  # an empty list has no next job: one round trip for every depth
                ages[queue].append(_age(client, key, now))
        for queue, seen in ages.items():
            oldest.add_metric([queue], max(seen))
        yield depth
        yield oldest
        processes = presence.live(client)  # O(processes): no keyspace scan
        covered = presence.coverage(processes, QUEUES)
        workers = GaugeMetricFamily(
            "copydesk_workers",
            "Live worker processes consuming each queue, counted once their models are loaded "
            "(0: the queue's jobs wait).",
            labels=["queue"],
        )
        for queue, count in covered.workers.items():
            workers.add_metric([queue], float(count))
        yield workers
        yield GaugeMetricFamily(
            "copydesk_dispatchers",
            "Live dispatcher processes (webhooks and the sweeper).",
            value=float(covered.dispatchers),
        )
        rss = GaugeMetricFamily(
            "copydesk_worker_rss_bytes", "Resident memory of each live worker process.",
            labels=["host", "pid", "queues"],
        )  # fmt: skip
        for worker in presence.workers(processes):
            rss.add_metric(
                [str(worker["host"]), str(worker["pid"]), ",".join(worker["queues"])],
                float(worker.get("rss_mb", 0.0)) * 1024 * 1024,
            )
        yield rss
        yield GaugeMetricFamily(
            "copydesk_archive_outbox_depth",
            "Finished jobs waiting to be archived in PostgreSQL (new jobs get 503 "
            "archive_behind at COPYDESK_ARCHIVE_OUTBOX_MAX).",
            value=float(self.store.outbox_depth()),
        )
        memory = client.info("memory")
        yield GaugeMetricFamily(
            "copydesk_redis_used_memory_bytes",
            "Memory Redis holds (new jobs get 503 store_full at COPYDESK_STORE_FULL_PERCENT of "
            "its maxmemory).",
            value=float(memory["used_memory"]),
        )
        yield GaugeMetricFamily(
            "copydesk_redis_maxmemory_bytes",
            "Redis's maxmemory (0: unbounded, and noeviction then never applies).",
            value=float(memory.get("maxmemory", 0)),
        )


def _histogram(
    name: str,
    documentation: str,
    label: str,
    buckets: dict[str, dict[str, int]],
    sums: dict[str, float],
) -> HistogramMetricFamily:
    """A histogram family from per-bucket counts (each bucket's own, not yet cumulative)."""
    family = HistogramMetricFamily(name, documentation, labels=[label])
    for value, counts in sorted(buckets.items()):
        running, cumulative = 0, []
        for bound in [*map(repr, DURATION_BUCKETS), "+Inf"]:
            running += counts.get(bound, 0)
            cumulative.append((bound, running))
        family.add_metric([value], cumulative, sum_value=sums.get(value, 0.0))
    return family


def _age(client, key: str, now: float) -> float:  # noqa: ANN001
    """Seconds since the job of the next message in ``key`` was submitted (0: none)."""
    job_id = next_job_id(client, key)
    if job_id is None:
        return 0.0
    try:
        record = client.hget(RedisJobStore.job_key(job_id), "record")
        created = datetime.fromisoformat(json.loads(record)["created_at"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0.0  # its job is gone
    return max(0.0, now - created.timestamp())


def scraper_keyring(settings: Settings) -> Keyring | None:
    """The key /metrics answers to; None when it is open (no API keys, no metrics key)."""
    if settings.metrics_key is None and settings.api_keys is None:
        return None
    key = settings.metrics_key.get_secret_value() if settings.metrics_key else None
    return Keyring.parse(f"prometheus:{key}" if key else None)  # empty: every scrape is 401


def install(app: Flask, store: RedisJobStore, settings: Settings) -> None:
    """Count every request, and serve /metrics (to the metrics key only, once keys are on)."""

    @app.before_request
    def _started() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        started = g.get("metrics_started")
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(route, request.method).observe(time.perf_counter() - started)
        return response

    collector = RedisCollector(store)
    scraper = scraper_keyring(settings)

    @app.get("/metrics")
    def metrics() -> Response:
        if scraper is not None and scraper.tenant_for(request.headers.get("Authorization")) is None:
            raise errors.Unauthorized(
                "/metrics needs the metrics key (COPYDESK_METRICS_KEY) as "
                "'Authorization: Bearer <key>'"
            )
        scraped = CollectorRegistry()
        scraped.register(collector)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # every gunicorn process's requests
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(scraped)
            body = generate_latest(scraped)
        else:  # one process: its own registry
            body = generate_latest(REGISTRY) + generate_latest(scraped)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
