"""Real faults against the real stack: kill -9 of pool processes, of the whole worker and of
Redis (restarted on its AOF), a receiver that refuses, a task delivered twice.

Each test starts its own stack on its own Redis, so it can kill them. Time limits are
compressed (COPYDESK_STALL_SECONDS, the retry schedule); what is tested is that nothing is
lost, nothing sticks, and every event arrives once per ``webhook-id``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from copydesk.core.messages import task_message
from copydesk.core.names import QUEUES, queue_key
from copydesk.devstack.receiver import Receiver
from copydesk.devstack.redis_server import RedisServer, free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(data_dir=tmp_path / "redis", port=free_port()).start()
    yield server
    server.stop()


def _stack(tmp_path: Path, redis_server: RedisServer, **env: str) -> Stack:
    return Stack(
        var_dir=tmp_path / "var",
        http_port=free_port(),
        redis_url=redis_server.url,
        analysis_concurrency=2,
        log_dir=tmp_path / "logs",
        extra_env={
            "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "COPYDESK_WEBHOOK_SECRET": SECRET,
            "COPYDESK_WEBHOOK_RETRY_DELAYS": "1,2,4,8,16,32",
            "COPYDESK_STALL_SECONDS": "15",
            "COPYDESK_SWEEP_INTERVAL_SECONDS": "2",
            **env,
        },
    )


@pytest.fixture
def stack(tmp_path: Path, redis_server: RedisServer) -> Iterator[Stack]:
    running = _stack(tmp_path, redis_server)
    try:
        running.start(timeout=120)
        yield running
    finally:
        running.stop()


def _articles(count: int) -> list[str]:
    """Distinct real-length articles: the seed article, numbered."""
    seed = (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")
    return [f"Report {i}.\n\n{seed}" for i in range(count)]


def _submit_all(base: str, texts: list[str], webhook: str | None) -> list[str]:
    ids = []
    with requests.Session() as session:
        for text in texts:
            body: dict = {"article": {"text": text}}
            if webhook:
                body["webhook"] = {"url": webhook}
            response = session.post(base + "/v1/jobs", json=body, timeout=10)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
    return ids


def _statuses(base: str, ids: list[str]) -> dict[str, str]:
    with requests.Session() as session:
        return {i: session.get(f"{base}/v1/jobs/{i}", timeout=10).json()["status"] for i in ids}


def _all_finished(stack: Stack, ids: list[str], *, timeout: float) -> dict[str, str]:
    def done() -> dict[str, str] | None:
        try:
            statuses = _statuses(stack.base_url, ids)
        except (requests.RequestException, KeyError):
            return None
        return statuses if set(statuses.values()) <= TERMINAL else None

    try:
        return wait_for(done, timeout=timeout, every=0.5)
    except TimeoutError:
        raise AssertionError(_diagnosis(stack, ids)) from None


def _diagnosis(stack: Stack, ids: list[str]) -> str:
    """What the unfinished jobs look like in Redis, for a failure message."""
    client = redis.Redis.from_url(str(stack.redis_url), decode_responses=True)
    lines = [
        f"queues: { {q: client.llen(queue_key(q)) for q in ('prepare', 'summary', 'sentiment', 'topics')} }"
    ]
    lines.append(
        f"unacked: {client.hlen('unacked')}, in flight: {client.zcard('copydesk:inflight')}"
    )
    lines.append(f"server time: {client.time()[0]}")
    for job_id in ids:
        fields = client.hgetall(f"copydesk:job:{job_id}")
        if fields.get("status") not in TERMINAL:
            fields = {k: v for k, v in fields.items() if k not in ("record", "article")}
            score = client.zscore("copydesk:inflight", job_id)
            lines.append(f"{job_id} look at {score}: {fields}")
    client.close()
    if stack.log_dir is not None:  # what went wrong in the worker, if it said so
        log = (stack.log_dir / "analysis-worker.log").read_text(errors="replace").splitlines()
        worse = [line[:400] for line in log if '"level": "info"' not in line and "{" in line]
        lines += ["worker log, not info:", *worse[-6:]]
    return "\n".join(lines)


def test_the_fault_run_loses_nothing(stack: Stack, redis_server: RedisServer) -> None:
    """60 jobs with webhooks; the receiver refuses its first 60 deliveries; mid-run the pool
    processes and then Redis are killed with SIGKILL, and Redis restarts on its AOF."""
    receiver = Receiver(SECRET, refuse_first=60)
    try:
        ids = _submit_all(stack.base_url, _articles(60), receiver.url)
        wait_for(lambda: list(_statuses(stack.base_url, ids).values()).count("succeeded") >= 5)
        stack.kill_hard("analysis-worker", pool_only=True)
        redis_server.stop(kill=True)

        started = time.monotonic()
        refused = requests.post(
            stack.base_url + "/v1/jobs", json={"article": {"text": "While Redis is down."}}
        )
        assert time.monotonic() - started < 2
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "service_unavailable"

        time.sleep(1)
        redis_server.start()
        statuses = _all_finished(stack, ids, timeout=180)
        assert list(statuses.values()) == ["succeeded"] * 60
        wait_for(lambda: len(receiver.processed) == 60, timeout=120)
        assert sorted(receiver.processed) == sorted(f"msg_{i}_job.succeeded" for i in ids)
        assert receiver.bad_signatures == 0
        assert {e["data"]["job_id"] for e in receiver.processed.values()} == set(ids)
        refusals = 0
        with requests.Session() as session:
            for job_id in ids:
                listed = session.get(f"{stack.base_url}/v1/jobs/{job_id}/deliveries").json()
                assert listed["webhook"]["state"] == "delivered"
                refusals += sum(1 for a in listed["attempts"] if a["status"] == 503)
        assert refusals >= 55  # a refusal logged just before the kill may be lost with Redis
    finally:
        receiver.close()


def test_killing_the_whole_worker_loses_nothing(stack: Stack) -> None:
    ids = _submit_all(stack.base_url, _articles(12), None)
    worker = stack.processes["analysis-worker"]
    wait_for(lambda: "running" in _statuses(stack.base_url, ids).values(), every=0.05)
    stack.kill_hard("analysis-worker")
    worker.wait(timeout=10)
    stack.restart("analysis-worker")  # as compose's restart policy (or make run) would
    statuses = _all_finished(stack, ids, timeout=150)
    assert list(statuses.values()) == ["succeeded"] * 12


def test_a_task_delivered_twice_completes_the_job_once(stack: Stack) -> None:
    receiver = Receiver(SECRET)
    try:
        client = redis.Redis.from_url(str(stack.redis_url))
        pubsub = client.pubsub()
        pubsub.psubscribe("copydesk:job:*:events")
        pubsub.get_message(timeout=1)  # the subscription's confirmation
        [job_id] = _submit_all(stack.base_url, _articles(1), receiver.url)
        for queue, task in [
            ("prepare", "copydesk.prepare"),
            ("summary", "copydesk.analyse.summary"),
        ]:
            client.lpush(queue_key(queue), task_message(task, (job_id,), queue=queue))  # copies
        [status] = _all_finished(stack, [job_id], timeout=60).values()
        assert status == "succeeded"
        time.sleep(3)  # the copies run too, and must find the work done
        wait_for(lambda: len(receiver.processed) == 1, timeout=30)
        ends = []
        while (message := pubsub.get_message(timeout=0.1)) is not None:
            if message["type"] == "pmessage":
                ends.append(json.loads(message["data"])["type"])
        assert ends.count("job.succeeded") == 1
        assert receiver.duplicates == 0 and client.llen(queue_key("summary")) == 0
        pubsub.close()
        client.close()
    finally:
        receiver.close()


def test_the_worker_report_names_the_queue_no_live_worker_serves(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The stack without a topics worker stays ready and accepts jobs (they wait in their
    queue); the worker report names the missing queue, and a topics worker joining (on any
    host: it only needs the same Redis) completes it."""
    partial = _stack(tmp_path, redis_server)
    partial.analysis_queues = ",".join(queue for queue in QUEUES if queue != "topics")
    try:
        partial.start(timeout=120)  # waits for the queues it serves and a dispatcher
        url = partial.base_url + "/v1/workers"
        body = requests.get(url, timeout=5).json()
        assert body["status"] == "degraded" and body["missing"] == ["topics"]
        assert requests.get(partial.base_url + "/readyz", timeout=5).status_code == 200
        job = {"article": {"text": "Waits for its topics worker."}}
        accepted = requests.post(partial.base_url + "/v1/jobs", json=job, timeout=5)
        assert accepted.status_code == 202
        partial._spawn(
            "topics-worker",
            [sys.executable, "-m", "celery", "-A", "copydesk.workers.celery_app", "worker",
             "-Q", "topics", "-c", "1", "-n", "topics@%h", "--without-gossip", "--without-mingle"],
        )  # fmt: skip

        def complete() -> dict | None:
            report = requests.get(url, timeout=5).json()
            return report if report["status"] == "ok" else None

        ready = wait_for(complete, timeout=120)
        assert ready["missing"] == [] and ready["workers"]["topics"] == 1
    finally:
        partial.stop()
