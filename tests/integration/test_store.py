"""The job store against a real Redis: atomic completion, idempotence, delivery counts."""

from __future__ import annotations

import threading

import pytest

from copydesk.complete.state import job_status
from copydesk.core.document import Document, Span
from copydesk.core.ids import now_rfc3339
from copydesk.store.jobs import RedisJobStore

DOC = Document(text="One. Two.", sentences=(Span(0, 4), Span(5, 9)), language="en")


def _create(store: RedisJobStore, job_id: str, analyses: list[str]) -> None:
    """A job as the prepare stage leaves it: document stored, analyses queued elsewhere."""
    record = {
        "id": job_id,
        "created_at": now_rfc3339(),
        "analyses": analyses,
        "options": {},
        "article": {"ref": "r"},
    }
    store.create(job_id=job_id, record=record, article={"text": DOC.text})
    store.save_prepared(job_id, doc=DOC, vectors=None, article={"characters": 9}, messages=[])


def test_created_job_is_queued_with_its_raw_article_and_first_task(store: RedisJobStore) -> None:
    record = {"id": "j0", "created_at": now_rfc3339(), "analyses": ["summary"], "options": {}}
    record["article"] = {"ref": "r", "characters": None}
    store.create(job_id="j0", record=record, article={"text": "One."}, message=("prepare", "m"))
    job = store.get("j0")
    assert job is not None and job["article"] == {"ref": "r", "characters": None}
    assert job["status"] == "queued" and job["results"] == {} and job["completed_at"] is None
    assert not job["prepared"] and store.document("j0") is None
    assert store.raw_article("j0") == {"text": "One."}
    assert store.redis.lrange("prepare", 0, -1) == [b"m"]
    assert store.redis.ttl(store.job_key("j0")) > 0
    assert store.redis.ttl(store.job_key("j0") + ":article") > 0


def test_a_large_raw_article_waits_deflated_and_reads_back_whole(store: RedisJobStore) -> None:
    page = "<html><body>" + "<div class='nav'><a href='/x'>Home</a></div>" * 60_000 + "</body>"
    record = {"id": "big", "created_at": now_rfc3339(), "analyses": ["summary"], "options": {}}
    record["article"] = {}
    store.create(job_id="big", record=record, article={"html": page}, message=("prepare", "m"))
    stored = store.redis.strlen(store.job_key("big") + ":article")
    assert stored < len(page) / 5
    assert store.raw_article("big") == {"html": page}


def test_saving_the_prepared_job_queues_its_analyses_exactly_once(store: RedisJobStore) -> None:
    record = {"id": "j2", "created_at": now_rfc3339(), "analyses": ["summary"], "options": {}}
    record["article"] = {}
    store.create(job_id="j2", record=record, article={"text": DOC.text})
    assert store.start_prepare("j2").attempts == 1
    messages = [("summary", "s1"), ("topics", "t1")]
    saved = store.save_prepared(
        "j2", doc=DOC, vectors=b"\x00\x01", article={"characters": 9}, messages=messages
    )
    again = store.save_prepared(
        "j2", doc=DOC, vectors=b"\x00\x01", article={"characters": 9}, messages=messages
    )
    assert (saved, again) == ("prepared", "done")
    assert store.redis.lrange("summary", 0, -1) == [b"s1"]
    assert store.redis.lrange("topics", 0, -1) == [b"t1"]
    assert store.document("j2") == DOC and store.vectors("j2") == b"\x00\x01"
    assert store.raw_article("j2") is None
    assert store.get("j2")["article"] == {"characters": 9}
    assert store.start_prepare("j2").outcome == "done"
    store.record_result("j2", "summary", {"status": "succeeded"})
    assert store.vectors("j2") is None and store.document("j2") == DOC


def test_created_job_is_queued_with_its_document(store: RedisJobStore) -> None:
    _create(store, "j1", ["summary", "topics"])
    job = store.get("j1")
    assert job is not None
    assert job["status"] == "queued" and job["results"] == {} and job["completed_at"] is None
    assert store.document("j1") == DOC
    assert store.redis.ttl(store.job_key("j1")) > 0


def test_last_result_completes_job_exactly_once_under_concurrency(store: RedisJobStore) -> None:
    analyses = ["summary", "sentiment", "topics"]
    for round_ in range(25):
        job_id = f"race{round_}"
        _create(store, job_id, analyses)
        outcomes: list[str] = []
        barrier = threading.Barrier(len(analyses))

        def finish(name: str, job_id: str = job_id) -> None:
            barrier.wait()
            outcomes.append(store.record_result(job_id, name, {"status": "succeeded"}).outcome)

        threads = [threading.Thread(target=finish, args=(name,)) for name in analyses]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["completed", "recorded", "recorded"]
        assert store.get(job_id)["status"] == "succeeded"


def test_final_status_reflects_failures(store: RedisJobStore) -> None:
    _create(store, "p", ["summary", "topics"])
    store.record_result("p", "summary", {"status": "succeeded"})
    done = store.record_result("p", "topics", {"status": "failed", "error": {"code": "x"}})
    assert done.completed and done.status == "partially_succeeded"
    assert store.get("p")["completed_at"] is not None

    _create(store, "f", ["summary"])
    assert store.record_result("f", "summary", {"status": "failed"}).status == "failed"


def test_recording_twice_is_a_no_op(store: RedisJobStore) -> None:
    _create(store, "d", ["summary", "topics"])
    assert (
        store.record_result("d", "summary", {"status": "succeeded", "v": 1}).outcome == "recorded"
    )
    again = store.record_result("d", "summary", {"status": "failed"})
    assert again.outcome == "duplicate"
    assert store.get("d")["results"]["summary"] == {"status": "succeeded", "v": 1}
    assert store.get("d")["status"] == "running"


def test_start_counts_deliveries_and_reports_done(store: RedisJobStore) -> None:
    _create(store, "s", ["summary"])
    first = store.start_analysis("s", "summary")
    assert (first.outcome, first.status, first.attempts) == ("started", "running", 1)
    assert store.start_analysis("s", "summary").attempts == 2
    store.record_result("s", "summary", {"status": "succeeded"})
    assert store.start_analysis("s", "summary").outcome == "done"
    assert store.start_analysis("nope", "summary").outcome == "missing"
    assert store.record_result("nope", "summary", {"status": "succeeded"}).outcome == "missing"


def test_transitions_are_published(store: RedisJobStore) -> None:
    _create(store, "e", ["summary"])
    pubsub = store.redis.pubsub()
    pubsub.subscribe(store.channel("e"))
    pubsub.get_message(timeout=1)
    store.record_result("e", "summary", {"status": "succeeded"})
    types = []
    for _ in range(2):
        message = pubsub.get_message(timeout=1)
        types.append(message and message["data"])
    pubsub.close()
    assert b"analysis.completed" in types[0] and b"job.succeeded" in types[1]


def test_a_retry_after_a_redis_error_is_not_counted_as_a_crash(store: RedisJobStore) -> None:
    _create(store, "r", ["summary"])
    assert store.start_analysis("r", "summary", token="t:0").attempts == 1
    assert store.start_analysis("r", "summary", token="t:1", retry=True).attempts == 1
    assert store.start_analysis("r", "summary", token="t:2", retry=True).attempts == 1
    # the same retry message delivered again: its worker died
    assert store.start_analysis("r", "summary", token="t:2", retry=True).attempts == 2
    # a fresh message (the sweeper's) counts too
    assert store.start_analysis("r", "summary", token="u:0").attempts == 3


def test_progress_moves_the_sweepers_look_later(store: RedisJobStore) -> None:
    from copydesk.store.base import INFLIGHT

    store.stall = 100
    _create(store, "p", ["summary", "topics"])
    created = store.redis.zscore(INFLIGHT, "p")
    assert 99 < created - store.server_time() <= 100
    store.stall = 500
    store.start_analysis("p", "summary")
    assert store.redis.zscore(INFLIGHT, "p") > created + 300
    store.stall = 1  # never earlier: a short step cannot hide a long one still running
    store.record_result("p", "summary", {"status": "succeeded"})
    assert store.redis.zscore(INFLIGHT, "p") > created + 300
    store.record_result("p", "topics", {"status": "succeeded"})
    assert store.redis.zscore(INFLIGHT, "p") is None  # finished jobs leave the set


@pytest.mark.parametrize(
    "outcomes",
    [
        ("succeeded",),
        ("failed",),
        ("succeeded", "succeeded", "succeeded"),
        ("succeeded", "failed", "succeeded"),
        ("failed", "failed", "failed"),
        ("cancelled", "succeeded"),
    ],
)
def test_the_store_and_analyze_local_name_a_finished_job_alike(
    store: RedisJobStore, outcomes: tuple[str, ...]
) -> None:
    """RECORD (Lua) and job_status (Python, for analyze --local) are one rule written twice."""
    names = ["summary", "sentiment", "topics"][: len(outcomes)]
    job_id = "rule-" + "-".join(outcomes)
    _create(store, job_id, names)
    results = {name: {"status": outcome} for name, outcome in zip(names, outcomes, strict=True)}
    for name, result in results.items():
        transition = store.record_result(job_id, name, result)
    assert transition.completed
    assert transition.status == job_status(results)
