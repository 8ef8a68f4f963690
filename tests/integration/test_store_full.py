"""A full Redis: new jobs get 503 store_full, nothing stored is evicted, and accepting resumes
as stored jobs expire. A real Redis with a small maxmemory and noeviction, as deployed."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import RedisServer
from copydesk.devstack.waiting import wait_for
from copydesk.intake.room import REREAD_SECONDS

MAXMEMORY = 8 * 1024 * 1024


@pytest.fixture
def small_redis(tmp_path: Path) -> Iterator[redis.Redis]:
    """A Redis of its own, bound to 8 MB with noeviction (a full one would fail other tests)."""
    server = RedisServer(data_dir=tmp_path / "redis", appendonly=False, maxmemory="8mb").start()
    client = redis.Redis.from_url(server.url)
    try:
        yield client
    finally:
        client.close()
        server.stop()


def _settings(client: redis.Redis, **changes: Any) -> Settings:
    url = f"redis://127.0.0.1:{client.connection_pool.connection_kwargs['port']}/0"
    return Settings(redis_url=url, **changes)


def _article(**fields: str) -> dict[str, Any]:
    """About 30 kB that does not deflate to nothing: the job store's weight, not a model's."""
    return {"article": {"text": secrets.token_urlsafe(22_000), **fields}}


def _fill(client: Any, *, most: int = 1000) -> tuple[list[str], Any]:
    """Submit until the intake refuses; the ids accepted and the refusal."""
    accepted = []
    for _ in range(most):
        response = client.post("/v1/jobs", json=_article())
        if response.status_code != 202:
            return accepted, response
        accepted.append(response.get_json()["id"])
    raise AssertionError(f"{most} jobs were all accepted: Redis never filled")


def _is_store_full(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "store_full" and problem["status"] == 503
    assert int(response.headers["Retry-After"]) > 0


def _status(client: Any, job_id: str) -> str:
    return client.get(f"/v1/jobs/{job_id}").get_json()["status"]


def _memory(client: redis.Redis) -> tuple[int, int, int]:
    info = client.info()
    return info["used_memory"], info["maxmemory"], info["evicted_keys"]


def test_a_full_store_refuses_new_jobs_keeps_every_stored_one_and_recovers_as_jobs_expire(
    small_redis: redis.Redis, make_client: Callable[[Settings], Any]
) -> None:
    kept = make_client(_settings(small_redis, job_ttl_seconds=3600))
    brief = make_client(_settings(small_redis, job_ttl_seconds=8))
    first = [kept.post("/v1/jobs", json=_article(ref="kept")).get_json()["id"] for _ in range(3)]

    filled, refused = _fill(brief)
    _is_store_full(refused)
    _is_store_full(kept.post("/v1/batches", json={"jobs": [_article()]}))
    used, limit, evicted = _memory(small_redis)
    assert limit == MAXMEMORY and evicted == 0
    assert used < limit  # refused at COPYDESK_STORE_FULL_PERCENT: room left for the workers
    for job_id in first + filled:  # nothing stored was evicted, and reads still answer
        assert kept.get(f"/v1/jobs/{job_id}").status_code == 200
    listed = kept.get("/v1/jobs?ref=kept").get_json()["jobs"]
    assert {job["id"] for job in listed} == set(first)

    wait_for(  # the brief jobs expire: room comes back by itself
        lambda: kept.post("/v1/jobs", json=_article()).status_code == 202, timeout=60, every=0.5
    )
    for job_id in first:
        assert kept.get(f"/v1/jobs/{job_id}").get_json()["status"] == "queued"
    assert _memory(small_redis)[2] == 0


def test_redis_refusing_a_write_is_store_full_too(
    small_redis: redis.Redis, make_client: Callable[[Settings], Any]
) -> None:
    """With the intake's own mark off (100%), Redis's OOM answer is the backstop: the job
    script is refused as a whole, and the answer is the same 503. (Lowering maxmemory under
    what is stored holds Redis past it: filled by jobs, it hovers at the line, as each
    refused request's buffer is freed.)"""
    client = make_client(_settings(small_redis, store_full_percent=100))
    stored = [client.post("/v1/jobs", json=_article()).get_json()["id"] for _ in range(3)]
    small_redis.config_set("maxmemory", _memory(small_redis)[0] - 1024 * 1024)
    keys = small_redis.dbsize()
    _is_store_full(client.post("/v1/jobs", json=_article()))
    _is_store_full(client.post("/v1/batches", json={"jobs": [_article(), _article()]}))
    assert small_redis.info("errorstats")["errorstat_OOM"]["count"] >= 2  # Redis refused them
    assert small_redis.dbsize() == keys  # refused as a whole: no half-written job or batch
    assert all(client.get(f"/v1/jobs/{job_id}").status_code == 200 for job_id in stored)
    assert _memory(small_redis)[2] == 0


def test_jobs_accepted_before_the_store_filled_still_finish(
    small_redis: redis.Redis, make_client: Callable[[Settings], Any], start_worker
) -> None:  # noqa: ANN001
    """Refusing at COPYDESK_STORE_FULL_PERCENT keeps room for what workers write: a worker
    started while the intake refuses prepares and analyses the jobs it already holds (past
    maxmemory itself, a Celery worker cannot even take a message: kombu's bookkeeping write
    is refused too)."""
    # A starting worker's dozen connections cost Valkey about 0.5 MB (each client counts in
    # used_memory), as much as the 7% left of 8 MB: the margin here has to outweigh them.
    limit = 4 * MAXMEMORY
    small_redis.config_set("maxmemory", limit)
    settings = _settings(small_redis)
    client = make_client(settings)
    texts = ["Shares rose after the report.", "The council approved the budget on Monday."]
    first = [client.post("/v1/jobs", json={"article": {"text": t}}).get_json()["id"] for t in texts]
    filler = 0
    while _memory(small_redis)[0] * 100 < limit * 93:  # past the mark, short of the limit
        small_redis.set(f"test:filler:{filler}", secrets.token_bytes(50_000))  # not a job
        filler += 1
    time.sleep(REREAD_SECONDS)  # the intake's reading of Redis's memory, from before the filler
    _is_store_full(client.post("/v1/jobs", json={"article": {"text": "One more."}}))
    start_worker(settings)
    for job_id in first:
        wait_for(lambda job_id=job_id: _status(client, job_id) == "succeeded", timeout=120)
        events = client.get(f"/v1/jobs/{job_id}/events").get_data(as_text=True)
        assert "job.succeeded" in events
    _is_store_full(client.post("/v1/jobs", json={"article": {"text": "Still full."}}))
    assert _memory(small_redis)[2] == 0


def test_the_embedded_redis_is_bounded_never_evicts_and_keeps_event_streams_small(
    redis_client,  # noqa: ANN001
) -> None:
    """make run's Redis (the tests' too) is configured as compose's: noeviction, and 1 kB
    stream nodes (a job's few events take 1.3 kB in them, 4.4 kB in the default 4 kB)."""
    config = redis_client.config_get("maxmemory-policy")
    config |= redis_client.config_get("stream-node-max-bytes")
    assert config == {"maxmemory-policy": "noeviction", "stream-node-max-bytes": "1024"}


def _info_reads(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_info", {}).get("calls", 0))


def test_far_from_the_mark_a_reading_of_redis_memory_serves_many_jobs_and_near_it_each_job(
    small_redis: redis.Redis, make_client: Callable[[Settings], Any]
) -> None:
    """INFO memory for every submission cost a sixth of the intake's CPU per job: far from the
    mark one reading serves many small jobs, near it every job reads afresh, and the store
    still refuses at the mark."""
    client = make_client(_settings(small_redis, job_ttl_seconds=3600))
    short = {"article": {"text": "Shares rose after the report."}}
    before = _info_reads(small_redis)
    for _ in range(20):
        assert client.post("/v1/jobs", json=short).status_code == 202
    reads = _info_reads(small_redis) - before - 1  # this test's own INFO
    assert 1 <= reads <= 3, reads

    filled, refused = _fill(client)
    _is_store_full(refused)
    assert _memory(small_redis)[0] < MAXMEMORY
    before = _info_reads(small_redis)
    for _ in range(5):  # at the mark, each refusal is a fresh reading
        _is_store_full(client.post("/v1/jobs", json=short))
    assert _info_reads(small_redis) - before - 1 == 5
