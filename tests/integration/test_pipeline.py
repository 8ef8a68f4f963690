"""Jobs through a real Celery worker and real Redis: results, failures, re-delivery guards."""

from __future__ import annotations

import json
import time

import pytest

from copydesk.store.base import DUE

from copydesk.store.jobs import RedisJobStore
from copydesk.core.names import queue_key
from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


def _submit(client, body: dict) -> dict:  # noqa: ANN001
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def _finished(client, job_id: str, timeout: float = 120) -> dict:  # noqa: ANN001
    def poll() -> dict | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=timeout, every=0.2)


def test_seed_article_is_analysed(client, start_worker, seed_article) -> None:
    start_worker()
    job = _finished(client, _submit(client, {"article": {"text": seed_article}})["id"])
    assert job["status"] == "succeeded", job
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)

    summary = job["results"]["summary"]
    assert summary["status"] == "succeeded" and 1 <= len(summary["sentences"]) <= 3
    for sentence in summary["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert "Azerbaijan" not in sentence["text"]
    assert summary["model"] and summary["coverage"] == 1.0

    sentiment = job["results"]["sentiment"]
    assert sentiment["label"] == "negative" and -1 <= sentiment["score"] < 0
    for sentence in sentiment["sentences"]:
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]

    labels = [entry["label"] for entry in job["results"]["topics"]["labels"]]
    assert "conflict, war and peace" in labels[:3]
    scores = [entry["score"] for entry in job["results"]["topics"]["labels"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert job["completed_at"] is not None


def test_custom_labels_and_options(client, start_worker) -> None:
    start_worker()
    body = {
        "article": {
            "text": "The striker scored twice as the home team won the cup final 3-1. "
            "Fans celebrated in the stadium long after the match ended."
        },
        "analyses": ["topics", "summary"],
        "options": {
            "topics": {"labels": ["sport", "technology", "politics"], "top_k": 2},
            "summary": {"max_sentences": 1},
        },
    }
    job = _finished(client, _submit(client, body)["id"])
    assert job["status"] == "succeeded"
    assert [entry["label"] for entry in job["results"]["topics"]["labels"]][0] == "sport"
    assert len(job["results"]["topics"]["labels"]) == 2
    assert len(job["results"]["summary"]["sentences"]) == 1
    assert "sentiment" not in job["results"]


def test_labels_taught_by_description_and_examples(client, start_worker) -> None:
    """Label objects travel through the intake, the prepare stage's vectors and the worker."""
    start_worker()
    labels = [
        {
            "label": "desk a",
            "examples": [
                "The chipmaker released a faster laptop processor with more cores.",
                "The browser update fixes a security flaw that let websites read passwords.",
            ],
        },
        {"label": "desk b", "description": "football matches, goals and league tables"},
        "weather",
    ]
    texts = {
        "desk a": "The company unveiled a new smartphone with a faster chip and a better camera. "
        "Its software update also brings longer battery life.",
        "desk b": "The striker scored twice as the home team won the cup final 3-1. "
        "Fans celebrated in the stadium long after the match ended.",
    }
    for expected, text in texts.items():
        body = {
            "article": {"text": text},
            "analyses": ["topics"],
            "options": {"topics": {"labels": labels, "top_k": 3}},
        }
        job = _finished(client, _submit(client, body)["id"])
        assert job["status"] == "succeeded", job
        ranked = [entry["label"] for entry in job["results"]["topics"]["labels"]]
        assert ranked[0] == expected and sorted(ranked) == ["desk a", "desk b", "weather"]
        shown = [{**labels[0], "examples": 2}, *labels[1:]]  # examples show as their count
        assert job["options"]["topics"]["labels"] == shown


def test_a_label_example_without_text_fails_topics_alone(client, start_worker) -> None:
    start_worker()
    labels = ["sport", {"label": "tech", "examples": ["..."]}]
    body = {
        "article": {"text": "The striker scored twice as United beat City in the cup final."},
        "analyses": ["summary", "topics"],
        "options": {"topics": {"labels": labels}},
    }
    job = _finished(client, _submit(client, body)["id"])
    assert job["status"] == "partially_succeeded", job
    assert job["results"]["summary"]["status"] == "succeeded"
    error = job["results"]["topics"]["error"]
    assert error["code"] == "analysis_failed"
    assert "example 1 of label 'tech' has no sentences" in error["detail"]


def test_unsupported_language_fails_each_analysis_with_a_problem(client, start_worker) -> None:
    start_worker()
    text = (  # Greek: no encoder of the default mix reads it
        "Η κυβέρνηση ανακοίνωσε την Τετάρτη νέο νόμο για την προώθηση των ανανεώσιμων πηγών "
        "ενέργειας. Η Βουλή αναμένεται να τον ψηφίσει πριν από το καλοκαίρι."
    )
    job = _finished(client, _submit(client, {"article": {"text": text}})["id"])
    assert job["status"] == "failed" and job["article"]["language"] == "el"
    for result in job["results"].values():
        assert result["status"] == "failed"
        assert (
            result["error"]["code"] == "unsupported_language" and result["error"]["status"] == 422
        )


MULTILINGUAL = {
    "de": (
        "Die Bundesregierung hat am Mittwoch ein neues Gesetz zur Förderung erneuerbarer "
        "Energien beschlossen. Der Bundestag soll noch vor der Sommerpause darüber abstimmen. "
        "Die Opposition kritisierte die Pläne als zu zaghaft."
    ),
    "zh": "中国政府周三宣布了新的经济刺激措施。股市随即上涨。分析人士表示，增长仍将放缓。",
}


@pytest.mark.parametrize("language", sorted(MULTILINGUAL))
def test_with_use_m3_other_languages_get_every_analysis(
    make_client, start_worker, settings, language
) -> None:  # noqa: ANN001
    multilingual = settings.model_copy(update={"sentence_encoder": "use-m3"})
    client = make_client(multilingual)
    start_worker(multilingual)
    text = MULTILINGUAL[language]
    body = {"article": {"text": text}, "analyses": ["summary", "sentiment", "topics"]}
    job = _finished(client, _submit(client, body)["id"])
    assert job["status"] == "succeeded", job["results"]
    assert job["article"]["language"] == language
    analysed = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    for sentence in job["results"]["summary"]["sentences"]:
        assert analysed[sentence["start"] : sentence["end"]] == sentence["text"]
    assert -1 <= job["results"]["sentiment"]["score"] <= 1
    assert "universal-sentence-encoder-multilingual-3" in job["results"]["topics"]["model"]
    assert "universal-sentence-encoder-multilingual-3" in job["results"]["sentiment"]["model"]


def test_a_mix_of_encoders_embeds_each_article_with_the_one_for_its_language(
    make_client, start_worker, settings
) -> None:  # noqa: ANN001
    mix = settings.model_copy(update={"sentence_encoder": "minilm+use-m3"})
    client = make_client(mix)
    start_worker(mix)
    english = (
        "The government announced new measures to support renewable energy on Wednesday. "
        "Parliament is expected to vote on the plans before the summer recess. "
        "The opposition criticised the proposals as too timid."
    )
    jobs = {
        language: _submit(client, {"article": {"text": text}})["id"]
        for language, text in (("en", english), ("de", MULTILINGUAL["de"]))
    }
    models = {}
    for language, job_id in jobs.items():
        job = _finished(client, job_id)
        assert job["status"] == "succeeded", job["results"]
        assert job["article"]["language"] == language
        models[language] = {job["results"][name]["model"] for name in ("sentiment", "topics")}
    assert all("all-MiniLM-L6-v2" in model for model in models["en"]), models
    assert all("multilingual-3" in model for model in models["de"]), models
    # custom labels of an English article: USE-m3 reads its headline beside MiniLM's vectors
    labelled = {"article": {"text": english, "title": "Parliament to vote on green energy plans"},
                "analyses": ["topics"],
                "options": {"topics": {"labels": ["environment", "sport", "crime"]}}}  # fmt: skip
    job = _finished(client, _submit(client, labelled)["id"])
    assert job["status"] == "succeeded", job["results"]
    topics = job["results"]["topics"]
    assert topics["model"].startswith("copydesk-zeroshot/1 (all-MiniLM-L6-v2"), topics
    assert "; headline: universal-sentence-encoder-multilingual-3" in topics["model"], topics
    assert topics["labels"][0]["label"] == "environment", topics


def test_with_mpnet_an_english_article_gets_every_analysis(
    make_client, start_worker, settings, seed_article
) -> None:  # noqa: ANN001
    english = settings.model_copy(update={"sentence_encoder": "mpnet"})
    client = make_client(english)
    start_worker(english)
    body = {"article": {"text": seed_article}, "analyses": ["summary", "sentiment", "topics"]}
    job = _finished(client, _submit(client, body)["id"])
    assert job["status"] == "succeeded", job["results"]
    analysed = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    summary = job["results"]["summary"]
    assert 1 <= len(summary["sentences"]) <= 3
    for sentence in summary["sentences"]:
        assert analysed[sentence["start"] : sentence["end"]] == sentence["text"]
    assert -1 <= job["results"]["sentiment"]["score"] < 0
    labels = [entry["label"] for entry in job["results"]["topics"]["labels"]]
    assert "conflict, war and peace" in labels[:3]
    for name in ("summary", "sentiment", "topics"):
        assert "all-mpnet-base-v2" in job["results"][name]["model"]
    topics = client.get("/v1/models").get_json()["analyses"]["topics"]
    assert topics["model"].startswith("all-mpnet-base-v2") and topics["languages"] == ["en"]


def test_poison_task_is_failed_after_max_deliveries(store: RedisJobStore, settings) -> None:  # noqa: ANN001
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.core.document import Document, Span
    from copydesk.core.ids import now_rfc3339
    from copydesk.analyse.run import run_analysis

    record = {
        "id": "p",
        "created_at": now_rfc3339(),
        "analyses": ["summary"],
        "options": {"summary": {}},
        "article": {},
    }
    store.create(job_id="p", record=record, article={"text": "Hi there."})
    doc = Document("Hi there.", (Span(0, 9),), "en")
    store.save_prepared("p", doc=doc, vectors=None, article={}, messages=[])
    for _ in range(settings.task_max_deliveries):
        store.start_analysis("p", "summary")  # deliveries that died mid-task
    outcome = run_analysis(
        store=store,
        registry=AnalyserRegistry(settings),
        job_id="p",
        analysis="summary",
        max_deliveries=settings.task_max_deliveries,
    )
    assert outcome.completed and outcome.status == "failed"
    assert store.get("p")["results"]["summary"]["error"]["code"] == "worker_lost"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from support.tiny_models import build_tiny_models

    return build_tiny_models(tmp_path_factory.mktemp("tiny"))


def test_hugging_face_models_run_through_the_worker(
    make_client, start_worker, settings, tiny_models
) -> None:  # noqa: ANN001
    hf = settings.model_copy(
        update={f"{name}_model": str(path) for name, path in tiny_models.items()}
    )
    client = make_client(hf)
    start_worker(hf)
    long_text = " ".join(
        f"Paragraph {i}: the council debated the budget for roads and schools at length."
        for i in range(60)
    )
    body = {
        "article": {"text": long_text},
        "options": {"summary": {"mode": "abstractive"}, "topics": {"labels": ["economy", "sport"]}},
    }
    job = _finished(client, _submit(client, body)["id"], timeout=180)
    assert job["status"] == "succeeded", job
    for name, path in tiny_models.items():
        result = job["results"][name]
        assert str(path) in result["model"] or path.name in result["model"], result
        assert result["coverage"] == 1.0
    assert job["results"]["summary"]["method"] == "abstractive"
    assert job["results"]["sentiment"]["label"] in {"negative", "neutral", "positive"}
    assert {entry["label"] for entry in job["results"]["topics"]["labels"]} == {"economy", "sport"}


def test_hf_sentiment_on_other_language_gives_partial_success(
    make_client, start_worker, settings, tiny_models
) -> None:  # noqa: ANN001
    hf = settings.model_copy(update={"sentiment_model": str(tiny_models["sentiment"])})
    client = make_client(hf)
    start_worker(hf)
    text = "Η κυβέρνηση παρουσίασε την Τετάρτη νέο προϋπολογισμό. Τα συνδικάτα διαμαρτυρήθηκαν."
    job = _finished(client, _submit(client, {"article": {"text": text}})["id"])
    assert job["status"] == "partially_succeeded"
    assert job["results"]["sentiment"]["status"] == "succeeded"
    assert job["results"]["summary"]["error"]["code"] == "unsupported_language"


def test_abstractive_summary_without_a_model_is_refused_at_intake(client) -> None:  # noqa: ANN001
    body = {"article": {"text": "Some text here."}, "options": {"summary": {"mode": "abstractive"}}}
    response = client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 422 and response.get_json()["code"] == "analysis_unavailable"


def test_a_task_that_gives_up_fails_its_analysis_and_ends_the_job(store, settings) -> None:  # noqa: ANN001
    from copydesk.core.names import ANALYSIS_TASKS
    from copydesk.core.ids import now_rfc3339
    from copydesk.workers.app import create_celery_app

    record = {
        "id": "g",
        "created_at": now_rfc3339(),
        "analyses": ["topics"],
        "options": {},
        "article": {},
    }
    store.create(job_id="g", record=record, article={"text": "Hi there."})
    task = create_celery_app(settings).tasks[ANALYSIS_TASKS["topics"]]
    task.on_failure(TimeoutError("redis kept timing out"), "task-id", ("g",), {}, None)
    job = store.get("g")
    assert job["status"] == "failed"
    assert job["results"]["topics"]["error"]["code"] == "internal_error"


def test_html_article_is_extracted_by_the_prepare_stage(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    paragraphs = "".join(
        f"<p>Paragraph {i} reports that the city council approved a new budget for schools "
        f"and roads after a long debate on Tuesday evening.</p>"
        for i in range(6)
    )
    html = (
        "<html><head><title>Budget</title></head><body><nav>Home | World</nav><article>"
        f"<h1>Budget</h1>{paragraphs}</article><footer>© News Corp</footer></body></html>"
    )
    job = _finished(client, _submit(client, {"article": {"html": html}})["id"])
    assert job["status"] == "succeeded", job
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    assert "city council approved" in text
    assert "News Corp" not in text and "Home | World" not in text
    assert job["article"]["characters"] == len(text) and job["article"]["language"] == "en"
    assert job["article"]["title"] == "Budget"


def test_nothing_left_after_cleaning_fails_the_job_with_a_code(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    html = "<html><head><script>track()</script></head><body><div> </div></body></html>"
    job = _finished(client, _submit(client, {"article": {"html": html}})["id"])
    assert job["status"] == "failed"
    assert {r["error"]["code"] for r in job["results"].values()} == {"empty_article"}
    text = client.get(f"/v1/jobs/{job['id']}/text")  # the job is there: 409, not 404
    assert text.status_code == 409 and text.get_json()["code"] == "text_not_found"
    assert "Retry-After" not in text.headers  # it never will be


def test_a_broken_limit_ends_the_job_with_its_code(make_client, start_worker, settings) -> None:  # noqa: ANN001
    limited = settings.model_copy(update={"max_sentences": 10})
    client = make_client(limited)
    start_worker(limited)
    text = "We go to the park. " * 40
    job = _finished(client, _submit(client, {"article": {"text": text}})["id"])
    assert job["status"] == "failed"
    for result in job["results"].values():
        assert result["error"]["code"] == "too_many_sentences"
        assert result["error"]["status"] == 413


def test_text_past_the_analysed_limit_lowers_coverage(make_client, start_worker, settings) -> None:  # noqa: ANN001
    limited = settings.model_copy(update={"max_chars": 1000})
    client = make_client(limited)
    start_worker(limited)
    text = "\n\n".join(
        f"Paragraph {n}: the city council approved a new budget for schools and roads."
        for n in range(40)
    )
    job = _finished(client, _submit(client, {"article": {"text": text}})["id"])
    assert job["status"] == "succeeded", job
    assert job["article"]["characters"] == len(text)
    analysed = job["article"]["analysed_characters"]
    assert 900 < analysed <= 1000
    expected = round(len("".join(text[:analysed].split())) / len("".join(text.split())), 4)
    for name, result in job["results"].items():
        assert result["coverage"] == expected, name
    summary_ends = [s["end"] for s in job["results"]["summary"]["sentences"]]
    assert max(summary_ends) <= analysed
    assert client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True) == text


def test_vectors_are_made_once_and_deleted_when_the_job_ends(
    client, start_worker, store, redis_client, seed_article
) -> None:  # noqa: ANN001
    start_worker()
    job = _finished(client, _submit(client, {"article": {"text": seed_article}})["id"])
    assert job["status"] == "succeeded"
    key = store.job_key(job["id"])
    assert redis_client.exists(key + ":doc") and not redis_client.exists(key + ":vectors")
    assert not redis_client.exists(key + ":article")  # the raw article went with preparation
    assert store.get(job["id"])["started"] == {"prepare": 1, **dict.fromkeys(job["analyses"], 1)}


def test_hugging_face_analysis_beside_embedded_ones_starts_before_the_encoder(
    make_client, start_worker, settings, tiny_models, store, seed_article
) -> None:  # noqa: ANN001
    from copydesk.prepare.stage import PrepareStage
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.core.names import PREPARE_QUEUE
    from copydesk.prepare.run import run_prepare

    mixed = settings.model_copy(update={"sentiment_model": str(tiny_models["sentiment"])})
    client = make_client(mixed)
    queued = _submit(client, {"article": {"text": seed_article}})
    store.redis.delete(PREPARE_QUEUE)  # run the stage here, step by step

    class Watching(PrepareStage):
        def embed(self, prepared):  # noqa: ANN001, ANN201
            assert store.redis.llen(queue_key("sentiment")) == 1  # already queued
            assert (
                store.redis.llen(queue_key("summary")) == store.redis.llen(queue_key("topics")) == 0
            )
            return super().embed(prepared)

    stage = Watching(AnalyserRegistry(mixed))
    run_prepare(store=store, stage=stage, job_id=queued["id"], max_deliveries=5)
    assert store.redis.llen(queue_key("summary")) == store.redis.llen(queue_key("topics")) == 1
    assert store.vectors(queued["id"]) is not None
    start_worker(mixed)
    job = _finished(client, queued["id"])
    assert job["status"] == "succeeded", job
    assert str(tiny_models["sentiment"]) in job["results"]["sentiment"]["model"]
    assert "onnx-int8" in job["results"]["summary"]["model"]
    assert job["results"]["topics"]["labels"][0]["label"] == "conflict, war and peace"


def test_cancelling_a_queued_job_ends_it_and_its_tasks_do_nothing(
    client, start_worker, store, redis_client
) -> None:  # noqa: ANN001
    body = {"article": {"text": "The council approved the budget."}}
    body["webhook"] = {"url": "https://example.org/h"}
    job = _submit(client, body)
    cancelled = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 202
    data = cancelled.get_json()
    assert data["status"] == "cancelled" and data["completed_at"] is not None
    assert {r["status"] for r in data["results"].values()} == {"cancelled"}
    assert redis_client.zscore(DUE, job["id"]) is not None  # job.cancelled is due like any end
    assert data["webhook"]["state"] == "pending"
    start_worker()
    wait_for(lambda: redis_client.llen(queue_key("prepare")) == 0, timeout=30, every=0.1)
    time.sleep(0.5)
    after = store.get(job["id"])
    assert after["status"] == "cancelled" and store.vectors(job["id"]) is None
    assert redis_client.llen(queue_key("summary")) == redis_client.llen(queue_key("topics")) == 0
    again = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 202 and again.get_json()["status"] == "cancelled"


def test_cancelling_a_finished_job_leaves_it_as_it_is(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    job = _finished(client, _submit(client, {"article": {"text": "Shares rose sharply."}})["id"])
    response = client.post(f"/v1/jobs/{job['id']}/cancel")
    assert response.status_code == 202 and response.get_json()["status"] == job["status"]
    assert response.get_json()["results"] == job["results"]


def test_deliveries_lists_the_attempts(client, store) -> None:  # noqa: ANN001
    body = {"article": {"text": "Some text."}, "webhook": {"url": "https://example.org/h"}}
    job = _submit(client, body)
    listed = client.get(f"/v1/jobs/{job['id']}/deliveries").get_json()
    assert listed["attempts"] == [] and listed["delivery_id"] is None
    assert listed["webhook_state"] is None and listed["webhook"]["state"] is None
    client.post(f"/v1/jobs/{job['id']}/cancel")
    entry = {"attempt": 1, "at": "2026-11-29T12:00:00.000Z", "status": 503, "error": "HTTP 503"}
    store.settle_delivery(job["id"], state="pending", entry=entry, error="HTTP 503", retry_in=60)
    listed = client.get(f"/v1/jobs/{job['id']}/deliveries").get_json()
    assert listed["attempts"] == [entry] and listed["delivery_id"].endswith("_job.cancelled")
    assert listed["webhook"]["state"] == "pending" and listed["webhook"]["error"] == "HTTP 503"
    assert listed["webhook"]["next_attempt_at"] > entry["at"]
    missing = client.get("/v1/jobs/" + "0" * 32 + "/deliveries")
    assert missing.status_code == 404 and missing.get_json()["code"] == "job_not_found"


def test_cleaning_is_reported_and_can_be_turned_off(client, start_worker, seed_article) -> None:  # noqa: ANN001
    start_worker()
    cleaned = _finished(client, _submit(client, {"article": {"text": seed_article}})["id"])
    kept = _finished(
        client, _submit(client, {"article": {"text": seed_article, "clean": False}})["id"]
    )
    text = client.get(f"/v1/jobs/{cleaned['id']}/text").get_data(as_text=True)
    raw = client.get(f"/v1/jobs/{kept['id']}/text").get_data(as_text=True)
    assert "Top stories" not in text and "Top stories" in raw
    report = cleaned["article"]["cleaning"]
    assert report["enabled"] is True and report["removed_lines"] == 9
    assert report["removed_characters"] == len("".join(raw.split("\n"))) - len(
        "".join(text.split("\n"))
    )
    assert kept["article"]["cleaning"] == {
        "enabled": False,
        "removed_lines": 0,
        "removed_characters": 0,
    }
    refused = client.post("/v1/jobs", json={"article": {"text": "x", "clean": "no"}})
    assert refused.status_code == 422


def test_a_post_that_cleaning_would_empty_is_analysed_as_sent(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    post = "Pictures: Floods sweep through the city as rivers burst their banks"
    job = _finished(client, _submit(client, {"article": {"text": post}})["id"])
    assert job["status"] == "succeeded"
    assert client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True) == post
    assert job["article"]["cleaning"] == {
        "enabled": False,
        "removed_lines": 0,
        "removed_characters": 0,
    }
