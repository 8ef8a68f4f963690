"""List a tenant's jobs newest first, a page at a time, filtered by status and ref."""

from __future__ import annotations

from typing import Any

from copydesk.store.records import JobRecords
from copydesk.store.base import text

LIST_BATCH = 100
LIST_SCAN_LIMIT = 2000  # index entries one page may read while filtering


class JobListing(JobRecords):
    def list_jobs(
        self,
        *,
        tenant: str,
        limit: int,
        before: tuple[int, str] | None = None,
        status: str | None = None,
        ref: str | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """Return up to ``limit`` of the tenant's jobs, newest first, and the next page's cursor.

        ``before`` is a cursor: (creation number, job id) of the last job already listed. Filters
        are applied while reading the index, at most LIST_SCAN_LIMIT entries per page (a
        sparse filter then returns a short page with a cursor); ids of expired jobs are pruned.
        """
        found: list[tuple[tuple[int, str], dict[str, Any]]] = []
        position, scanned = before, 0
        while len(found) <= limit:
            if scanned >= LIST_SCAN_LIMIT:
                return [job for _, job in found[:limit]], position
            top = f"({position[0] + 1}" if position else "+inf"
            rows = self.redis.zrevrangebyscore(
                self.job_index(tenant), top, "-inf", start=0, num=LIST_BATCH, withscores=True
            )
            rows = [(int(score), text(member)) for member, score in rows]
            rows = [row for row in rows if position is None or row < position]
            if not rows:
                break
            for row in rows:
                scanned += 1
                position = row
                job = self.get(row[1])
                if job is None:
                    self.redis.zrem(self.job_index(tenant), row[1])
                elif (status is None or job["status"] == status) and (
                    ref is None or (job.get("article") or {}).get("ref") == ref
                ):
                    found.append((row, job))
                    if len(found) > limit:
                        break
        page = found[:limit]
        more = len(found) > limit
        return [job for _, job in page], (page[-1][0] if more and page else None)
