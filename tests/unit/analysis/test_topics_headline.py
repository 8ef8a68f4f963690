"""Check that USE-m3's reading of the headline joins MiniLM's custom-label scores, end to end
from the prepare stage's vectors, on the real encoders."""

from __future__ import annotations

import numpy as np
import pytest

from copydesk.analyse import topics
from copydesk.analyse.embedder import get_embedder
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.analyse.topics import (
    HEADLINE,
    TEMPERATURES,
    EmbeddingTopicClassifier,
    LabelSpec,
    label_scores,
)
from copydesk.core.settings import EMBEDDED, Settings
from copydesk.prepare.stage import PrepareStage
from copydesk.prepare.vectors import DocVectors

ARTICLE = {
    "title": "Militants storm army base near the border",
    "text": (
        "Gunmen stormed an army base on Tuesday, killing twelve soldiers. "
        "A banned group claimed the raid in a statement posted online. "
        "The government vowed to hunt down those responsible."
    ),
}
LABELS = ["terrorism", "armed conflict", "corruption", "environment"]


class Counting:
    """A real encoder that counts what it is asked to encode."""

    def __init__(self, inner) -> None:  # noqa: ANN001
        self.inner = inner
        self.name = inner.name
        self.family = inner.family
        self.encoded: list[int] = []

    def encode(self, texts):  # noqa: ANN001, ANN201
        self.encoded.append(len(texts))
        return self.inner.encode(texts)

    def lead(self, text, max_tokens):  # noqa: ANN001, ANN201
        return self.inner.lead(text, max_tokens)

    def total_tokens(self, texts):  # noqa: ANN001, ANN201
        return self.inner.total_tokens(texts)


@pytest.mark.parametrize(
    ("encoders", "language", "second"),
    [
        ("minilm+use-m3", "en", "use-m3"),
        ("minilm+use-m3", "de", None),  # USE-m3 reads the whole German article already
        ("minilm", "en", None),  # a deployment without USE-m3 does not load it for this
        ("use-m3", "en", None),
        ("mpnet+use-m3", "en", None),  # no weight was chosen for mpnet
    ],
)
def test_english_topics_read_the_headline_with_use_m3_only_where_it_is_configured(
    encoders: str, language: str, second: str | None
) -> None:
    registry = AnalyserRegistry(Settings(sentence_encoder=encoders))
    analyser = registry.get("topics", EMBEDDED, language=language)
    assert (analyser.second.family if analyser.second else None) == second


def test_the_headline_joins_the_logits_at_its_weight_over_its_temperature() -> None:
    rng = np.random.default_rng(0)
    labels = rng.normal(size=(3, 8))
    labels /= np.linalg.norm(labels, axis=1, keepdims=True)
    vectors = rng.normal(size=(4, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    headline = np.array([-0.2, 0.1, 0.9])
    second, weight = HEADLINE["minilm"]
    own = labels @ topics.document_vector(vectors) / TEMPERATURES["minilm"]["custom"]
    logits = (1 - weight) * own + weight * headline / TEMPERATURES[second]["custom"]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    scores = label_scores(labels, vectors, taxonomy="custom", headline=headline)
    assert scores == pytest.approx(expected)
    alone = label_scores(labels, vectors, taxonomy="custom")
    assert scores[2] > alone[2]  # the label the headline reads moves up


def test_the_prepare_stage_sends_the_headline_and_topics_score_it_without_loading_use_m3() -> None:
    registry = AnalyserRegistry(Settings(sentence_encoder="minilm+use-m3"))
    options = {"topics": {"labels": LABELS}}
    prepared = PrepareStage(registry)(ARTICLE, analyses=["topics"], options=options)
    headline = prepared.vectors.headline
    use_m3 = get_embedder(family="use-m3")
    assert headline is not None and headline.model == use_m3.name
    expected = use_m3.encode([ARTICLE["title"]])[0]
    assert float(headline.vector @ expected) == pytest.approx(1.0, abs=1e-4)
    assert headline.label_matrix.shape == (len(LABELS), use_m3.dim)

    restored = DocVectors.from_bytes(prepared.vectors.to_bytes(), prepared.doc)
    assert restored.headline is not None and restored.headline.model == headline.model
    assert np.abs(restored.headline.label_matrix - headline.label_matrix).max() < 1e-3
    assert np.abs(restored.label_matrix - prepared.vectors.label_matrix).max() < 1e-3

    counting = Counting(use_m3)
    minilm = get_embedder(family="minilm")
    analyser = EmbeddingTopicClassifier(embedder=minilm, second=counting)
    result = analyser(prepared.doc, options["topics"], vectors=restored)
    assert counting.encoded == []  # the vectors held the headline and its label rows
    assert result["model"].endswith(f"; headline: {use_m3.name})")
    inputs = analyser.preprocess(prepared.doc, options["topics"])
    rows = analyser.label_matrix(inputs.specs, key=inputs.key)
    own = restored.lookup(inputs.texts)
    plain = label_scores(rows, own, taxonomy="custom", lexical=analyser.lexical(
        prepared.doc, inputs, rows))  # fmt: skip
    joined = label_scores(
        rows, own, taxonomy="custom", lexical=analyser.lexical(prepared.doc, inputs, rows),
        headline=restored.headline.label_matrix @ restored.headline.vector,
    )  # fmt: skip
    assert not np.allclose(joined, plain)
    by_label = {item["label"]: item["score"] for item in result["labels"]}
    for label, score in by_label.items():
        assert score == pytest.approx(float(joined[LABELS.index(label)]), abs=2e-4)

    # called without the prepared vectors (the CLI, a notebook) it embeds the headline itself
    direct = analyser(prepared.doc, options["topics"])
    assert counting.encoded and direct["labels"][0]["label"] == result["labels"][0]["label"]


def test_iptc_topics_and_a_minilm_only_deployment_carry_no_headline() -> None:
    mix = PrepareStage(AnalyserRegistry(Settings(sentence_encoder="minilm+use-m3")))
    assert mix(ARTICLE, analyses=["topics"], options={}).vectors.headline is None
    alone = PrepareStage(AnalyserRegistry(Settings(sentence_encoder="minilm")))
    options = {"topics": {"labels": LABELS}}
    prepared = alone(ARTICLE, analyses=["topics"], options=options)
    assert prepared.vectors.headline is None
    assert DocVectors.from_bytes(prepared.vectors.to_bytes(), prepared.doc).headline is None


def test_a_headline_prepared_for_another_label_set_is_made_again() -> None:
    registry = AnalyserRegistry(Settings(sentence_encoder="minilm+use-m3"))
    stage = PrepareStage(registry)
    prepared = stage(ARTICLE, analyses=["topics"], options={"topics": {"labels": LABELS}})
    counting = Counting(get_embedder(family="use-m3"))
    analyser = EmbeddingTopicClassifier(embedder=get_embedder(family="minilm"), second=counting)
    other = {"labels": ["sport", "business"]}
    result = analyser(prepared.doc, other, vectors=prepared.vectors)
    assert counting.encoded  # its own rows and the headline, not the other set's
    assert {item["label"] for item in result["labels"]} <= {"sport", "business"}


def test_the_headlines_label_rows_blend_examples_but_are_not_expanded() -> None:
    use_m3 = get_embedder(family="use-m3")
    classifier = EmbeddingTopicClassifier(embedder=get_embedder(family="minilm"), second=use_m3)
    rows = classifier.headline_matrix(LABELS)
    deployed_use_m3 = EmbeddingTopicClassifier(embedder=use_m3).label_matrix(LABELS)
    expand, topics.EXPAND = topics.EXPAND, {}
    try:
        unexpanded = EmbeddingTopicClassifier(embedder=use_m3).label_matrix(LABELS)
    finally:
        topics.EXPAND = expand
    assert np.allclose(rows, unexpanded, atol=1e-5)
    assert not np.allclose(rows, deployed_use_m3, atol=1e-3)
    taught = [LabelSpec("terrorism", examples=(ARTICLE["title"] + ". " + ARTICLE["text"],))]
    taught += [LabelSpec(name) for name in LABELS[1:]]
    moved = classifier.headline_matrix(taught)
    same = np.einsum("ij,ij->i", moved, rows)  # int8 activations: a batch moves rows by ~1e-3
    assert same[0] < 0.995 and (same[1:] > 0.999).all(), same
