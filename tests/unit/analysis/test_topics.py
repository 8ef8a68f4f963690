"""Check the zero-shot topic classifier on the real MiniLM model: topics, scores, caching."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from documents import make_doc

from copydesk.analysis.embedder import get_embedder
from copydesk.analysis.topics import EmbeddingTopicClassifier
from copydesk.core.document import Document
from copydesk.core.errors import AnalysisError, UnsupportedLanguage

IPTC_NAMES = [
    "arts, culture, entertainment and media",
    "conflict, war and peace",
    "crime, law and justice",
    "disaster, accident and emergency incident",
    "economy, business and finance",
    "education",
    "environment",
    "health",
    "human interest",
    "labour",
    "lifestyle and leisure",
    "politics",
    "religion",
    "science and technology",
    "society",
    "sport",
    "weather",
]
SPORT = (
    "The striker scored twice in the second half as United beat City 3-1. "
    "The win lifts the club to second place in the league table."
)
TECH = (
    "The company unveiled a new smartphone with a faster processor and a better camera. "
    "Its software update also brings improved battery life and security fixes."
)


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.encoded: list[int] = []

    def encode(self, texts):
        self.encoded.append(len(texts))
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def classifier() -> EmbeddingTopicClassifier:
    torch.set_num_threads(1)
    return EmbeddingTopicClassifier(embedder=get_embedder())


def test_seed_article_is_about_conflict(classifier, seed_article):
    result = classifier(make_doc(seed_article))
    assert result["taxonomy"] == "iptc-mediatopic"
    assert result["labels"][0]["label"] == "conflict, war and peace"
    assert result["labels"][0]["score"] > 0.5 > result["labels"][1]["score"]
    assert result["coverage"] == 1.0
    assert result["model"] == "copydesk-zeroshot/1 (all-MiniLM-L6-v2, onnx-int8)"


def test_default_labels_are_the_17_iptc_names(classifier, seed_article):
    result = classifier(make_doc(seed_article), {"top_k": 17})
    assert sorted(item["label"] for item in result["labels"]) == IPTC_NAMES


@pytest.mark.parametrize(("text", "expected"), [(SPORT, "sport"), (TECH, "technology")])
def test_custom_labels_pick_the_obvious_one(classifier, text, expected):
    result = classifier(make_doc(text), {"labels": ["sport", "technology"]})
    assert result["taxonomy"] == "custom"
    assert [item["label"] for item in result["labels"]] == [
        expected,
        *({"sport", "technology"} - {expected}),
    ]
    assert result["labels"][0]["score"] > 0.8


@pytest.mark.parametrize(("text", "expected"), [(SPORT, "football"), (TECH, "gadgets")])
def test_labels_no_taxonomy_knows_work_through_templates(classifier, text, expected):
    result = classifier(make_doc(text), {"labels": ["gardening", "football", "gadgets"]})
    assert result["labels"][0]["label"] == expected


def test_default_news_sections_land_on_their_iptc_topic(classifier):
    assert classifier(make_doc(SPORT))["labels"][0]["label"] == "sport"
    assert classifier(make_doc(TECH))["labels"][0]["label"] == "science and technology"


@pytest.mark.parametrize(("options", "count"), [({}, 3), ({"top_k": 1}, 1), ({"top_k": 5}, 5)])
def test_top_k_bounds_the_answer(classifier, options, count):
    assert len(classifier(make_doc(SPORT), options)["labels"]) == count


def test_top_k_above_the_label_count_returns_every_label(classifier):
    result = classifier(make_doc(SPORT), {"labels": ["sport", "politics"], "top_k": 3})
    assert len(result["labels"]) == 2


def test_scores_are_sorted_probabilities(classifier, seed_article):
    result = classifier(make_doc(seed_article), {"top_k": 17})
    scores = [item["score"] for item in result["labels"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert sum(scores) == pytest.approx(1.0, abs=1e-3)


def test_batch_equals_one_by_one(seed_article):
    # fp32: dynamic int8 quantises activations per batch (see test_sentiment)
    classifier = EmbeddingTopicClassifier(embedder=get_embedder(encoder="onnx-fp32"))
    docs = [make_doc(seed_article), make_doc(SPORT), make_doc(TECH, title="New phone launched")]
    options = [None, {"labels": ["sport", "technology", "business"], "top_k": 2}, {"top_k": 4}]
    single = [classifier(doc, opts) for doc, opts in zip(docs, options, strict=True)]
    assert classifier.batch(docs, options) == single


def test_batch_encodes_all_documents_at_once(seed_article):
    counting = CountingEmbedder(get_embedder())
    classifier = EmbeddingTopicClassifier(embedder=counting)
    docs = [make_doc(seed_article), make_doc(SPORT), make_doc(TECH)]
    classifier.label_matrix(tuple(IPTC_NAMES))
    counting.encoded.clear()
    classifier.batch(docs, [None] * 3)
    assert counting.encoded == [sum(len(d.sentences) for d in docs)]


def test_label_vectors_are_cached_per_label_set():
    counting = CountingEmbedder(get_embedder())
    classifier = EmbeddingTopicClassifier(embedder=counting, cache_size=2)
    options = {"labels": ["sport", "technology"]}
    first = classifier(make_doc(SPORT), options)
    assert len(counting.encoded) == 2  # the document, then the label texts
    assert classifier(make_doc(SPORT), options) == first
    assert len(counting.encoded) == 3  # only the document again
    for labels in (["a", "b"], ["c", "d"]):
        classifier.label_matrix(tuple(labels))
    classifier(make_doc(SPORT), options)  # evicted by the two newer sets
    assert len(counting.encoded) == 7


def test_title_counts_towards_the_topic(classifier):
    plain = classifier(make_doc(TECH), {"labels": ["sport", "technology"]})
    titled = classifier(
        make_doc(TECH, title="Football club signs striker"), {"labels": ["sport", "technology"]}
    )
    sport = {item["label"]: item["score"] for item in titled["labels"]}["sport"]
    assert sport > {item["label"]: item["score"] for item in plain["labels"]}["sport"]


def test_label_matrix_rows_are_unit_vectors(classifier):
    matrix = classifier.label_matrix(tuple(IPTC_NAMES))
    assert matrix.shape == (17, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_other_languages_are_refused(classifier):
    with pytest.raises(UnsupportedLanguage):
        classifier(make_doc("El equipo ganó el partido por tres goles a uno.", language="es"))


def test_a_document_without_sentences_fails(classifier):
    with pytest.raises(AnalysisError, match="no sentences"):
        classifier(Document(text="", sentences=()))


@pytest.mark.parametrize(
    "options",
    [
        {"labels": []},
        {"labels": "sport"},
        {"labels": ["sport", " "]},
        {"labels": ["a", "A"]},
        {"top_k": 0},
        {"top_k": "2"},
    ],
)
def test_bad_options_fail(classifier, options):
    with pytest.raises(AnalysisError):
        classifier(make_doc(SPORT), options)
