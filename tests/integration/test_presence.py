"""Who is alive, read in O(processes) whatever else Redis holds; readiness that means "can
accept"; worker and dispatcher coverage reported apart; a worker that counts from the moment
its models are loaded until it stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from copydesk.core.names import QUEUES
from copydesk.core.settings import get_settings
from copydesk.devstack.waiting import wait_for
from copydesk.store import presence


def _worker(redis_client, name: str, queues: list[str]) -> None:  # noqa: ANN001
    payload = {"kind": "worker", "host": "h", "pid": name, "queues": queues, "models": {}}
    presence.announce(redis_client, f"worker:h:{name}", payload)


def _dispatcher(redis_client, name: str) -> None:  # noqa: ANN001
    payload = {"kind": "dispatcher", "host": "h", "pid": name}
    presence.announce(redis_client, f"dispatcher:h:{name}", payload)


def _scans(redis_client) -> int:  # noqa: ANN001
    """How many SCAN and KEYS commands the server has run since it started."""
    stats = redis_client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("scan", "keys"))


def _fill(redis_client, count: int) -> None:  # noqa: ANN001
    pipe = redis_client.pipeline(transaction=False)
    for start in range(0, count, 10_000):
        pipe.mset({f"unrelated:{i}": "x" for i in range(start, min(count, start + 10_000))})
    pipe.execute()


def _gauges(client, name: str) -> dict[str, float]:  # noqa: ANN001
    text = client.get("/metrics").get_data(as_text=True)
    return {
        sample.labels.get("queue", ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


@pytest.fixture
def dispatcher_check(settings, monkeypatch):  # noqa: ANN001, ANN201
    """``python -m copydesk.deliver.dispatcher check`` in this process, for these settings."""
    from copydesk.deliver.dispatcher import main

    monkeypatch.setenv("COPYDESK_REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    yield lambda: main(["check"])
    get_settings.cache_clear()


def test_presence_is_read_without_scanning_the_keyspace(
    client, redis_client, settings, dispatcher_check
) -> None:  # noqa: ANN001
    """/readyz, /metrics, /v1/models, the worker report and the dispatcher's health check cost
    the same among 200,000 other keys: none of them runs SCAN or KEYS."""
    from copydesk.deliver.dispatcher import Dispatcher

    _fill(redis_client, 200_000)
    _worker(redis_client, "1", list(QUEUES))
    dispatcher = Dispatcher(settings)
    running = threading.Thread(target=dispatcher.run, daemon=True)
    running.start()
    try:
        wait_for(lambda: dispatcher_check() == 0, timeout=15)
        before = _scans(redis_client)
        paths = ("/readyz", "/metrics", "/v1/models", "/v1/workers")
        answers = {path: client.get(path).status_code for path in paths}
        assert dispatcher_check() == 0
        assert _scans(redis_client) == before
        assert answers == dict.fromkeys(paths, 200)
    finally:
        dispatcher.stop()
        running.join(timeout=15)
    assert dispatcher_check() == 1  # a dispatcher that stopped is gone at once, not in 30 s


def test_ready_means_redis_answers_even_with_no_worker_at_all(client) -> None:  # noqa: ANN001
    """One crash-looping worker must not pull every intake out of its load balancer: jobs
    simply wait in their queue."""
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ok" and response.get_json()["redis"] == {"ok": True}


def test_not_ready_when_redis_is_down(settings) -> None:  # noqa: ANN001
    """(As before: what changed is that nothing else makes it 503.)"""
    from copydesk.devstack.redis_server import free_port
    from copydesk.intake import create_app

    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    response = create_app(broken).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "unavailable", "redis": {"ok": False}, "missing": ["redis"]}


def test_the_worker_report_names_the_queue_no_live_worker_serves(client, redis_client) -> None:  # noqa: ANN001
    serving = ["prepare", "summary", "sentiment", "entities", "keyphrases", "quotes", "stories"]
    _worker(redis_client, "1", serving)  # topics is stopped
    _dispatcher(redis_client, "9")
    response = client.get("/v1/workers")
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert report["status"] == "degraded" and report["missing"] == ["topics"]
    assert report["workers"] == {
        "prepare": 1,
        "summary": 1,
        "sentiment": 1,
        "topics": 0,  # stopped
        "entities": 1,
        "keyphrases": 1,
        "quotes": 1,
        "stories": 1,
    }
    assert report["dispatchers"] == 1
    assert set(report["queues"]) == set(QUEUES) == set(report["queues_by_priority"])
    accepted = client.post("/v1/jobs", json={"article": {"text": "Waits for its topics."}})
    assert accepted.status_code == 202  # jobs are still accepted; they wait in their queue
    assert client.get("/readyz").status_code == 200
    assert client.get("/v1/workers").get_json()["queues"]["prepare"] == 1
    assert _gauges(client, "copydesk_workers") == {
        "prepare": 1.0, "summary": 1.0, "sentiment": 1.0, "topics": 0.0, "entities": 1.0,
        "keyphrases": 1.0, "quotes": 1.0, "stories": 1.0,
    }  # fmt: skip
    assert _gauges(client, "copydesk_dispatchers") == {"": 1.0}

    _worker(redis_client, "2", ["topics"])
    report = client.get("/v1/workers").get_json()
    assert report["status"] == "ok" and report["missing"] == []
    assert report["workers"]["topics"] == 1


def test_the_worker_report_is_degraded_without_a_dispatcher(client, redis_client) -> None:  # noqa: ANN001
    _worker(redis_client, "1", list(QUEUES))
    report = client.get("/v1/workers").get_json()
    assert report["missing"] == [] and report["dispatchers"] == 0
    assert report["status"] == "degraded"


def test_the_worker_report_needs_a_key_when_keys_are_set(settings, make_client) -> None:  # noqa: ANN001
    from pydantic import SecretStr

    keyed = make_client(
        settings.model_copy(update={"api_keys": SecretStr("ops:ops-key-0123456789")})
    )
    assert keyed.get("/v1/workers").status_code == 401
    authorised = keyed.get("/v1/workers", headers={"Authorization": "Bearer ops-key-0123456789"})
    assert authorised.status_code == 200


def test_a_silent_process_drops_out_and_its_keys_expire(redis_client) -> None:  # noqa: ANN001
    """Every presence key has a TTL: a Redis that no process announces to keeps nothing."""
    import time

    presence.announce(redis_client, "worker:h:1", {"kind": "worker", "queues": []}, ttl=1)
    assert [p["kind"] for p in presence.live(redis_client)] == ["worker"]
    assert all(0 < redis_client.ttl(key) <= 2 for key in (presence.MEMBERS, presence.ABOUT))
    time.sleep(1.2)
    assert presence.live(redis_client) == []
    wait_for(lambda: redis_client.exists(presence.MEMBERS, presence.ABOUT) == 0, timeout=3)


def test_a_heartbeat_announces_its_process_until_it_stops(redis_client) -> None:  # noqa: ANN001
    about = {"kind": "worker", "host": "h", "pid": 42, "queues": ["topics"]}
    beat = presence.Heartbeat(redis_client, "worker:h:42", lambda: about)
    beat.start()
    wait_for(lambda: presence.live(redis_client), timeout=5)
    assert presence.live(redis_client) == [about]
    beat.stop()
    assert not beat.is_alive()
    assert presence.live(redis_client) == []  # withdrawn at once, not when the TTL runs out


def test_a_worker_process_announces_itself_only_after_loading_its_models(
    settings, redis_client, monkeypatch
) -> None:  # noqa: ANN001
    from copydesk.workers import app as worker_app
    from copydesk.workers import process
    from copydesk.workers.app import create_celery_app

    seen_while_loading = []

    def loading(settings, *, queues):  # noqa: ANN001, ANN202
        seen_while_loading.append(presence.live(redis_client))
        return {}

    monkeypatch.setattr(process, "load_models", loading)
    create_celery_app(settings.model_copy(update={"worker_memory_limit_mb": 0}))
    worker_app._prepare_process()
    try:
        assert seen_while_loading == [[]]
        [worker] = wait_for(lambda: presence.live(redis_client), timeout=5)
        assert worker["pid"] == os.getpid() and worker["queues"] == sorted(QUEUES)
    finally:
        process.stop_heartbeat()
    assert presence.live(redis_client) == []


@pytest.mark.parametrize("stop", ["SIGTERM", "Ctrl-C"])
def test_a_stopping_worker_withdraws_its_processes(redis_url, redis_client, stop: str) -> None:  # noqa: ANN001
    """A real prefork worker: its pool process counts once started, and is gone as soon as
    the worker has stopped (SIGTERM as compose and Kubernetes send it, or Ctrl-C to the whole
    process group as a terminal sends it), not 30 s later."""
    env = {**os.environ, "COPYDESK_REDIS_URL": redis_url, "COPYDESK_PRELOAD_MODELS": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "copydesk.workers.celery_app", "worker",
         "-P", "prefork", "-c", "1", "-Q", "topics", "-n", f"presence-{uuid.uuid4().hex}@%h",
         "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        [process] = wait_for(lambda: presence.live(redis_client), timeout=120, every=0.2)
        assert process["queues"] == ["topics"] and process["pid"] != worker.pid  # a pool process
        if stop == "SIGTERM":
            worker.send_signal(signal.SIGTERM)
        else:
            os.killpg(worker.pid, signal.SIGINT)
        worker.wait(timeout=60)
        assert presence.live(redis_client) == []
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        worker.stderr.close()
