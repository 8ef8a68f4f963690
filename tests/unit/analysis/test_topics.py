"""Check the zero-shot topic classifier on the real MiniLM model: topics, scores, caching."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from documents import make_doc

from copydesk.analyse import iptc, topics
from copydesk.analyse.embedder import get_embedder
from copydesk.analyse.topics import (
    EXAMPLE_PRIOR,
    EXAMPLE_SENTENCES,
    EXAMPLE_TOKENS,
    TEMPLATES,
    EmbeddingTopicClassifier,
    LabelSpec,
    Prototypes,
    blend_examples,
    example_texts,
    expand_labels,
    expanded_prototypes,
    label_scores,
    pool,
    prototypes,
)
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

    def lead(self, text, max_tokens):
        return self.inner.lead(text, max_tokens)


@pytest.fixture(scope="module", autouse=True)
def iptc_texts():
    """The IPTC texts are embedded once per process and encoder: before any test counts."""
    return prototypes(get_embedder())


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


SPORT_EXAMPLES = [
    "The goalkeeper saved a penalty in the final minute to keep the cup run alive.",
    "The tennis champion won the open in straight sets on Sunday.",
]
TECH_EXAMPLES = [
    "The chipmaker released a faster laptop processor with more cores.",
    "The browser update fixes a security flaw that let websites read passwords.",
]


def _top(result) -> str:
    return result["labels"][0]["label"]


def test_examples_teach_labels_whose_names_say_nothing(classifier):
    taught = {
        "labels": [
            {"label": "desk a", "examples": SPORT_EXAMPLES},
            {"label": "desk b", "examples": TECH_EXAMPLES},
        ]
    }
    swapped = {
        "labels": [
            {"label": "desk a", "examples": TECH_EXAMPLES},
            {"label": "desk b", "examples": SPORT_EXAMPLES},
        ]
    }
    assert _top(classifier(make_doc(SPORT), taught)) == "desk a"
    assert _top(classifier(make_doc(TECH), taught)) == "desk b"
    assert _top(classifier(make_doc(SPORT), swapped)) == "desk b"
    assert _top(classifier(make_doc(TECH), swapped)) == "desk a"


def test_a_description_says_what_a_label_means(classifier):
    described = {
        "labels": [
            {"label": "alpha", "description": "football matches, goals and league tables"},
            {"label": "beta", "description": "smartphones, software and gadgets"},
        ]
    }
    assert _top(classifier(make_doc(SPORT), described)) == "alpha"
    assert _top(classifier(make_doc(TECH), described)) == "beta"
    mixed = {"labels": ["technology", {"label": "beta", "description": "football and goals"}]}
    assert _top(classifier(make_doc(SPORT), mixed)) == "beta"


def test_a_plain_label_object_is_the_same_as_its_name(classifier):
    named = classifier(make_doc(SPORT), {"labels": ["sport", "technology"]})
    objects = classifier(make_doc(SPORT), {"labels": [{"label": "sport"}, {"label": "technology"}]})
    assert objects == named


def test_examples_weigh_by_their_number():
    label, example = np.eye(2)[0], np.eye(2)[1]
    few = blend_examples(label, np.stack([example] * 2))
    even = blend_examples(label, np.stack([example] * int(EXAMPLE_PRIOR)))
    many = blend_examples(label, np.stack([example] * 40))
    assert few @ label > few @ example
    assert even @ label == pytest.approx(even @ example)
    assert many @ example > many @ label
    assert np.linalg.norm(few) == pytest.approx(1.0)


def test_an_example_counts_by_its_lead():
    embedder = get_embedder()
    sentences = [f"Sentence number {n} of the example tells its own story." for n in range(30)]
    texts = example_texts(" ".join(sentences), embedder=embedder)
    assert texts == sentences[:EXAMPLE_SENTENCES]


@pytest.mark.parametrize(
    "text",
    ["這是一個很長的句子關於學校和道路的預算" * 1000, ("supercalifragilistic" * 5 + " ") * 190],
)
def test_an_example_costs_a_bounded_number_of_tokens(text):
    embedder = get_embedder()
    texts = example_texts(text, embedder=embedder)
    assert texts and embedder.total_tokens(texts) <= EXAMPLE_TOKENS


def test_examples_are_embedded_once_per_label_set():
    counting = CountingEmbedder(get_embedder())
    classifier = EmbeddingTopicClassifier(embedder=counting)
    options = {"labels": [{"label": "desk a", "examples": SPORT_EXAMPLES}, "technology"]}
    first = classifier(make_doc(SPORT), options)
    plain = CountingEmbedder(get_embedder())
    EmbeddingTopicClassifier(embedder=plain).label_matrix(("desk a", "technology"))
    assert counting.encoded[1] == plain.encoded[0] + len(SPORT_EXAMPLES)  # one text each
    assert classifier(make_doc(SPORT), options) == first
    assert len(counting.encoded) == 3  # only the document again
    other = {"labels": [{"label": "desk a", "examples": SPORT_EXAMPLES[:1]}, "technology"]}
    classifier(make_doc(SPORT), other)
    assert len(counting.encoded) == 5  # other examples: another label set


def test_an_example_without_sentences_names_its_label(classifier):
    options = {"labels": ["sport", {"label": "tech", "examples": [TECH, "..."]}]}
    with pytest.raises(AnalysisError, match="example 2 of label 'tech' has no sentences"):
        classifier(make_doc(SPORT), options)


@pytest.mark.parametrize(
    "labels",
    [
        [{"label": " "}],
        [{"description": "no name"}],
        [{"label": "a", "examples": "one text"}],
        [{"label": "a", "examples": [" "]}],
        [{"label": "a", "description": 3}],
        ["a", {"label": "A"}],
    ],
)
def test_bad_label_objects_fail(classifier, labels):
    with pytest.raises(AnalysisError):
        classifier(make_doc(SPORT), {"labels": labels})


def _unit(vector):
    return np.asarray(vector, dtype=np.float32) / np.linalg.norm(vector)


def test_a_topic_scores_by_its_nearest_text_as_well_as_its_mean():
    # topic 0 is written in two registers (its mean lies between them), topic 1 in one
    texts = Prototypes(
        np.stack([_unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0.8, 0, 0.6])]), np.array([0, 0, 1])
    )
    labels = np.stack([_unit([1, 1, 0]), _unit([0.8, 0, 0.6])])
    doc = np.stack([_unit([1, 0, 0])])  # one of topic 0's registers exactly
    by_mean = label_scores(labels, doc, taxonomy=iptc.TAXONOMY)
    by_texts = label_scores(labels, doc, taxonomy=iptc.TAXONOMY, prototypes=texts)
    assert by_mean.argmax() == 1
    assert by_texts.argmax() == 0


def test_the_pool_is_a_soft_maximum_per_topic():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(7, 5))
    topic = np.array([0, 0, 0, 1, 2, 2, 1])
    doc = rng.normal(size=5)
    pooled = Prototypes(matrix, topic).pooled(doc, 0.05)
    for index in range(3):
        z = matrix[topic == index] @ doc
        assert pooled[index] == pytest.approx(0.05 * np.log(np.mean(np.exp(z / 0.05))))
    assert np.all(pooled <= [max(matrix[topic == i] @ doc) for i in range(3)])


def test_iptc_texts_are_every_topics_definition_and_prototypes(iptc_texts):
    assert len(iptc_texts.matrix) == sum(len(topic.texts()) for topic in iptc.TOPICS)
    assert np.bincount(iptc_texts.topic).tolist() == [len(t.texts()) for t in iptc.TOPICS]


@pytest.fixture
def unexpanded(monkeypatch) -> EmbeddingTopicClassifier:
    """A classifier whose custom labels are not expanded against the pool (its own cache)."""
    monkeypatch.setattr(topics, "EXPAND", {})
    return EmbeddingTopicClassifier(embedder=get_embedder())


def test_a_bare_label_borrows_the_iptc_texts_that_paraphrase_it(unexpanded):
    embedder = unexpanded.embedder
    matrix = unexpanded.label_matrix(("terrorism", "x window system"))
    plain = [_unit(embedder.encode([t.format(x) for t in TEMPLATES]).mean(0))
             for x in ("terrorism", "x window system")]  # fmt: skip
    attack = embedder.encode(["Gunmen from an extremist group bombed the station."])[0]
    assert matrix[0] @ attack > plain[0] @ attack + 0.03
    assert matrix[0] @ plain[0] < 0.95
    assert matrix[1] @ plain[1] > 0.99  # no IPTC text is near enough (int8: batches differ)


def test_a_label_with_a_description_borrows_nothing(unexpanded):
    described = unexpanded.label_matrix((LabelSpec("terrorism", "bombs"), "sport"))
    own = unexpanded.embedder.encode([t.format("terrorism") for t in TEMPLATES] + ["bombs"])
    expected = 0.3 * _unit(own[:-1].mean(0)) + 0.7 * own[-1]
    assert described[0] @ _unit(expected) > 0.99


def test_a_label_moves_towards_the_articles_it_wins_most_clearly():
    labels = np.stack([_unit([1, 0, 0]), _unit([0, 1, 0])])
    articles = np.stack([
        _unit([1, 0, 1]),  # won by label 0, wide margin
        _unit([1, 0.9, 0]),  # won by label 0, narrow margin: not among its clearest one
        _unit([0.1, 1, 0]),  # won by label 1
    ])  # fmt: skip
    moved = expand_labels(labels, articles, count=1, share=0.5)
    assert moved[0] == pytest.approx(_unit(0.5 * labels[0] + 0.5 * articles[0]))
    assert moved[1] == pytest.approx(_unit(0.5 * labels[1] + 0.5 * articles[2]))
    assert np.linalg.norm(moved, axis=1) == pytest.approx([1.0, 1.0])


def test_a_label_that_wins_nothing_and_a_set_of_one_stay_as_they_are():
    labels = np.stack([_unit([1, 0, 0]), _unit([0, 1, 0]), _unit([0, 0, 1])])
    articles = np.stack([_unit([1, 0.2, 0]), _unit([0.2, 1, 0])])  # none near label 2
    moved = expand_labels(labels, articles, count=5, share=0.3)
    assert moved[2] == pytest.approx(labels[2])
    assert moved[0] @ articles[0] > labels[0] @ articles[0]
    assert expand_labels(labels[:1], articles, count=5, share=0.3) == pytest.approx(labels[:1])
    assert expand_labels(labels, articles[:0], count=5, share=0.3) == pytest.approx(labels)


def test_custom_labels_are_expanded_against_the_pool(classifier, monkeypatch):
    count, share = topics.EXPAND["minilm"]
    names = ("terrorism", "armed conflict", "corruption")
    after = classifier.label_matrix(names)
    monkeypatch.setattr(topics, "EXPAND", {})
    unexpanded = EmbeddingTopicClassifier(embedder=get_embedder())
    before = unexpanded.label_matrix(names)
    articles = pool(classifier.embedder)
    assert after == pytest.approx(
        expand_labels(before, articles, count=count, share=share), abs=1e-5
    )
    assert np.all(np.sum(after * before, axis=1) < 0.999)


def test_iptc_texts_are_expanded_against_the_pool_each_against_all_the_topics_texts(
    classifier, iptc_texts
):
    count, share = topics.IPTC_EXPAND["minilm"]
    scored = expanded_prototypes(classifier.embedder)
    moved = expand_labels(iptc_texts.matrix, pool(classifier.embedder), count=count, share=share)
    assert scored.matrix == pytest.approx(moved, abs=1e-6)
    assert scored.topic.tolist() == iptc_texts.topic.tolist()
    assert np.median(np.sum(scored.matrix * iptc_texts.matrix, axis=1)) < 0.99  # they moved
    # a topic's row is the mean of its moved texts, and the classifier scores with them
    rows = classifier.label_matrix(tuple(IPTC_NAMES))
    for index, name in enumerate(IPTC_NAMES):
        mean = scored.matrix[scored.topic == index].mean(0)
        assert rows[index] == pytest.approx(mean / np.linalg.norm(mean), abs=1e-6), name


def test_iptc_texts_stay_as_written_without_a_pool_or_a_fitted_value(monkeypatch, iptc_texts):
    other = CountingEmbedder(get_embedder())
    other.name = "/models/my-own-minilm, onnx-int8"  # COPYDESK_EMBEDDING_MODEL: no pool
    assert expanded_prototypes(other).matrix == pytest.approx(iptc_texts.matrix, abs=1e-6)
    monkeypatch.setattr(topics, "IPTC_EXPAND", {})
    unfitted = CountingEmbedder(get_embedder())
    unfitted.name = "all-MiniLM-L6-v2, unfitted"
    assert expanded_prototypes(unfitted).matrix == pytest.approx(iptc_texts.matrix, abs=1e-6)


def test_the_pool_is_the_encoders_unit_document_vectors(classifier):
    vectors = pool(classifier.embedder)
    assert vectors.shape[1] == classifier.embedder.dim and len(vectors) > 2000
    assert np.linalg.norm(vectors, axis=1) == pytest.approx(np.ones(len(vectors)), abs=2e-3)


def test_another_backend_of_the_model_reads_the_pool_and_another_model_does_not(monkeypatch):
    fp32 = CountingEmbedder(get_embedder())
    fp32.name = "all-MiniLM-L6-v2"  # the torch-fp32 backend's name
    assert pool(fp32) is not None
    other = CountingEmbedder(get_embedder())
    other.name = "/models/my-own-minilm, onnx-int8"  # COPYDESK_EMBEDDING_MODEL
    assert pool(other) is None
    names = ("terrorism", "armed conflict", "corruption")
    mine = EmbeddingTopicClassifier(embedder=other).label_matrix(names)
    monkeypatch.setattr(topics, "EXPAND", {})
    plain = EmbeddingTopicClassifier(embedder=get_embedder()).label_matrix(names)
    assert mine == pytest.approx(plain, abs=1e-5)
