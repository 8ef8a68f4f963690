"""Through Redis Sentinel: the intake, a real worker and the dispatcher find the master by
asking the Sentinel; the URL's host is not used at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import RedisServer, SentinelServer
from copydesk.devstack.waiting import wait_for


@pytest.fixture
def sentinel_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    master = RedisServer(data_dir=tmp_path / "master").start()
    sentinel = SentinelServer(data_dir=tmp_path / "sentinel", master_port=master.port).start()
    try:
        yield settings.model_copy(
            update={
                "redis_url": "redis://127.0.0.1:1/0",  # nothing listens here
                "redis_sentinels": [sentinel.address],
                "redis_sentinel_master": "mymaster",
            }
        )
    finally:
        sentinel.stop()
        master.stop()


def test_a_job_runs_end_to_end_through_sentinel(
    sentinel_settings: Settings, make_client, start_worker
) -> None:  # noqa: ANN001
    from copydesk.store.jobs import RedisJobStore

    client = make_client(sentinel_settings)
    response = client.post("/v1/jobs", json={"article": {"text": "Shares rose after the report."}})
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    start_worker(sentinel_settings)
    job = wait_for(
        lambda: (j := client.get(f"/v1/jobs/{job_id}").get_json())["status"] == "succeeded" and j,
        timeout=60,
    )
    assert set(job["results"]) == {"summary", "sentiment", "topics"}
    store = RedisJobStore.from_settings(sentinel_settings)
    assert store.get(job_id)["status"] == "succeeded"  # the master the Sentinel named
    store.redis.close()


def test_the_broker_url_names_every_sentinel(sentinel_settings: Settings) -> None:
    from copydesk.workers.app import broker_url, sentinel_options

    two = sentinel_settings.model_copy(
        update={"redis_sentinels": ["a:26379", "b:26379"], "redis_url": "redis://:pw@x:1/2"}
    )
    assert broker_url(two) == "sentinel://:pw@a:26379/2;sentinel://:pw@b:26379/2"
    assert sentinel_options(two) == {"master_name": "mymaster"}
    with pytest.raises(ValueError):
        Settings(redis_sentinels="no-port")


def test_rate_limits_count_in_the_master_sentinel_names(
    sentinel_settings: Settings, make_client
) -> None:  # noqa: ANN001
    from pydantic import SecretStr

    keyed = sentinel_settings.model_copy(
        update={"api_keys": SecretStr("a:0123456789abcdef"), "rate_limit": "2/minute"}
    )
    client = make_client(keyed)
    headers = {"Authorization": "Bearer 0123456789abcdef"}
    answers = [client.get("/v1/jobs", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["RateLimit-Remaining"] == "1"
