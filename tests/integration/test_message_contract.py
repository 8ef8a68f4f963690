"""A stock Celery worker consumes the task messages copydesk writes by hand.

copydesk.core.messages writes Celery's task protocol 2 inside kombu's Redis envelope, and the
intake, the prepare stage and the sweeper LPUSH it straight onto the list a worker polls
(copydesk.core.names.queue_key), with no Celery client. Neither Celery nor kombu promises
that format, so this test holds them to it: the real worker configuration
(``create_celery_app``) on a real Redis, with each of copydesk's task names bound to a task
that only records what reached it. pyproject.toml pins the celery and kombu versions this
passed with; a change of either must pass it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from copydesk.core.messages import next_job_id, task_message
from copydesk.core.names import (
    ANALYSIS_TASKS,
    PREPARE_QUEUE,
    PREPARE_TASK,
    PRIORITY_STEPS,
    QUEUES,
    queue_key,
    queue_keys,
)
from copydesk.core.settings import Settings
from copydesk.devstack.waiting import wait_for

pytestmark = pytest.mark.integration

TASKS = {PREPARE_QUEUE: PREPARE_TASK, **ANALYSIS_TASKS}  # queue -> task name


@pytest.fixture
def recording_app(settings: Settings, redis_client: redis.Redis) -> tuple[Any, list[dict]]:
    """copydesk's Celery app, each task name bound to a task that records its request."""
    from copydesk.workers.app import create_celery_app

    app = create_celery_app(settings)
    arrived: list[dict] = []

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        request = self.request
        arrived.append(
            {
                "task": self.name,
                "id": request.id,
                "args": list(args),
                "kwargs": kwargs,
                "retries": request.retries,
                "routing_key": request.delivery_info["routing_key"],
                "priority": request.delivery_info["priority"],
                "eta": request.eta,
                "expires": request.expires,
            }
        )

    for queue, name in TASKS.items():
        app.tasks.unregister(name)  # the real task: this one only records
        app.task(name=name, queue=queue, bind=True, shared=False, acks_late=True)(record)
    return app, arrived


@pytest.fixture
def run_worker(recording_app: tuple[Any, list[dict]]) -> Callable[..., Any]:
    """Run a real worker on every queue, one task at a time, for a ``with`` block."""
    from celery.contrib.testing.worker import start_worker

    app, _ = recording_app

    @contextmanager
    def run() -> Iterator[None]:
        with start_worker(
            app,
            pool="threads",
            concurrency=1,  # one message at a time: the order they arrive is the order taken
            perform_ping_check=False,
            queues=list(QUEUES),
            shutdown_timeout=30,
        ):
            yield

    return run


def _push(client: redis.Redis, task: str, job_id: str, *, queue: str, priority: str) -> dict:
    """LPUSH a message as the intake's CREATE script does; return the envelope written."""
    payload = task_message(task, (job_id,), queue=queue, priority=priority)
    client.lpush(queue_key(queue, priority), payload)
    return json.loads(payload)


def test_every_task_name_runs_with_its_job_id_queue_and_priority(
    recording_app, run_worker, redis_client
) -> None:  # noqa: ANN001
    _, arrived = recording_app
    sent = {}
    for queue, task in TASKS.items():
        for n in (1, 2):
            job_id = f"job_{queue}_{n}"
            sent[job_id] = _push(redis_client, task, job_id, queue=queue, priority="normal")
    for queue in TASKS:  # what /metrics reads as the next job is the one a worker takes next
        assert next_job_id(redis_client, queue_key(queue)) == f"job_{queue}_1"

    with run_worker():
        wait_for(lambda: len(arrived) == len(sent), timeout=30, every=0.05)

    for got in arrived:
        [job_id] = got["args"]
        envelope = sent[job_id]
        queue = job_id.split("_")[1]
        assert got == {
            "task": TASKS[queue],
            "id": envelope["headers"]["id"],
            "args": [job_id],
            "kwargs": {},
            "retries": 0,  # a task's delivery token counts its own retries from here
            "routing_key": queue,
            "priority": PRIORITY_STEPS["normal"],
            "eta": None,
            "expires": None,
        }
    for queue in TASKS:  # each list is served oldest first
        order = [got["args"][0] for got in arrived if got["task"] == TASKS[queue]]
        assert order == [f"job_{queue}_1", f"job_{queue}_2"]
    assert all(redis_client.llen(key) == 0 for queue in QUEUES for key in queue_keys(queue))
    assert redis_client.hlen("unacked") == 0  # every message acknowledged


def test_every_queues_high_priority_is_served_before_any_normal_or_low(
    recording_app, run_worker, redis_client
) -> None:  # noqa: ANN001
    _, arrived = recording_app
    for priority in ("low", "normal", "high"):  # pushed lowest first: FIFO would get it wrong
        for queue, task in TASKS.items():
            _push(redis_client, task, f"{priority}_{queue}", queue=queue, priority=priority)

    with run_worker():
        wait_for(lambda: len(arrived) == 3 * len(TASKS), timeout=30, every=0.05)

    steps = [got["priority"] for got in arrived]
    assert steps == sorted(steps)
    assert [got["args"][0].split("_")[0] for got in arrived] == [
        priority for priority in ("high", "normal", "low") for _ in TASKS
    ]


def test_a_message_a_consumer_held_goes_back_to_its_own_priority(
    recording_app, redis_client
) -> None:  # noqa: ANN001
    """What happens when a worker stops before acknowledging: kombu puts the message back."""
    from kombu import Consumer

    app, _ = recording_app
    queue = "summary"
    _push(redis_client, TASKS[queue], "held", queue=queue, priority="low")
    held = []
    with app.connection_for_read() as connection:
        consumer = Consumer(
            connection.default_channel,
            queues=[app.amqp.queues[queue]],
            accept=["json"],
            callbacks=[lambda body, message: held.append(message)],  # never acknowledged
        )
        with consumer:
            connection.drain_events(timeout=10)
    assert len(held) == 1 and held[0].delivery_info["routing_key"] == queue
    assert redis_client.llen(queue_key(queue, "low")) == 1
    assert redis_client.llen(queue_key(queue, "normal")) == 0
    assert next_job_id(redis_client, queue_key(queue, "low")) == "held"
