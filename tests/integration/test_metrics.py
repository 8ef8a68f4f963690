"""/metrics after real jobs through a real worker: every series, in a format Prometheus'
own parser accepts."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from copydesk.store.presence import announce
from copydesk.devstack.waiting import wait_for


def _samples(client) -> dict[str, list]:  # noqa: ANN001
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = text_string_to_metric_families(response.get_data(as_text=True))
    found: dict[str, list] = {}
    for family in families:
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def test_metrics_show_every_series_after_a_job(client, start_worker, store) -> None:  # noqa: ANN001
    start_worker()
    response = client.post("/v1/jobs", json={"article": {"text": "Shares rose after the report."}})
    job_id = response.get_json()["id"]
    wait_for(lambda: client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "succeeded")
    client.post("/v1/jobs", json={"article": {"text": "x"}, "analyses": ["nope"]})  # a 422
    announce(store.redis, "h:1", {"host": "h", "pid": 1, "queues": ["prepare"], "rss_mb": 180.5})
    entry = {"attempt": 1, "at": "2026-11-29T12:00:00.000Z", "status": 204, "error": None, "ms": 3}
    store.redis.hset(store.job_key(job_id), "webhook_state", "pending")
    store.settle_delivery(job_id, state="delivered", entry=entry)

    samples = _samples(client)
    requests = {
        (s.labels["route"], s.labels["status"]) for s in samples["copydesk_http_requests_total"]
    }
    assert ("/v1/jobs", "202") in requests and ("/v1/jobs", "422") in requests
    assert samples["copydesk_http_request_duration_seconds_bucket"]
    jobs = {s.labels["event"]: s.value for s in samples["copydesk_jobs_total"]}
    assert jobs["accepted"] == 1 and jobs["succeeded"] == 1  # the 422 was never accepted
    analyses = {
        (s.labels["analysis"], s.labels["outcome"]): s for s in samples["copydesk_analyses_total"]
    }
    assert {("summary", "succeeded"), ("sentiment", "succeeded"), ("topics", "succeeded")} <= set(
        analyses
    )
    assert "MiniLM" in analyses[("topics", "succeeded")].labels["model"]
    counts = {
        s.labels["analysis"]: s.value for s in samples["copydesk_analysis_duration_seconds_count"]
    }
    assert counts["summary"] >= 1
    infinite = [
        s for s in samples["copydesk_analysis_duration_seconds_bucket"] if s.labels["le"] == "+Inf"
    ]
    assert {s.labels["analysis"] for s in infinite} >= {"summary", "sentiment", "topics"}
    depths = {(s.labels["queue"], s.labels["priority"]) for s in samples["copydesk_queue_depth"]}
    assert ("stories", "high") in depths and len(depths) == 8 * 3
    assert {s.labels["queue"] for s in samples["copydesk_oldest_queued_seconds"]} == {
        "prepare", "summary", "sentiment", "topics", "entities", "keyphrases", "quotes",
        "stories",
    }  # fmt: skip
    webhooks = {s.labels["outcome"]: s.value for s in samples["copydesk_webhook_attempts_total"]}
    assert webhooks["delivered"] == 1
    [rss] = samples["copydesk_worker_rss_bytes"]
    assert rss.value == 180.5 * 1024 * 1024 and rss.labels["queues"] == "prepare"
    [used] = samples["copydesk_redis_used_memory_bytes"]
    [limit] = samples["copydesk_redis_maxmemory_bytes"]
    info = store.redis.info("memory")
    assert 0 < used.value and limit.value == info["maxmemory"]  # the tests' Redis: unbounded


def test_metrics_show_the_parse_based_analyses_and_the_parse(
    client, start_worker, seed_article
) -> None:  # noqa: ANN001
    """Issue 18's analyses are counted and timed like the first three, and the prepare stage's
    parse (and its sentence embedding) get a duration histogram of their own, with how many
    parses read the whole text: a parse cut short by its budget is not a failure, so only
    here does an operator see it happen."""
    start_worker()
    asked = ["entities", "keyphrases", "quotes"]
    ids = [
        client.post("/v1/jobs", json={"article": {"text": text}, "analyses": asked}).get_json()[
            "id"
        ]
        for text in (seed_article, "Angela Merkel met Emmanuel Macron in Paris on Monday.")
    ]
    for job_id in ids:
        wait_for(lambda: client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "succeeded")

    samples = _samples(client)
    analyses = {
        (s.labels["analysis"], s.labels["outcome"]): s for s in samples["copydesk_analyses_total"]
    }
    for name in asked:
        assert analyses[(name, "succeeded")].value == 2
    counts = {
        s.labels["analysis"]: s.value for s in samples["copydesk_analysis_duration_seconds_count"]
    }
    assert {name: counts[name] for name in asked} == dict.fromkeys(asked, 2)
    steps = {s.labels["step"]: s.value for s in samples["copydesk_prepare_duration_seconds_count"]}
    assert steps == {"parse": 2, "embed": 2}  # keyphrases and entities read the vectors
    sums = {s.labels["step"]: s.value for s in samples["copydesk_prepare_duration_seconds_sum"]}
    assert 0 < sums["parse"] < 60 and 0 < sums["embed"] < 60
    buckets = [
        s
        for s in samples["copydesk_prepare_duration_seconds_bucket"]
        if s.labels["step"] == "parse"
    ]
    assert [s.labels["le"] for s in buckets][-1] == "+Inf" and buckets[-1].value == 2
    parses = {s.labels["outcome"]: s.value for s in samples["copydesk_parses_total"]}
    assert parses == {"whole": 2}


def test_a_parse_cut_short_by_its_budget_is_counted(client, start_worker, settings) -> None:  # noqa: ANN001
    """A parse that stops at COPYDESK_PARSE_MAX_CHARS reads part of the text: counted so."""
    start_worker(settings.model_copy(update={"parse_max_chars": 1000, "parse_window_chars": 500}))
    text = " ".join(f"Officials in Berlin said the talks on day {i} went well." for i in range(60))
    job_id = client.post(
        "/v1/jobs", json={"article": {"text": text}, "analyses": ["entities"]}
    ).get_json()["id"]
    wait_for(lambda: client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "succeeded")
    assert client.get(f"/v1/jobs/{job_id}").get_json()["results"]["entities"]["coverage"] < 1
    parses = {s.labels["outcome"]: s.value for s in _samples(client)["copydesk_parses_total"]}
    assert parses == {"partial": 1}


def test_the_oldest_waiting_job_has_an_age(client, store) -> None:  # noqa: ANN001
    import time

    client.post("/v1/jobs", json={"article": {"text": "Waiting with no worker."}})
    time.sleep(1.1)
    ages = {s.labels["queue"]: s.value for s in _samples(client)["copydesk_oldest_queued_seconds"]}
    assert ages["prepare"] >= 1.0 and ages["topics"] == 0.0


TENANT_KEY = "alice-key-0123456789"
METRICS_KEY = "prometheus-0123456789abcdef"


def _scrape(client, key: str | None):  # noqa: ANN001, ANN202
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get("/metrics", headers=headers)


def test_with_api_keys_only_the_metrics_key_opens_metrics(settings, make_client) -> None:  # noqa: ANN001
    """/metrics names hosts, pids and queue depths: once keys are on it answers the scraper's
    own key, and a tenant's key (which must never be handed to Prometheus) does not open it."""
    keyed = settings.model_copy(
        update={"api_keys": SecretStr(f"alice:{TENANT_KEY}"), "metrics_key": SecretStr(METRICS_KEY)}
    )
    client = make_client(keyed)
    for key in (None, TENANT_KEY, METRICS_KEY + "x"):
        refused = _scrape(client, key)
        assert refused.status_code == 401 and refused.mimetype == "application/problem+json"
        assert refused.get_json()["code"] == "unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "copydesk_queue_depth" not in refused.get_data(as_text=True)
    scraped = _scrape(client, METRICS_KEY)
    assert scraped.status_code == 200 and "copydesk_queue_depth" in scraped.get_data(as_text=True)
    assert client.get("/readyz").status_code == 200  # probes stay open


def test_api_keys_without_a_metrics_key_close_metrics_to_everyone(settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"api_keys": SecretStr(f"alice:{TENANT_KEY}")}))
    assert [_scrape(client, key).status_code for key in (None, TENANT_KEY)] == [401, 401]


def test_a_metrics_key_alone_closes_metrics_too(settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"metrics_key": SecretStr(METRICS_KEY)}))
    assert _scrape(client, None).status_code == 401
    assert _scrape(client, METRICS_KEY).status_code == 200
    assert client.post("/v1/jobs", json={"article": {"text": "No key."}}).status_code == 202
