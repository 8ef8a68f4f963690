"""The intake reads PostgreSQL under gunicorn's threaded workers without stalling them.

The whole stack as ``make run`` starts it, with the archive on its own embedded PostgreSQL,
and its intake command again with one worker process, which every request here goes to.
Archived jobs (read by id once Redis let them go), the listing and /v1/articles are read
together over HTTP from many threads; and while a lock holds PostgreSQL's readers waiting,
the same intake processes keep answering everything else: a read waiting on PostgreSQL
holds its own thread only (libpq waits with the GIL released) instead of blocking the
process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import redis
import requests

from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

KEY = "alice-key-0123456789"
FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures"
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
JOBS = 4


@pytest.fixture(scope="module")
def archived_stack(start_archived_stack: Callable[..., Stack]) -> Stack:
    return start_archived_stack(
        "archive-reads",
        {
            "COPYDESK_API_KEYS": f"alice:{KEY}",
            "COPYDESK_RATE_LIMIT": "100000/minute",
            "COPYDESK_ARCHIVE_KEPT_SECONDS": "1",
            "COPYDESK_ARCHIVE_POOL_SIZE": "2",  # fewer connections than readers: some wait
            "COPYDESK_ARCHIVE_SEARCH_TIMEOUT_MS": "30000",
        },
    )


@pytest.fixture(scope="module")
def one_worker_url(archived_stack: Stack, start_intake: Callable[..., str]) -> str:
    """The stack's intake command again, on another port, with one worker process: every
    request below is that one process's, so a read that blocked it would stall them all."""
    return start_intake(archived_stack, "one-worker", workers=1)


def test_archived_jobs_listing_and_search_read_concurrently_from_one_intake_process(
    archived_stack: Stack, one_worker_url: str
) -> None:
    base = one_worker_url
    auth = {"Authorization": f"Bearer {KEY}"}
    text = (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")
    ids = []
    for n in range(JOBS):
        answer = requests.post(
            base + "/v1/jobs",
            json={"article": {"text": text, "title": f"Seed {n}", "ref": f"seed-{n}"},
                  "analyses": ["sentiment", "topics", "entities"]},
            headers=auth, timeout=30,
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    finished = {
        job_id: wait_for(
            lambda job_id=job_id: (
                (job := requests.get(f"{base}/v1/jobs/{job_id}", headers=auth, timeout=10).json())[
                    "status"
                ]
                in TERMINAL
                and job
            ),
            timeout=300,
            every=0.5,
        )
        for job_id in ids
    }
    store = redis.Redis.from_url(archived_stack.redis_url)
    wait_for(lambda: not any(store.exists(f"copydesk:job:{i}") for i in ids), timeout=120)
    store.close()  # Redis let every job go: from here on, only the archive has them
    entity = finished[ids[0]]["results"]["entities"]["entities"][0]["name"]

    def read(path: str) -> requests.Response:
        return requests.get(base + path, headers=auth, timeout=60)

    paths = (
        [f"/v1/jobs/{i}" for i in ids]
        + ["/v1/jobs?limit=2", "/v1/jobs", f"/v1/articles?entity={entity}", "/v1/entities"]
        + ["/v1/articles?text=" + finished[ids[0]]["article"]["title"].split()[0]]
    ) * 5
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(read, paths))
    for path, answer in zip(paths, answers, strict=True):
        assert answer.status_code == 200, (path, answer.text)
        if path.startswith("/v1/jobs/"):
            assert answer.json() == finished[path.rsplit("/", 1)[1]]
        elif path == "/v1/jobs":
            assert [job["id"] for job in answer.json()["jobs"]] == ids[::-1]
        elif path.startswith("/v1/articles?entity"):
            assert {a["id"] for a in answer.json()["articles"]} == set(ids)

    # PostgreSQL's readers wait on a lock; the intake's other requests do not wait with them
    with psycopg.connect(archived_stack.database_url) as conn:
        conn.execute("LOCK TABLE archived_jobs IN ACCESS EXCLUSIVE MODE")
        waiting = ThreadPoolExecutor(max_workers=8)
        held = [waiting.submit(read, f"/v1/jobs/{ids[n % JOBS]}") for n in range(8)]
        time.sleep(1.0)  # every one of them is now inside PostgreSQL, waiting
        assert not any(f.done() for f in held)
        began = time.monotonic()
        for _ in range(10):
            assert requests.get(base + "/healthz", timeout=5).status_code == 200
            assert read("/v1/models").status_code == 200
        answered = time.monotonic() - began
        assert not any(f.done() for f in held)  # still waiting, and the rest was served
    done = [f.result(timeout=60) for f in held]  # the lock released: every read answers
    waiting.shutdown()
    assert all(answer.status_code == 200 for answer in done), [a.text for a in done]
    assert answered < 5.0, answered  # generous: a blocked process would not answer at all
