"""List a tenant's jobs newest first, a page at a time, filtered by status and ref.

Each filter reads an index that the scripts keep in the step that creates a job or changes
its status (all the tenant's jobs, its jobs of each status, its jobs of each ref; each holds
job ids by creation time in microseconds), so a page costs O(page + log n) whatever the tenant
stores: it reads its rows, then the fields a listing shows of their jobs in one round trip.
With both filters it walks the smaller index and checks the other filter on each job.

Indexes are trimmed by time, not at each job's expiry, so an entry may outlive its job (by up
to a job TTL): a page skips and drops those it meets, and reads at most LIST_READ_LIMIT rows
before it answers short, with a cursor to go on from.
"""

from __future__ import annotations

from typing import Any

from copydesk.store.base import text
from copydesk.store.records import JobRecords, job_from

LIST_READ_LIMIT = 1000  # index rows one page may read past expired or unmatched jobs
LIST_CHUNK = 100  # most rows read in one round trip
LIST_FIELDS = ("record", "article", "status", "updated_at", "completed_at")  # what a page shows


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

        ``before`` is a cursor: (creation time in µs, job id) of the last job already listed.
        """
        found, after = self.list_placed(
            tenant=tenant, limit=limit, before=before, status=status, ref=ref
        )
        return [job for _, job in found], after

    def list_placed(
        self,
        *,
        tenant: str,
        limit: int,
        before: tuple[int, str] | None = None,
        status: str | None = None,
        ref: str | None = None,
    ) -> tuple[list[tuple[tuple[int, str], dict[str, Any]]], tuple[int, str] | None]:
        """As :meth:`list_jobs`, each job with its place (score, id) in the listing."""
        index = self._index(tenant, status=status, ref=ref)
        found: list[tuple[tuple[int, str], dict[str, Any]]] = []
        position, read, gone = before, 0, []
        chunk = limit + 1
        while len(found) <= limit:
            if read >= LIST_READ_LIMIT:  # a short page; the cursor goes on from the last row
                self._forget(index, gone)
                return found, position
            top = f"({position[0]}" if position else "+inf"
            rows = self.redis.zrevrangebyscore(index, top, "-inf", 0, chunk, withscores=True)
            if not rows:
                break
            for (member, score), job in zip(rows, self._shown(rows), strict=True):
                read += 1
                position = (int(score), text(member))
                if job is None:
                    gone.append(member)
                elif _matches(job, status=status, ref=ref):
                    found.append((position, job))
            chunk = min(LIST_CHUNK, max(limit + 1 - len(found), 2 * chunk))
        self._forget(index, gone)
        page = found[:limit]
        more = len(found) > limit
        return page, (page[-1][0] if more and page else None)

    def _index(self, tenant: str, *, status: str | None, ref: str | None) -> str:
        """The index a page walks: the filter's, the smaller of the two, or all jobs."""
        indexes = []
        if status is not None:
            indexes.append(self.status_indexes(tenant)[f"jobs_{status}"])
        if ref is not None:
            indexes.append(self.ref_index(tenant, ref))
        if len(indexes) < 2:
            return indexes[0] if indexes else self.job_index(tenant)
        with self.redis.pipeline(transaction=False) as pipe:
            for index in indexes:
                pipe.zcard(index)
            sizes = pipe.execute()
        return min(zip(sizes, indexes, strict=True))[1]

    def _shown(self, rows: list[tuple[bytes, float]]) -> list[dict[str, Any] | None]:
        """What a listing shows of each row's job (None once it expired), in one round trip."""
        with self.redis.pipeline(transaction=False) as pipe:
            for member, _ in rows:
                pipe.hmget(self.job_key(text(member)), LIST_FIELDS)
            fetched = pipe.execute()
        return [
            job_from(
                {f.encode(): v for f, v in zip(LIST_FIELDS, values, strict=True) if v is not None}
            )
            for values in fetched
        ]

    def _forget(self, index: str, gone: list[bytes]) -> None:
        """Drop from ``index`` the jobs a page found expired."""
        if gone:
            self.redis.zrem(index, *gone)


def _matches(job: dict[str, Any], *, status: str | None, ref: str | None) -> bool:
    return (status is None or job["status"] == status) and (
        ref is None or (job.get("article") or {}).get("ref") == ref
    )
