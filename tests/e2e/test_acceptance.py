"""The whole stack over HTTP, as a newcomer uses it after ``make run``."""

from __future__ import annotations

import json
import socket
import time

import pytest
import redis
from standardwebhooks.webhooks import Webhook

from copydesk.devstack.receiver import Receiver
from copydesk.devstack.waiting import wait_for

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_seed_article_succeeds_within_30_seconds(jobs, seed_article) -> None:  # noqa: ANN001
    started = time.monotonic()
    response = jobs.submit({"article": {"text": seed_article}})
    assert response.status_code == 202
    assert response.headers["Location"] == f"/v1/jobs/{response.json()['id']}"
    job = jobs.finished(response.json()["id"], timeout=30)
    assert job["status"] == "succeeded", job
    assert time.monotonic() - started < 30
    text = jobs.get(response.headers["Location"] + "/text").text
    link_lines = [line for line in seed_article.splitlines()[-7:] if line.strip()]
    for sentence in job["results"]["summary"]["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert all(
            sentence["text"] not in line and line not in sentence["text"] for line in link_lines
        )
    assert job["results"]["sentiment"]["label"] == "negative"
    top3 = [entry["label"] for entry in job["results"]["topics"]["labels"][:3]]
    assert "conflict, war and peace" in top3
    assert not text.startswith("IS Chechen commander vows to revenge Russia")
    assert "Top stories" not in text and "Partner news" not in text


def test_webhook_arrives_signed_and_ipv6_loopback_is_refused(jobs) -> None:  # noqa: ANN001
    with Receiver() as receiver:
        body = {
            "article": {"text": "Markets rallied on Friday after strong jobs data."},
            "analyses": ["sentiment"],
            "webhook": {"url": receiver.url},
        }
        job_id = jobs.submit(body).json()["id"]
        wait_for(lambda: receiver.requests, timeout=30)
        _, headers, payload = receiver.requests[0]
        event = Webhook(SECRET).verify(payload, headers)
        assert event["type"] == "job.succeeded" and event["data"]["job_id"] == job_id
        assert event["data"]["job_url"].endswith(f"/v1/jobs/{job_id}")

    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    listener.bind(("::1", 0))
    listener.listen(1)
    listener.settimeout(3)
    try:
        port = listener.getsockname()[1]
        refused = jobs.submit(
            {"article": {"text": "Some text here."}, "webhook": {"url": f"http://[::1]:{port}/"}}
        )
        assert refused.status_code == 422 and refused.json()["code"] == "webhook_refused"
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_killing_pool_processes_mid_task_loses_nothing(jobs, stack) -> None:  # noqa: ANN001
    paragraph = (
        "The regional council met on Tuesday to debate the new transport budget, which funds "
        "buses, trams and road repairs across the province. Opposition members argued that "
        "rural districts had been ignored for years, while the governor defended the plan. "
    )
    text = "\n\n".join(f"Section {i}. {paragraph}" for i in range(500))  # ~20,000 words
    job_id = jobs.submit({"article": {"text": text}}).json()["id"]

    def busy() -> list[int]:
        job = jobs.get(f"/v1/jobs/{job_id}").json()
        return job["status"] == "running" and stack.pool_pids("analysis-worker")

    wait_for(busy, timeout=60, every=0.05)
    time.sleep(0.5)
    stack.kill_hard("analysis-worker", pool_only=True)
    job = jobs.finished(job_id, timeout=240)
    assert job["status"] == "succeeded", job
    for result in job["results"].values():
        assert result["coverage"] == 1.0
    deliveries = redis.Redis.from_url(stack.redis_url).hgetall(f"copydesk:job:{job_id}")
    attempts = {k: int(v) for k, v in deliveries.items() if k.startswith(b"attempts:")}
    assert max(attempts.values()) >= 2, attempts  # the killed task really ran again


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{oops", 400, "malformed_json"),
        (json.dumps({"article": {"title": "no text"}}).encode(), 422, "validation_failed"),
        (json.dumps({"article": {"text": ["a"]}}).encode(), 422, "validation_failed"),
        (
            json.dumps({"article": {"text": "x"}, "analyses": ["astrology"]}).encode(),
            422,
            "unknown_analysis",
        ),
        (json.dumps({"article": {"text": "word " * 420_000}}).encode(), 413, "body_too_large"),
    ],
)
def test_bad_input_over_http_is_a_problem_never_a_5xx(jobs, body, status, code) -> None:  # noqa: ANN001
    response = jobs.submit(body)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    for _ in range(3):  # the same keep-alive connection still serves the next requests
        assert jobs.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("article", "codes"),
    [
        ({"text": "We go to the park. " * 45_000}, {"too_many_sentences"}),
        ({"text": "We go to the park. " * 15_000}, {"too_many_sentences"}),
        ({"text": "ab" * 450_000}, set()),  # analysed up to COPYDESK_MAX_CHARS, coverage < 1
        ({"text": "a" * 900_000}, {"not_prose"}),  # one letter, no word of any language
        ({"html": "<div>" * 20_000 + "Deep text here." + "</div>" * 20_000}, None),
    ],
    ids=["park-855kB", "park-285kB", "one-900kB-token", "900kB-of-one-letter", "20000-nested-divs"],
)
def test_hostile_article_ends_with_a_code_and_a_short_one_still_runs(
    jobs, stack, article, codes
) -> None:  # noqa: ANN001
    began = time.monotonic()
    hostile = jobs.submit({"article": article})
    assert hostile.status_code == 202 and time.monotonic() - began < 1.0
    short = jobs.submit({"article": {"text": "The council approved the school budget on Monday."}})
    assert jobs.finished(short.json()["id"], timeout=5)["status"] == "succeeded"
    job = jobs.finished(hostile.json()["id"], timeout=60)
    if codes is None:
        assert job["status"] in {"succeeded", "failed"}, job
        if job["status"] == "failed":
            assert all(r["error"]["code"] for r in job["results"].values())
    elif not codes:
        assert job["status"] == "succeeded", job
        assert job["article"]["analysed_characters"] < job["article"]["characters"]
        assert all(r["coverage"] < 0.5 for r in job["results"].values())
    else:
        assert job["status"] == "failed"
        assert {r["error"]["code"] for r in job["results"].values()} == codes
    for name, process in stack.processes.items():
        assert process.poll() is None, f"{name} died"


def test_chunked_body_over_the_limit_is_413_not_malformed(jobs) -> None:  # noqa: ANN001
    def chunks():  # noqa: ANN202 - no Content-Length: sent with Transfer-Encoding: chunked
        yield b'{"article": {"text": "'
        for _ in range(200):
            yield b"word " * 2_000
        yield b'"}}'

    response = jobs.session.post(
        jobs.base_url + "/v1/jobs",
        data=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
