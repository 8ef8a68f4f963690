"""Archive finished jobs: take them from the outbox, write their rows, then acknowledge them.

The dispatcher runs one on a thread of its own when ``COPYDESK_DATABASE_URL`` is set. Nothing
is lost to a fault: an entry leaves the outbox only after its row committed (``archived``), a
write that fails puts its entries back, and an archiver that dies leaves its claims to come
due when their lease runs out. While PostgreSQL is away the archiver waits with backoff and
the outbox grows (bounded at the intake by ``COPYDESK_ARCHIVE_OUTBOX_MAX``); jobs complete and
their webhooks go out meanwhile, since neither waits for the archive.

Once a batch's rows committed, the archiver evaluates the tenants' alerts on them
(``copydesk.archive.alert_match``): a retried batch evaluates again and fires nothing twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import psycopg
import redis

from copydesk.archive.alert_match import AlertMatcher
from copydesk.archive.articles import Archive, EntityRow, Row, parse_time
from copydesk.archive.state import Entry
from copydesk.core.document import Document
from copydesk.core.names import OPEN_TENANT
from copydesk.core.render import render_job
from copydesk.core.settings import Settings
from copydesk.prepare.vectors import DocVectors
from copydesk.store.jobs import RedisJobStore

log = logging.getLogger("copydesk.archiver")
BATCH = 100  # jobs per transaction
MAINTAIN_SECONDS = 3600  # how often partitions are made ahead and old ones dropped
MAINTAIN_RETRY_SECONDS = 300  # how soon a maintenance that failed is tried again
POLL_SECONDS = 0.25  # how often an idle archiver looks at the outbox


def row_of(job_id: str, entry: Entry) -> Row:
    """The archive's row of a finished job, from what Redis holds of it, without U+0000.

    The intake accepts a NUL in an article's title, ref and text (and results may quote one),
    and PostgreSQL's text and jsonb hold none: the row leaves them out, as preparing already
    leaves them out of the analysed text, whose offsets the results give."""
    job = _without_nul(entry.job)
    doc = Document.from_json(entry.doc) if entry.doc is not None else None
    article = job.get("article") or {}
    encoder, embedding = _embedding(entry.vectors, doc)
    return Row(
        tenant=job.get("tenant", OPEN_TENANT),
        job_id=job_id,
        created_at=parse_time(job["created_at"]),
        finished_at=parse_time(job.get("completed_at")),
        status=job["status"],
        ref=article.get("ref"),
        language=article.get("language") or (doc.language if doc else None),
        title=article.get("title") or (_without_nul(doc.title) if doc else None),
        analyses=list(job["analyses"]),
        document=render_job(job),
        text=_without_nul(doc.text) if doc is not None else None,
        encoder=encoder,
        embedding=embedding,
        **searched(job.get("results") or {}),
    )


def _without_nul(value: Any) -> Any:
    """``value`` with U+0000 taken out of every string in it, keys of mappings included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def searched(results: dict[str, Any]) -> dict[str, Any]:
    """What search filters on, from a job's results: the sentiment score, the topic labels
    and the entities, each only from an analysis that succeeded."""

    def ok(name: str) -> dict[str, Any]:
        result = results.get(name) or {}
        return result if result.get("status") == "succeeded" else {}

    sentiment, topics, entities = ok("sentiment"), ok("topics"), ok("entities")
    return {
        "sentiment": sentiment.get("score"),
        "topics": [t["label"] for t in topics["labels"]] if topics.get("labels") else None,
        "entities": tuple(
            EntityRow(
                name=e["name"],
                type=e["type"],
                salience=e.get("salience", 0.0),
                sentiment=(e.get("sentiment") or {}).get("score"),
            )
            for e in entities.get("entities", ())
        ),
    }


def _embedding(
    vectors: bytes | None, doc: Document | None
) -> tuple[str | None, list[float] | None]:
    """The document's vector: the unit mean of its sentences' (and title's) vectors."""
    if vectors is None or doc is None:
        return None, None
    try:
        kept = DocVectors.from_bytes(vectors, doc)
    except ValueError as exc:  # vectors of another shape than the document: none archived
        log.warning("vectors not archived: %s", exc)
        return None, None
    rows = kept.matrix.astype(np.float32)
    mean = rows.mean(axis=0) if len(rows) else None
    if mean is None or not np.isfinite(mean).all() or not np.linalg.norm(mean):
        return kept.model, None
    return kept.model, [round(float(x), 6) for x in mean / np.linalg.norm(mean)]


def transient(exc: psycopg.Error) -> bool:
    """Whether ``exc`` is PostgreSQL's state, not a row's fault: a connection exception (08),
    a deadlock or serialisation failure (40), insufficient resources (53), an operator's
    intervention or a cancelled statement (57), a system error (58), or an error without a
    SQLSTATE (no connection, the pool's timeout, a busy partition) other than psycopg's own
    refusal of a value (a ``DataError``: a NUL in a text). Anything else (that refusal, a
    name past an index's row size) is the row's, and must not hold back the others."""
    state = exc.sqlstate
    if not state:  # raised in this process, before or without PostgreSQL's answer
        return not isinstance(exc, psycopg.DataError)
    return state[:2] in ("08", "40", "53", "57", "58")


class Archiver:
    """Move finished jobs from the outbox into the archive, acknowledging only what committed."""

    def __init__(self, *, store: RedisJobStore, archive: Archive, settings: Settings) -> None:
        self.store = store
        self.archive = archive
        self.settings = settings
        self.alerts = AlertMatcher(
            archive, client=store.redis, ttl=store.ttl, kept=settings.alert_events_kept
        )
        self._maintained = 0.0  # when maintenance last succeeded (monotonic)
        self._maintain_at = 0.0  # when it is due next

    def run(self, stopping: threading.Event) -> None:
        """Archive until ``stopping`` is set, waiting out PostgreSQL's and Redis's faults."""
        failures = 0
        while not stopping.is_set():
            self._maintain_when_due()
            try:
                moved = self.archive_due()
                failures = 0
            except (psycopg.Error, redis.RedisError) as exc:
                failures += 1
                log.warning("archive paused (%s); retrying", str(exc).strip().splitlines()[0])
                stopping.wait(min(10.0, 0.2 * 2**failures))
                continue
            except Exception:
                log.exception("archiver error")
                stopping.wait(5.0)
                continue
            if not moved:
                stopping.wait(POLL_SECONDS)
        self.archive.close()

    def _maintain_when_due(self) -> None:
        """Maintain when due, apart from archiving: a maintenance that fails (retention giving
        up behind a long reader, PostgreSQL away) is logged and tried again later, and the
        jobs of the outbox are archived meanwhile."""
        try:
            self.maintain()
        except (psycopg.Error, redis.RedisError) as exc:
            log.warning(
                "archive maintenance failed (%s); trying again in %d s",
                str(exc).strip().splitlines()[0],
                MAINTAIN_RETRY_SECONDS,
            )
        except Exception:
            log.exception("archive maintenance error")

    def maintain(self, *, force: bool = False) -> list[str]:
        """Every hour: make the coming months' partitions, drop those past the retention,
        forget the alert firings past it."""
        if not force and time.monotonic() < self._maintain_at:
            return []
        self._maintain_at = time.monotonic() + MAINTAIN_RETRY_SECONDS  # until it succeeds
        horizon = Archive.horizon(self.settings.archive_retention_days)
        try:
            dropped = self.archive.maintain(retention_days=self.settings.archive_retention_days)
        finally:  # the firings' trim does not wait for the partitions'
            self.alerts.trim(horizon=horizon)
        self._maintained = time.monotonic()
        self._maintain_at = self._maintained + MAINTAIN_SECONDS
        if dropped:
            log.info("archive retention dropped %s", ", ".join(dropped))
        return dropped

    def archive_due(self) -> int:
        """Archive one batch of due jobs; returns how many were taken from the outbox."""
        self.archive.partitions()  # PostgreSQL answers before anything is claimed
        self.alerts.flush()  # firings a fault kept from Redis go first
        lease = self.settings.archive_lease_seconds
        claimed = self.store.claim_archiving(lease_seconds=lease, limit=BATCH)
        if not claimed:
            return 0
        try:
            written = self._write(claimed)
        except BaseException:
            self._release(claimed)
            raise
        for job_id, version in written:
            self.store.archived(job_id, version=version)
        self.alerts.flush()
        return len(claimed)

    def _write(self, claimed: list[str]) -> list[tuple[str, str]]:
        """Write the claimed jobs' rows in one transaction; returns (id, version) written."""
        horizon = Archive.horizon(self.settings.archive_retention_days)
        rows, written = [], []
        for job_id, entry in self.store.archive_entries(claimed).items():
            if entry is None:  # expired in Redis before it could be archived
                log.error("job %s expired before it was archived", job_id)
                self.store.drop_archiving(job_id, outcome="missing")
                continue
            row = row_of(job_id, entry)
            if row.created_at < horizon:  # older than the archive keeps: nothing to write
                self.store.drop_archiving(job_id, outcome="expired")
                continue
            rows.append(row)
            written.append((job_id, entry.version))
        try:
            self.archive.write(rows)
        except psycopg.Error as exc:
            if transient(exc):
                raise  # PostgreSQL away or busy: the whole batch waits and is tried again
            return self._write_each(rows, written)  # a row PostgreSQL refuses
        self.alerts.evaluate(rows)  # committed: a retry evaluates again, and fires nothing twice
        return written

    def _write_each(self, rows: list[Row], written: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Write rows one at a time, so that one PostgreSQL refuses (a name past an index's
        row size, say) leaves the outbox, counted and logged, instead of holding back every
        job after it."""
        kept = []
        for row, (job_id, version) in zip(rows, written, strict=True):
            try:
                self.archive.write([row])
            except psycopg.Error as exc:
                if transient(exc):
                    raise
                log.error("job %s cannot be archived: %s", job_id, exc)
                self.store.drop_archiving(job_id, outcome="refused")
                continue
            self.alerts.evaluate([row])
            kept.append((job_id, version))
        return kept

    def _release(self, claimed: list[str]) -> None:
        try:
            self.store.release_archiving(claimed)
        except redis.RedisError:  # their lease brings them back
            pass
