"""PostgreSQL killed for 60 s during a run of 200 jobs: no job, no webhook, no archive row lost.

The whole stack as ``make run`` starts it, with the archive on its own embedded PostgreSQL,
which the test kills (-9, the server and every process of it) and starts again on its data
after a minute. Jobs complete and their webhooks go out while it is away (neither waits for
the archive); their rows follow once it is back, each exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from copydesk.archive.outbox import OUTBOX
from copydesk.devstack.postgres_server import PostgresServer
from copydesk.devstack.receiver import Receiver
from copydesk.devstack.redis_server import RedisServer, free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures"
JOBS = 200
OUTAGE_SECONDS = 60  # acceptance 2 of the archive's issue


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[RedisServer, PostgresServer]]:
    redis_server = RedisServer(data_dir=tmp_path / "redis", appendonly=False).start()
    postgres = PostgresServer(data_dir=tmp_path / "postgres", fsync=False).start()
    yield redis_server, postgres
    postgres.stop()
    redis_server.stop()


def _submit(session: requests.Session, base: str, texts: list[str], webhook: str) -> list[str]:
    ids = []
    for text in texts:
        body = {"article": {"text": text}, "analyses": ["sentiment"], "webhook": {"url": webhook}}
        response = session.post(base + "/v1/jobs", json=body, timeout=10)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _archived(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [row[0].hex for row in conn.execute("SELECT job_id FROM archived_jobs")]


def test_postgres_away_for_a_minute_loses_no_job_webhook_or_row(
    tmp_path: Path, servers: tuple[RedisServer, PostgresServer]
) -> None:
    redis_server, postgres = servers
    stack = Stack(
        var_dir=tmp_path / "var",
        http_port=free_port(),
        redis_url=redis_server.url,
        archive=True,
        database_url=postgres.url,
        analysis_concurrency=2,
        log_dir=tmp_path / "logs",
        extra_env={
            "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "COPYDESK_WEBHOOK_SECRET": SECRET,
            "COPYDESK_WEBHOOK_RETRY_DELAYS": "1,2,4",
            "COPYDESK_RATE_LIMIT": "100000/minute",
        },
    )
    seed = (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")
    texts = [f"Report {i}.\n\n{seed}" for i in range(JOBS)]
    client = redis.Redis.from_url(redis_server.url)
    try:
        stack.start(timeout=120)
        with Receiver() as receiver, requests.Session() as session:
            ids = _submit(session, stack.base_url, texts[:20], receiver.url)
            postgres.stop(kill=True)
            killed = time.monotonic()
            ids += _submit(session, stack.base_url, texts[20:], receiver.url)

            def all_finished() -> bool:
                statuses = {
                    session.get(f"{stack.base_url}/v1/jobs/{i}", timeout=10).json()["status"]
                    for i in ids
                }
                return statuses <= TERMINAL

            wait_for(all_finished, timeout=240, every=1)
            wait_for(lambda: len(set(receiver.ids())) == JOBS, timeout=60, every=0.5)
            assert time.monotonic() - killed < OUTAGE_SECONDS + 30  # done while it was away
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - killed)))
            waiting = client.zcard(OUTBOX)
            assert waiting >= JOBS - 20  # at most the first 20 were archived before the kill
            postgres.start()
            wait_for(lambda: client.zcard(OUTBOX) == 0, timeout=120, every=0.5)
            rows = _archived(postgres.url)
            assert sorted(rows) == sorted(ids)  # every row, each once
            assert len(set(receiver.ids())) == JOBS  # every webhook, still
    finally:
        client.close()
        stack.stop()
