"""French and Russian entities through the API with a real Celery worker and real Redis:
each language's recogniser, canonical names, offsets that index ``/text``; keyphrases and
quotes failing alone there; a language with no parser failing entities alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
FIXTURES = Path(__file__).parents[1] / "unit" / "fixtures"
ARTICLES = {
    "fr": (FIXTURES / "article_fr.txt").read_text(encoding="utf-8"),
    "ru": (FIXTURES / "article_ru.txt").read_text(encoding="utf-8"),
}
EXPECTED = {  # (canonical name, type, the texts of its mentions)
    "fr": [
        ("Emmanuel Macron", "person", ["Emmanuel Macron", "Macron"]),
        ("Olaf Scholz", "person", ["Olaf Scholz", "Scholz"]),
        ("Commission européenne", "organisation", ["Commission européenne"]),
        ("Bruxelles", "place", ["Bruxelles"]),
    ],
    "ru": [
        ("Владимир Путин", "person", ["Владимир Путин", "Путина"]),
        ("Россия", "place", ["России", "Россией", "России", "России"]),
        ("Министерство иностранных дел", "organisation", ["Министерство иностранных дел", "МИД"]),
        ("Газпром", "organisation", ["Газпром", "Газпрома"]),
    ],
}
PARSERS = {"fr": "spacy/fr_core_news_md-3.8.0", "ru": "natasha-1.6.0/slovnet_ner_news_v1"}


def _post(client: Any, body: dict[str, Any]) -> Any:
    return client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")


def _finished(client: Any, job_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=180, every=0.2)


@pytest.mark.parametrize("language", sorted(ARTICLES))
def test_entities_in_french_and_russian_while_keyphrases_and_quotes_fail_alone(
    make_client, start_worker, settings, language
) -> None:  # noqa: ANN001
    english = settings.model_copy(update={"sentence_encoder": "minilm"})  # no fr/ru sentiment
    client = make_client(english)
    start_worker(english)
    body = {
        "article": {"text": ARTICLES[language], "language": language},
        "analyses": ["entities", "keyphrases", "quotes"],
    }
    answer = _post(client, body)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job = _finished(client, answer.get_json()["id"])
    assert job["status"] == "partially_succeeded", job["results"]
    assert job["article"]["language"] == language
    for name in ("keyphrases", "quotes"):
        error = job["results"][name]["error"]
        assert error["code"] == "unsupported_language" and error["status"] == 422
        assert "English only" in error["detail"]
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    result = job["results"]["entities"]
    assert result["status"] == "succeeded" and result["parser"] == PARSERS[language]
    by_name = {e["name"]: e for e in result["entities"]}
    for name, kind, mentions in EXPECTED[language]:
        assert by_name[name]["type"] == kind, by_name.get(name)
        assert [m["text"] for m in by_name[name]["mentions"]] == mentions
    for entity in result["entities"]:
        for mention in entity["mentions"]:
            assert text[mention["start"] : mention["end"]] == mention["text"]
        assert entity["sentiment"] is None  # MiniLM reads English only


def test_with_a_multilingual_encoder_russian_entities_carry_sentiment(
    make_client, start_worker, settings
) -> None:  # noqa: ANN001
    mix = settings.model_copy(update={"sentence_encoder": "minilm+use-m3"})
    client = make_client(mix)
    start_worker(mix)
    body = {"article": {"text": ARTICLES["ru"]}, "analyses": ["entities", "sentiment"]}
    job = _finished(client, _post(client, body).get_json()["id"])
    assert job["status"] == "succeeded", job["results"]
    scores = {(s["start"], s["end"]): s["score"] for s in job["results"]["sentiment"]["sentences"]}
    entities = job["results"]["entities"]["entities"]
    assert entities and "multilingual-3" in job["results"]["entities"]["model"]
    assert "VADER" not in job["results"]["entities"]["model"]  # VADER reads English only
    assert job["results"]["entities"]["model"].endswith(job["results"]["sentiment"]["model"] + ")")
    for entity in entities:
        sentiment = entity["sentiment"]
        assert -1 <= sentiment["score"] <= 1 and sentiment["sentences"]
        for sentence in sentiment["sentences"]:
            assert sentence["score"] == pytest.approx(
                scores[(sentence["start"], sentence["end"])], abs=1e-3
            )


def test_another_language_fails_entities_alone_and_the_hint_is_checked(
    make_client, start_worker, settings
) -> None:  # noqa: ANN001
    multilingual = settings.model_copy(update={"sentence_encoder": "use-m3"})
    client = make_client(multilingual)
    start_worker(multilingual)
    german = (
        "Die Bundesregierung hat am Mittwoch in Berlin ein neues Gesetz beschlossen. Kanzler "
        "Olaf Scholz sagte, das Gesetz werde die Wirtschaft stärken. Die Opposition kritisierte "
        "den Entwurf scharf und kündigte Widerstand im Bundesrat an."
    )
    body = {"article": {"text": german}, "analyses": ["entities", "sentiment", "topics"]}
    job = _finished(client, _post(client, body).get_json()["id"])
    assert job["status"] == "partially_succeeded", job["results"]
    error = job["results"]["entities"]["error"]
    assert error["code"] == "unsupported_language" and error["status"] == 422
    assert "en, fr, ru" in error["detail"]
    assert job["results"]["sentiment"]["status"] == "succeeded"
    assert job["results"]["topics"]["status"] == "succeeded"

    hinted = {"article": {"text": german, "language": "de"}, "analyses": ["entities"]}
    refused = _post(client, hinted)
    assert refused.status_code == 422 and refused.get_json()["code"] == "unsupported_language"
    assert refused.get_json()["supported"] == ["en", "fr", "ru"]
    russian = {"article": {"text": ARTICLES["ru"], "language": "ru"}, "analyses": ["entities"]}
    accepted = _post(client, russian)
    assert accepted.status_code == 202
    assert _finished(client, accepted.get_json()["id"])["status"] == "succeeded"
    listed = client.get("/v1/models").get_json()["analyses"]
    assert listed["entities"]["languages"] == ["en", "fr", "ru"]
    assert listed["keyphrases"]["languages"] == listed["quotes"]["languages"] == ["en"]
