"""Real news in other languages through the whole stack, with the default configuration.

Each article of ``tests/fixtures/multilingual_articles.json`` (one real article per language,
from packages' test fixtures: see ``multilingual_README.md``) is submitted over HTTP with the
default analyses, all at once, to the session's stack (``COPYDESK_SENTENCE_ENCODER`` left at its
default, ``minilm+use-m3``). Each must succeed with its language detected, a summary whose
offsets index ``GET /v1/jobs/{id}/text`` exactly, a sentiment score and scored topics, read by
the multilingual encoder. A language no encoder reads fails each analysis alone and keeps its
text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ARTICLES = json.loads((FIXTURES / "multilingual_articles.json").read_text("utf-8"))
MULTILINGUAL_ENCODER = "universal-sentence-encoder-multilingual-3"
GREEK = (  # no encoder of the default mix reads Greek
    "Η κυβέρνηση ανακοίνωσε την Τετάρτη νέο νόμο για την προώθηση των ανανεώσιμων πηγών "
    "ενέργειας. Η Βουλή αναμένεται να τον ψηφίσει πριν από το καλοκαίρι, ενώ η αντιπολίτευση "
    "χαρακτήρισε τα μέτρα ανεπαρκή.\n\nΟ υπουργός Περιβάλλοντος δήλωσε ότι οι πρώτες "
    "επιδοτήσεις θα δοθούν στα νησιά του Αιγαίου μέσα στο επόμενο έτος."
)


@pytest.fixture(scope="module")
def finished(jobs) -> dict[str, tuple[dict, str]]:  # noqa: ANN001
    """Every article submitted at once, then each job awaited: language -> (job, its /text)."""
    bodies = {
        language: {"article": {"text": article["text"], "title": article["title"] or None}}
        for language, article in ARTICLES.items()
    } | {"el": {"article": {"text": GREEK}}}
    submitted = {}
    for language, body in bodies.items():
        response = jobs.submit(body)
        assert response.status_code == 202, response.text[:300]
        submitted[language] = response.json()["id"]
    done = {}
    for language, job_id in submitted.items():
        job = jobs.finished(job_id, timeout=180)
        text = jobs.get(f"/v1/jobs/{job_id}/text")
        assert text.status_code == 200, text.text[:300]
        done[language] = (job, text.text)
    return done


def test_the_fixtures_are_real_articles_of_the_promised_size() -> None:
    for language, article in ARTICLES.items():
        assert article["language"] == language
        assert 600 <= len(article["text"]) <= 3000, (language, len(article["text"]))
        assert article["publisher"] and article["licence"] and article["package_file"]


@pytest.mark.parametrize("language", sorted(ARTICLES))
def test_a_real_article_gets_summary_sentiment_and_topics(finished, language: str) -> None:  # noqa: ANN001
    job, text = finished[language]
    results = job["results"]
    assert job["status"] == "succeeded", {k: v.get("error") for k, v in results.items()}
    assert job["article"]["language"] == language
    assert sorted(results) == ["sentiment", "summary", "topics"]

    sentences = results["summary"]["sentences"]
    assert sentences
    for sentence in sentences:
        assert 0 <= sentence["start"] < sentence["end"] <= len(text)
        assert text[sentence["start"] : sentence["end"]] == sentence["text"]
        assert sentence["text"].strip() == sentence["text"]

    assert -1 <= results["sentiment"]["score"] <= 1

    labels = results["topics"]["labels"]
    assert labels
    for entry in labels:
        assert entry["label"] and isinstance(entry["label"], str)
        assert 0 <= entry["score"] <= 1

    for name in ("sentiment", "topics"):
        assert MULTILINGUAL_ENCODER in results[name]["model"], (name, results[name]["model"])


def test_a_language_no_encoder_reads_fails_each_analysis_and_keeps_its_text(finished) -> None:  # noqa: ANN001
    job, text = finished["el"]
    assert job["status"] == "failed" and job["article"]["language"] == "el"
    assert sorted(job["results"]) == ["sentiment", "summary", "topics"]
    for result in job["results"].values():
        assert result["status"] == "failed"
        assert result["error"]["code"] == "unsupported_language"
        assert result["error"]["status"] == 422
    assert text == GREEK
