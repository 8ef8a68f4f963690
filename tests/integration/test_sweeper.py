"""The sweeper on real Redis: lost messages are re-queued, waiting jobs left alone, stuck
jobs failed with a code, and a re-queued job finishes through a real worker."""

from __future__ import annotations

import json
import time

import pytest

from copydesk.core.names import queue_key
from copydesk.core.settings import Settings
from copydesk.store.base import DUE, INFLIGHT
from copydesk.store.jobs import RedisJobStore
from copydesk.devstack.waiting import wait_for
from copydesk.sweep.sweeper import Sweeper

STALL = 1


@pytest.fixture
def quick(settings: Settings) -> Settings:
    return settings.model_copy(update={"stall_seconds": STALL, "sweep_max_rounds": 2})


@pytest.fixture
def sweeper(quick: Settings, redis_client) -> Sweeper:  # noqa: ANN001
    store = RedisJobStore(redis_client, ttl_seconds=3600, stall_seconds=quick.stall_deadline)
    return Sweeper(store=store, settings=quick)


def _submit(client, body: dict | None = None) -> str:  # noqa: ANN001
    body = body or {"article": {"text": "The council approved the budget on Monday."}}
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202
    return response.get_json()["id"]


def _stall() -> None:
    time.sleep(STALL + 0.1)


def test_a_job_whose_message_was_deleted_is_requeued_and_finishes(
    make_client, quick, sweeper, redis_client, start_worker
) -> None:  # noqa: ANN001
    client = make_client(quick)
    job_id = _submit(client)
    assert (
        redis_client.delete(queue_key("prepare")) == 1
    )  # the message vanishes behind the job's back
    assert sweeper.sweep() == {}  # not stalled yet
    _stall()
    assert sweeper.sweep() == {"requeued": 1}
    assert redis_client.llen(queue_key("prepare")) == 1
    start_worker(quick)
    done = wait_for(
        lambda: (j := client.get(f"/v1/jobs/{job_id}").get_json())["status"] == "succeeded" and j,
        timeout=60,
    )
    assert set(done["results"]) == {"summary", "sentiment", "topics"}
    assert redis_client.zscore(INFLIGHT, job_id) is None


def test_a_job_waiting_its_turn_in_a_busy_queue_is_left_alone(
    make_client, quick, sweeper, redis_client
) -> None:  # noqa: ANN001
    client = make_client(quick)
    job_id = _submit(client)
    _stall()
    for _ in range(3):
        assert sweeper.sweep_job(job_id) == "waiting"  # its message is still queued
    assert redis_client.llen(queue_key("prepare")) == 1
    assert sweeper.store.get(job_id)["sweeps"] == 0  # no round used


def test_only_the_analyses_without_a_result_are_requeued(
    make_client, quick, sweeper, redis_client, store
) -> None:  # noqa: ANN001
    from copydesk.core.document import Document, Span

    client = make_client(quick)
    job_id = _submit(client)
    redis_client.delete(queue_key("prepare"))
    doc = Document(text="Hi.", sentences=(Span(0, 3),), language="en")
    sweeper.store.save_prepared(job_id, doc=doc, vectors=None, article={}, messages=[])
    sweeper.store.record_result(job_id, "summary", {"status": "succeeded"})
    _stall()
    assert sweeper.sweep_job(job_id) == "requeued"
    lengths = {
        q: redis_client.llen(queue_key(q)) for q in ("prepare", "summary", "sentiment", "topics")
    }
    assert lengths == {"prepare": 0, "summary": 0, "sentiment": 1, "topics": 1}


def test_a_job_that_never_progresses_fails_with_job_stalled_and_its_webhook_is_due(
    make_client, quick, sweeper, redis_client
) -> None:  # noqa: ANN001
    client = make_client(quick)
    body = {
        "article": {"text": "A budget."},
        "webhook": {"url": "https://example.org/h"},
        "analyses": ["summary", "sentiment"],
    }
    job_id = _submit(client, body)
    outcomes = []
    for _ in range(quick.sweep_max_rounds + 1):
        redis_client.delete(queue_key("prepare"))  # every message is lost again
        _stall()
        outcomes.append(sweeper.sweep_job(job_id))
    assert outcomes == ["requeued", "requeued", "exhausted"]
    job = client.get(f"/v1/jobs/{job_id}").get_json()
    assert job["status"] == "failed"
    codes = {r["error"]["code"] for r in job["results"].values()}
    assert codes == {"job_stalled"}
    assert redis_client.zscore(INFLIGHT, job_id) is None
    assert redis_client.zscore(DUE, job_id) is not None and job["webhook"]["state"] == "pending"


def test_a_requeued_stage_waiting_in_a_busy_queue_uses_no_round(
    make_client, quick, sweeper, redis_client
) -> None:  # noqa: ANN001
    """The stage had started (its worker then died); after the re-queue, its message waits
    behind others: that is not another stall, however long the queue takes."""

    client = make_client(quick)
    job_id = _submit(client)
    prepare = queue_key("prepare", "normal")
    redis_client.delete(prepare)
    sweeper.store.start_prepare(job_id)  # a worker took it, then died
    _stall()
    assert sweeper.sweep_job(job_id) == "requeued"
    redis_client.lpush(prepare, "another job's message")  # the queue is busy
    for _ in range(3):
        _stall()
        assert sweeper.sweep_job(job_id) == "waiting"
    assert sweeper.store.get(job_id)["sweeps"] == 1
    redis_client.delete(prepare)  # the re-queued message is lost too
    _stall()
    assert sweeper.sweep_job(job_id) == "requeued"
