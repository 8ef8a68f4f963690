"""copydesk's kombu transport against a real Redis that dies under a consuming channel.

A worker that lost Redis collected its connection and then closed it; kombu's stock transport
could raise ``AttributeError`` in that close, and the worker exited ("Unrecoverable error"),
consuming nothing until restarted. The close must be silent and lose no unacked message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.transport import redis as kombu_redis

from copydesk.devstack.redis_server import RedisServer, free_port
from copydesk.workers import broker
from copydesk.workers.app import create_celery_app

TASKS = Queue("tasks", Exchange("tasks", type="direct"), routing_key="tasks")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(data_dir=tmp_path / "redis", port=free_port()).start()
    yield running
    running.stop()


def _collected_mid_close(connection: Connection) -> None:
    """What ``Connection.collect`` leaves when the channel's close did not finish on a dying
    Redis (a read timed out): the channel still open and the transport's link to its connection
    dropped (kombu's ``_do_close_transport``). Whether the worker meets it depends on how fast
    Redis dies, so it is done here directly."""
    connection._do_close_transport()


def test_a_channel_closed_after_its_connection_was_collected_loses_nothing(
    server: RedisServer,
) -> None:
    broker.register()
    connection = Connection(server.url)
    assert isinstance(connection.transport, broker.Transport)
    channel = connection.default_channel
    for n in range(2):
        Producer(channel).publish({"n": n}, exchange=TASKS.exchange, routing_key="tasks",
                                  declare=[TASKS])  # fmt: skip
    held = []
    Consumer(channel, [TASKS], callbacks=[lambda _, message: held.append(message)]).consume()
    deadline = time.monotonic() + 10
    while len(held) < 2 and time.monotonic() < deadline:
        connection.drain_events(timeout=1)
    assert len(held) == 2  # delivered, not acknowledged: kombu's unacked hash holds them
    time.sleep(1.2)  # the AOF is written every second

    server.stop(kill=True)
    _collected_mid_close(connection)
    connection.close()  # the stock transport raised AttributeError here

    server.start()
    options = {"visibility_timeout": 1}
    with Connection(server.url, transport_options=options) as again:
        time.sleep(1.1)
        again.default_channel.qos.restore_visible(interval=1)  # kombu's visibility sweep
    client = redis.Redis.from_url(server.url)
    assert client.llen("tasks") == 2
    client.close()


def test_workers_use_the_mended_transports_behind_redis_urls(server: RedisServer) -> None:
    app = create_celery_app()  # registers them, as every worker process does
    with app.connection_for_read() as connection:
        assert isinstance(connection.transport, broker.Transport)
        assert connection.as_uri().startswith("redis://")  # Flower finds the queues by it
    with Connection("sentinel://127.0.0.1:26379/0") as sentinel:
        assert isinstance(sentinel.transport, broker.SentinelTransport)
        assert isinstance(sentinel.transport, kombu_redis.SentinelTransport)
