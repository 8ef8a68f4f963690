"""List a tenant's jobs from Redis and the archive as one listing, newest first.

Redis lists every job it still holds (in flight, or finished and not yet let go); the
archive lists finished jobs for as long as the retention keeps them. A page reads a page of
each, at the same place, and merges them by place (creation time in µs, then job id, both
descending). An archived job still in Redis is Redis's to list (the archive's copy is left
out, so a job shows once however the page boundaries fall), and when Redis's page stopped
early (a short page after ``LIST_READ_LIMIT`` rows, or a full one), archived jobs older than
where it stopped wait for the next page, so no job is skipped. The cursor keeps its one
form, ``number-id``: Redis's place is the job's listing score, the archive's its creation
time, which are the same instant to within the time the job took to be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from copydesk.archive.search import ArchiveSearch, Position
from copydesk.store.jobs import RedisJobStore


def list_merged(
    *,
    store: RedisJobStore,
    search: ArchiveSearch,
    tenant: str,
    limit: int,
    before: Position | None = None,
    status: str | None = None,
    ref: str | None = None,
    summary: Callable[[dict[str, Any]], dict[str, Any]],
) -> tuple[list[dict[str, Any]], Position | None]:
    """Up to ``limit`` of the tenant's jobs from both, newest first, and the next cursor;
    ``summary`` renders a Redis job as the archive's rows already are."""
    live, stopped = store.list_placed(
        tenant=tenant, limit=limit, before=before, status=status, ref=ref
    )
    archived = search.listing(tenant=tenant, limit=limit + 1, before=before, status=status, ref=ref)
    held = _in_redis(store, [job["id"] for _, job in archived])
    shown = {job["id"] for _, job in live}
    merged = [(place, summary(job)) for place, job in live] + [
        (place, job)
        for place, job in archived
        if job["id"] not in held and job["id"] not in shown and (stopped is None or place > stopped)
    ]
    merged.sort(key=lambda item: item[0], reverse=True)
    page = merged[:limit]
    if len(merged) > limit:
        after = page[-1][0]
    elif stopped is not None:  # Redis goes on from where it stopped; so does the archive
        after = stopped
    elif len(archived) > limit:  # the archive holds more past the rows this page read
        after = archived[-1][0]
    else:
        after = None
    return [job for _, job in page], after


def _in_redis(store: RedisJobStore, job_ids: list[str]) -> set[str]:
    """Those of ``job_ids`` Redis still holds (one round trip)."""
    if not job_ids:
        return set()
    with store.redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(store.job_key(job_id))
        found = pipe.execute()
    return {job_id for job_id, there in zip(job_ids, found, strict=True) if there}
