"""Entities, keyphrases and quotes through the API with a real Celery worker and real Redis: the
seed article's people, places and organisations with canonical names, its key phrases and its
quotes with their speakers, all with offsets that index ``/text`` exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
TITLE = "IS Chechen commander vows to revenge Russia"


def _post(client: Any, body: dict[str, Any]) -> Any:
    return client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")


def _finished(client: Any, job_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=120, every=0.2)


def test_entities_of_the_seed_article(client, start_worker, store, seed_article) -> None:
    start_worker()
    body = {"article": {"text": seed_article, "title": TITLE}, "analyses": ["entities"]}
    answer = _post(client, body)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job = _finished(client, answer.get_json()["id"])
    assert job["status"] == "succeeded", job
    assert job["options"] == {"entities": {"top_k": 25}}
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)

    result = job["results"]["entities"]
    assert result["parser"].startswith("spacy/en_core_web_sm") and result["coverage"] == 1.0
    by_name = {e["name"]: e for e in result["entities"]}
    assert by_name["Temur Batirashvili"]["type"] == "person"
    assert by_name["Omar al-Shishani"]["type"] == "person"
    assert [m["text"] for m in by_name["Omar al-Shishani"]["mentions"]] == [
        "Omar al-Shishani",
        "Al-Shishani",
    ]
    assert by_name["Russia"]["type"] == "place" and by_name["Russia"]["in_title"]
    assert by_name["Georgia"]["type"] == "place"
    organisations = {e["name"] for e in result["entities"] if e["type"] == "organisation"}
    # the default head finds the news agency; it misses "Islamic State", which spaCy's own
    # recogniser finds (COPYDESK_PARSER_RECOGNISER=spacy; docs/analyses.md has the trade)
    assert "Bloomberg" in organisations
    assert result["entities"][0]["name"] == "Russia"  # in the title, and mentioned throughout
    for entity in result["entities"]:
        assert 0 < entity["salience"] <= 1
        for mention in entity["mentions"]:
            assert text[mention["start"] : mention["end"]] == mention["text"]
        sentiment = entity["sentiment"]
        assert -1 <= sentiment["score"] <= 1 and sentiment["sentences"]
        for sentence in sentiment["sentences"]:
            assert any(
                sentence["start"] <= m["start"] < sentence["end"] for m in entity["mentions"]
            )
    # the parse is stored with the document, so no analysis needs a parser of its own
    doc = store.document(job["id"])
    assert doc is not None and doc.parse is not None and doc.parse.mentions


def test_entity_sentiment_reuses_the_sentiment_analysis_sentence_scores(
    client, start_worker, seed_article
) -> None:
    start_worker()
    body = {"article": {"text": seed_article}, "analyses": ["entities", "sentiment"]}
    job = _finished(client, _post(client, body).get_json()["id"])
    assert job["status"] == "succeeded", job
    scores = {(s["start"], s["end"]): s["score"] for s in job["results"]["sentiment"]["sentences"]}
    for entity in job["results"]["entities"]["entities"]:
        for sentence in entity["sentiment"]["sentences"]:
            assert sentence["score"] == pytest.approx(
                scores[(sentence["start"], sentence["end"])], abs=1e-3
            )


def test_a_language_without_a_parser_fails_entities_alone(client, start_worker) -> None:
    start_worker()
    german = (
        "Die Regierung hat am Montag in Berlin ein neues Gesetz beschlossen. Der Kanzler sagte, "
        "das Gesetz werde die Wirtschaft stärken und viele neue Arbeitsplätze schaffen. Die "
        "Opposition kritisierte den Entwurf scharf und kündigte Widerstand im Bundesrat an."
    )
    body = {"article": {"text": german}, "analyses": ["entities"]}
    job = _finished(client, _post(client, body).get_json()["id"])
    assert job["status"] == "failed"
    assert job["results"]["entities"]["error"]["code"] == "unsupported_language"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"types": ["planet"]}, "options.entities.types.0"),
        ({"types": ["person", "person"]}, "options.entities.types"),
        ({"top_k": 0}, "options.entities.top_k"),
        ({"top_k": 1.5}, "options.entities.top_k"),
        ({"colour": "red"}, "options.entities.colour"),
    ],
)
def test_bad_entity_options_are_a_422_naming_the_field(client, options, field) -> None:
    body = {"article": {"text": "Olaf Scholz spoke."}, "analyses": ["entities"]}
    answer = _post(client, {**body, "options": {"entities": options}})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    problem = answer.get_json()
    assert answer.content_type.startswith("application/problem+json")
    assert problem["code"] == "validation_failed"
    assert problem["errors"][0]["field"] == field


def test_entity_options_need_entities_among_the_analyses(client) -> None:
    answer = _post(client, {"article": {"text": "x y z"}, "options": {"entities": {}}})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == "options"


def test_entities_keyphrases_and_quotes_of_the_seed_article(
    client, start_worker, seed_article
) -> None:
    from copydesk.analyse.keyphrases import key

    start_worker()
    body = {
        "article": {"text": seed_article, "title": TITLE},
        "analyses": ["entities", "keyphrases", "quotes"],
        "options": {"keyphrases": {"top_k": 8}},
    }
    job = _finished(client, _post(client, body).get_json()["id"])
    assert job["status"] == "succeeded", job
    text = client.get(f"/v1/jobs/{job['id']}/text").get_data(as_text=True)
    result = job["results"]["keyphrases"]
    phrases = result["keyphrases"]
    assert len(phrases) == 8 and result["keyphrases_total"] > 8
    assert len({key(p["text"]) for p in phrases}) == 8  # no phrase twice
    assert any(p["entity"] in ("place", "person", "organisation") for p in phrases)
    names = {e["name"] for e in job["results"]["entities"]["entities"]}
    for phrase in phrases:
        assert 0 < phrase["score"] <= 1 and phrase["count"] == len(phrase["spans"])
        for span in phrase["spans"]:
            written = text[span["start"] : span["end"]]
            if phrase["entity"] is None:
                assert key(written) == key(phrase["text"])
            else:
                assert phrase["text"] in names
    # the most central phrase is about Chechens, jihadists or the places they fight in
    joined = " ".join(p["text"] for p in phrases[:3]).casefold()
    assert any(word in joined for word in ("chech", "jihad", "syria", "iraq", "islamic"))

    quotes = job["results"]["quotes"]["quotes"]
    direct = [q for q in quotes if q["type"] == "direct"]
    assert direct and direct[0]["speaker"] == {"name": "Temur Batirashvili", "type": "person"}
    assert direct[0]["cue"]["text"] == "said"
    for quote in quotes:
        assert text[quote["start"] : quote["end"]] == quote["text"]
        if quote["speaker"] is not None:
            assert quote["speaker"]["name"] in names
