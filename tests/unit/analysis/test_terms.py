"""Custom labels and IPTC topics also score an English article by its words (``terms``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from documents import make_doc

from copydesk.analyse import iptc, terms, topics
from copydesk.analyse.embedder import get_embedder
from copydesk.analyse.topics import (
    EXAMPLE_PRIOR,
    EmbeddingTopicClassifier,
    clearest_wins,
    pool,
    pool_terms,
    term_rows,
)

NEWS = [
    "Police arrested the minister over bribes paid by a construction firm.",
    "The court heard how officials took bribes for building permits.",
    "Militants attacked a checkpoint and the army answered with air strikes.",
    "Rebels and the army fought for the city as air strikes hit the suburbs.",
    "The central bank raised interest rates as inflation climbed again.",
    "Shares fell after the bank warned that inflation would hurt profits.",
]


@pytest.fixture(scope="module")
def classifier() -> EmbeddingTopicClassifier:
    torch.set_num_threads(1)
    return EmbeddingTopicClassifier(embedder=get_embedder())


def test_the_workers_count_words_as_the_fitted_vectorizer_does(tmp_path):
    made = terms.Terms.fit(NEWS, [f"d{i}" for i in range(len(NEWS))])
    made.save(tmp_path / "terms.npz")
    read = terms.Terms.read(tmp_path / "terms.npz")
    reference = TfidfVectorizer(**terms.SETTINGS).fit(NEWS)
    texts = [
        "The army said MILITANTS took bribes; inflation, the Bank said, climbed and climbed.",
        "Militants' bribes: 2 officials (the_army) took bribes-bribes\nand INFLATION",
        "Nothing here is known.",
        "",
    ]
    for counter in (made, read):
        assert counter.vectors(texts).toarray() == pytest.approx(
            reference.transform(texts).toarray(), abs=1e-12
        )
    assert read.pool.toarray() == pytest.approx(reference.transform(NEWS).toarray(), abs=1e-3)
    assert read.digests == made.digests and read.words == list(reference.get_feature_names_out())
    assert "bribes" in read.index and "the" not in read.index  # a stop word
    assert read.vectors([]).shape == (0, read.size)


def test_the_shipped_vocabulary_covers_the_pool_of_every_encoder():
    vocabulary = terms.load()
    assert vocabulary.size > 10_000 and vocabulary.pool.shape == (
        len(vocabulary.digests),
        vocabulary.size,
    )
    row = vocabulary.vectors(["Militants attacked the parliament."])
    assert row.nnz == 3 and np.sqrt(row.multiply(row).sum()) == pytest.approx(1.0)
    for family in topics.EXPAND:
        with np.load(topics.POOLS / f"topic_pool_{family}.npz", allow_pickle=False) as data:
            assert set(json.loads(str(data["meta"]))["digests"]) <= set(vocabulary.digests)


def test_a_label_term_row_is_its_clearest_pool_articles_blended_with_its_examples():
    vocabulary = terms.Terms.fit(NEWS, ())
    articles = np.eye(6, 3)[[0, 0, 1, 1, 2, 2]] + 0.01  # two pool articles near each label
    rows = np.eye(3)
    examples = [vocabulary.vectors(NEWS[4:5]), vocabulary.vectors([]), vocabulary.vectors([])]
    made = term_rows(
        rows, articles, vocabulary.pool, examples, count=2, vocabulary=vocabulary, evidence=0.0
    )
    corrupt = vocabulary.mean(vocabulary.pool[[0, 1]])
    weight = 1 / (1 + EXAMPLE_PRIOR)
    mixed = (1 - weight) * corrupt + weight * vocabulary.mean(vocabulary.pool[[4]])
    assert made[0] == pytest.approx(mixed / np.linalg.norm(mixed), abs=1e-6)
    assert made[1] == pytest.approx(vocabulary.mean(vocabulary.pool[[2, 3]]), abs=1e-6)
    assert [w.tolist() for w in clearest_wins(articles @ rows.T, count=1)] == [[0], [2], [4]]


def test_a_label_the_pool_barely_covers_leans_to_the_sets_mean_row():
    vocabulary = terms.Terms.fit(NEWS, ())
    articles = np.eye(6, 3)[[0, 0, 1, 1, 1, 1]] + 0.01  # the third label wins no article
    rows, none = np.eye(3), [vocabulary.vectors([])] * 3
    own = term_rows(
        rows, articles, vocabulary.pool, none, count=4, vocabulary=vocabulary, evidence=0.0
    )
    made = term_rows(
        rows, articles, vocabulary.pool, none, count=4, vocabulary=vocabulary, evidence=2.0
    )
    mean = own.mean(0)
    assert not own[2].any()  # no article of its own: no words of its own
    assert made[2] == pytest.approx(mean, abs=1e-6)
    assert made[0] == pytest.approx(0.5 * own[0] + 0.5 * mean, abs=1e-6)  # 2 articles
    assert made[1] == pytest.approx(4 / 6 * own[1] + 2 / 6 * mean, abs=1e-6)  # 4 articles
    words = vocabulary.vectors([NEWS[0]])  # its words add what they add to the set, on average
    assert (words @ made.T).ravel()[2] == pytest.approx((words @ own.T).ravel().mean(), abs=1e-6)
    taught = [vocabulary.vectors([]), vocabulary.vectors(NEWS[2:3]), vocabulary.vectors([])]
    own = term_rows(
        rows, articles, vocabulary.pool, taught, count=4, vocabulary=vocabulary, evidence=0.0
    )
    made = term_rows(
        rows, articles, vocabulary.pool, taught, count=4, vocabulary=vocabulary, evidence=2.0
    )
    assert made[1] == pytest.approx(own[1], abs=1e-6)  # a taught label keeps its row
    assert made[2] == pytest.approx(own.mean(0), abs=1e-6)


def test_an_english_article_adds_its_words_to_every_label(classifier, monkeypatch):
    labels = {"labels": ["corruption", "armed conflict", "environment"]}
    text = (
        "Prosecutors charged three officials with taking bribes from a mining company. "
        "The money paid for permits to clear the forest near the river."
    )
    doc = make_doc(text, title="Officials charged over mining bribes")
    inputs = classifier.preprocess(doc, labels)
    rows = classifier.label_matrix(inputs.specs, key=inputs.key)
    count, share = topics.TERMS["minilm"][topics.CUSTOM]
    added = classifier.lexical(doc, inputs, rows)
    vocabulary = terms.load()
    articles, article_terms = pool_terms(classifier.embedder)
    expected = term_rows(
        rows, articles, article_terms, [_no_examples(vocabulary)] * 3, count=count,
        vocabulary=vocabulary, evidence=topics.TERM_EVIDENCE["minilm"],
    )  # fmt: skip
    words = vocabulary.vectors([terms.article_text(doc.title, doc.text)])
    title = vocabulary.vectors([doc.title])
    title_share = topics.TITLE_TERMS["minilm"][topics.CUSTOM]
    assert added == pytest.approx(
        share * (words @ expected.T).ravel() + title_share * (title @ expected.T).ravel(), abs=2e-3
    )
    assert added[0] > added[2] > 0  # its words are corruption's more than the environment's
    with_words = classifier(doc, labels)
    monkeypatch.setattr(topics, "TERMS", {})
    meaning_only = EmbeddingTopicClassifier(embedder=classifier.embedder)(doc, labels)
    assert with_words["labels"] != meaning_only["labels"]


def test_a_title_adds_its_own_words_and_text_without_one_adds_none(classifier, monkeypatch):
    labels = {"labels": ["corruption", "armed conflict", "environment"]}
    text = "The hearing went on for a second day. Several witnesses spoke to the court."
    titled = make_doc(text, title="Minister took bribes, court hears")
    plain = make_doc(text)
    inputs = classifier.preprocess(titled, labels)
    rows = classifier.label_matrix(inputs.specs, key=inputs.key)
    plain_inputs = classifier.preprocess(plain, labels)
    with_title = classifier.lexical(titled, inputs, rows)
    without_one = classifier.lexical(plain, plain_inputs, rows)
    monkeypatch.setattr(topics, "TITLE_TERMS", {})
    body_only = classifier.lexical(titled, inputs, rows)  # the title's words counted once
    assert with_title[0] - body_only[0] > 0.05  # "bribes" is corruption's word
    assert with_title[0] - body_only[0] > with_title[2] - body_only[2]
    # text without a title: its lead sentence does not stand in for one
    assert without_one == pytest.approx(classifier.lexical(plain, plain_inputs, rows))


def _no_examples(vocabulary: terms.Terms) -> sparse.csr_matrix:
    return vocabulary.vectors([])


def test_other_languages_and_unfitted_encoders_score_by_meaning_alone(classifier, monkeypatch):
    labels = {"labels": ["corruption", "armed conflict"]}
    doc = make_doc("Officials took bribes from a mining company.", language="de")
    inputs = topics.TopicInputs(("x",), topics.read_labels(labels)[0], topics.CUSTOM, 1, key="k")
    rows = np.eye(2, classifier.embedder.dim)
    assert classifier.lexical(doc, inputs, rows) is None
    english = make_doc("Officials took bribes from a mining company.", language="en")
    assert classifier.lexical(english, inputs, rows) is not None
    monkeypatch.setattr(topics, "TERMS", {"mpnet": topics.TERMS["minilm"]})
    assert classifier.lexical(english, inputs, rows) is None


def test_the_iptc_topics_term_rows_are_the_pool_articles_each_wins(classifier):
    count, share = topics.TERMS["minilm"][iptc.TAXONOMY]
    rows = topics.iptc_term_rows(classifier.embedder, count=count)
    assert rows.shape == (len(iptc.TOPICS), terms.load().size)
    vocabulary = terms.load()
    crime = iptc.topic_names().index("crime, law and justice")
    top = np.argsort(-rows[crime].astype(np.float32))[:30]
    words = {vocabulary.words[i] for i in top}
    assert words & {"police", "court", "arrested", "charged", "prison", "judge"}
    assert topics.iptc_term_rows(classifier.embedder, count=count) is rows  # once per process
    assert pool(classifier.embedder) is not None


def test_an_iptc_topic_that_wins_few_pool_articles_leans_to_the_topics_mean_row(
    classifier, monkeypatch
):
    count, _ = topics.TERMS["minilm"][iptc.TAXONOMY]
    evidence = topics.IPTC_TERM_EVIDENCE["minilm"]
    deployed = topics.iptc_term_rows(classifier.embedder, count=count).astype(np.float64)
    monkeypatch.setattr(topics, "IPTC_TERM_EVIDENCE", {})
    monkeypatch.setattr(topics, "_IPTC_TERMS", {})
    own = topics.iptc_term_rows(classifier.embedder, count=count).astype(np.float64)
    mean = own.mean(0)
    kept = [float((d - mean) @ (r - mean) / ((r - mean) @ (r - mean))) for d, r in
            zip(deployed, own, strict=True)]  # fmt: skip
    for d, r, share in zip(deployed, own, kept, strict=True):  # on the line from its row
        assert d == pytest.approx(share * r + (1 - share) * mean, abs=2e-3)
    assert max(kept) == pytest.approx(count / (count + evidence), abs=0.01)  # a full topic
    assert 0 < min(kept) < 0.5  # a topic that wins a few dozen articles or fewer


def test_term_rows_are_kept_for_a_bounded_number_of_label_sets(classifier, monkeypatch):
    monkeypatch.setattr(topics, "TERM_CACHE", 2)
    mine = EmbeddingTopicClassifier(embedder=classifier.embedder)
    doc = make_doc("Officials took bribes from a mining company.")
    for n in range(4):
        mine(doc, {"labels": ["corruption", f"label {n}"]})
    assert len(mine._terms) == 2
