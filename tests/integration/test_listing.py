"""Listing a tenant's jobs reads an index per filter: a page costs its own size, not the store's."""

from __future__ import annotations

import pytest

from copydesk.core.ids import now_rfc3339
from copydesk.core.names import JOB_STATUSES
from copydesk.store import listing
from copydesk.store.jobs import RedisJobStore


def _create(store: RedisJobStore, job_id: str, *, ref: str = "r", tenant: str = "t") -> None:
    record = {
        "id": job_id,
        "tenant": tenant,
        "created_at": now_rfc3339(),
        "analyses": ["summary", "topics"],
        "options": {},
        "article": {"ref": ref},
    }
    store.create(job_id=job_id, record=record, article={"text": "Text."})


def _ids(jobs: list[dict]) -> list[str]:
    return [job["id"] for job in jobs]


def _every_page(store: RedisJobStore, *, limit: int, **filters: str) -> list[str]:
    seen, cursor = [], None
    while True:
        jobs, cursor = store.list_jobs(tenant="t", limit=limit, before=cursor, **filters)
        seen += _ids(jobs)
        if cursor is None:
            return seen


def _job_reads(store: RedisJobStore) -> int:
    stats = store.redis.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hgetall", "hmget"))


def test_a_filtered_page_reads_only_the_jobs_it_shows(store: RedisJobStore) -> None:
    ids = [f"{i:032x}" for i in range(400)]
    for i, job_id in enumerate(ids):
        _create(store, job_id, ref="rare" if i < 2 else "common")
    store.cancel(ids[0])
    store.cancel(ids[1])
    for filters in ({"status": "cancelled"}, {"ref": "rare"}, {"status": "queued", "ref": "rare"}):
        before = _job_reads(store)
        jobs, cursor = store.list_jobs(tenant="t", limit=1, **filters)
        assert _job_reads(store) - before <= 2, filters  # the page's job, and one to see more
        expected = [] if filters.get("status") == "queued" else [ids[1]]
        assert (_ids(jobs), cursor is None) == (expected, not expected)
    assert _every_page(store, limit=1, status="cancelled") == [ids[1], ids[0]]


def test_each_status_lists_the_jobs_that_have_it_now(store: RedisJobStore) -> None:
    for job_id in ("q", "r", "s", "p", "f", "c"):
        _create(store, job_id)
    store.start_analysis("r", "summary")
    for job_id, outcomes in {"s": "ss", "p": "sf", "f": "ff"}.items():
        for analysis, outcome in zip(("summary", "topics"), outcomes, strict=True):
            status = "succeeded" if outcome == "s" else "failed"
            store.record_result(job_id, analysis, {"status": status})
    store.cancel("c")
    listed = {status: _every_page(store, limit=2, status=status) for status in JOB_STATUSES}
    assert listed == {
        "queued": ["q"],
        "running": ["r"],
        "succeeded": ["s"],
        "partially_succeeded": ["p"],
        "failed": ["f"],
        "cancelled": ["c"],
    }
    assert _every_page(store, limit=4) == ["c", "f", "p", "s", "r", "q"]


def test_a_batch_lists_in_creation_order_though_it_is_written_in_one_instant(
    store: RedisJobStore,
) -> None:
    """A MULTI runs its scripts at one server time; each job still gets a place of its own."""
    ids = [f"b{i}" for i in range(7)]
    records = [
        {"id": i, "tenant": "t", "created_at": now_rfc3339(), "analyses": ["summary"],
         "options": {}, "article": {"ref": "r"}, "batch": "x"}
        for i in ids
    ]  # fmt: skip
    jobs = [(record["id"], record, {"text": "T."}, None) for record in records]
    store.create_batch(batch={"id": "x", "created_at": now_rfc3339(), "jobs": ids}, jobs=jobs)
    assert _every_page(store, limit=3) == ids[::-1]
    assert _every_page(store, limit=2, ref="r", status="queued") == ids[::-1]


def test_tenants_are_listed_apart(store: RedisJobStore) -> None:
    _create(store, "mine", tenant="t")
    _create(store, "theirs", tenant="u")
    store.cancel("theirs")
    assert _every_page(store, limit=5) == ["mine"]
    assert _every_page(store, limit=5, status="cancelled") == []
    assert _every_page(store, limit=5, ref="r") == ["mine"]


def test_listings_are_trimmed_by_time_and_expire(store: RedisJobStore) -> None:
    """Entries older than a job can live go at each write (a step at a time); a listing expires
    when no job in it can still be stored."""
    now_us = int(store.server_time() * 1e6)
    stale = now_us - store.listed_seconds * 1_000_000 - 10
    indexes = [
        store.job_index("t"),
        store.status_indexes("t")["jobs_queued"],
        store.ref_index("t", "r"),
    ]
    for index in indexes:
        store.redis.zadd(index, {f"old{i}": stale - i for i in range(150)})
        store.redis.zadd(index, {"recent": now_us - 1_000_000})
    _create(store, "new1")
    assert [store.redis.zcard(index) for index in indexes] == [52, 52, 52]  # 100 dropped
    _create(store, "new2")
    for index in indexes:
        assert store.redis.zrange(index, 0, -1) == [b"recent", b"new1", b"new2"]
        assert store.listed_seconds - 5 < store.redis.ttl(index) <= store.listed_seconds
    store.start_analysis("new1", "summary")
    running = store.status_indexes("t")["jobs_running"]
    assert store.listed_seconds - 5 < store.redis.ttl(running) <= store.listed_seconds
    assert not store.redis.exists(store.job_index("t") + ":seq")  # no counter to outlive them


def test_a_page_drops_expired_jobs_and_answers_short_past_its_read_limit(
    store: RedisJobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for job_id in ("a", "b", "c", "d", "e"):
        _create(store, job_id)
    store.redis.delete(*(store.job_key(job_id) for job_id in ("c", "d", "e")))  # expired
    monkeypatch.setattr(listing, "LIST_READ_LIMIT", 2)
    jobs, cursor = store.list_jobs(tenant="t", limit=1)
    assert jobs == [] and cursor is not None  # a short page: two rows read, both expired
    jobs, cursor = store.list_jobs(tenant="t", limit=1, before=cursor)
    assert _ids(jobs) == ["b"] and cursor is not None  # "c" expired too
    jobs, cursor = store.list_jobs(tenant="t", limit=1, before=cursor)
    assert _ids(jobs) == ["a"] and cursor is None
    assert store.redis.zrange(store.job_index("t"), 0, -1) == [b"a", b"b"]
