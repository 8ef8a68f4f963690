"""USE-m3, the multilingual encoder: its real graph, offline, behind the encoder interface."""

from __future__ import annotations

import numpy as np
import pytest

from documents import make_doc

from copydesk.analyse.embedder import encoder_name, get_embedder
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.analyse.sentiment import (
    DEFAULT_HEAD,
    HEADS,
    EmbeddingSentimentAnalyser,
    SentimentHead,
)
from copydesk.analyse.summary import ExtractiveSummariser
from copydesk.analyse.topics import EmbeddingTopicClassifier
from copydesk.analyse.use_m3 import MAX_BATCH, MAX_BATCH_CHARS, UseM3Embedder, buckets
from copydesk.core.errors import AnalysisUnavailable, UnsupportedLanguage
from copydesk.core.settings import Settings
from copydesk.prepare.vectors import DocVectors, embedded_texts

ENGLISH = "The central bank raised interest rates to fight inflation."
TRANSLATIONS = {
    "de": "Die Zentralbank hat die Zinsen erhöht, um die Inflation zu bekämpfen.",
    "fr": "La banque centrale a relevé ses taux d'intérêt pour lutter contre l'inflation.",
    "es": "El banco central subió los tipos de interés para combatir la inflación.",
    "zh": "央行提高利率以对抗通货膨胀。",
}
UNRELATED = [
    "The striker scored twice as the home team won the cup final.",
    "Der Film feierte am Wochenende seine Premiere im Kino.",
    "Des pluies torrentielles ont provoqué des inondations dans le sud.",
]


@pytest.fixture(scope="module")
def use_m3() -> UseM3Embedder:
    return get_embedder(family="use-m3")


def test_the_real_graph_loads_offline_and_gives_unit_512_vectors(use_m3, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = use_m3.encode([ENGLISH, *UNRELATED])
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert use_m3.name == encoder_name(Settings(sentence_encoder="use-m3"))
    assert use_m3.weights.exists()


def test_a_sentence_lies_closer_to_its_translations_than_to_unrelated_news(use_m3) -> None:
    english, *others = use_m3.encode([ENGLISH, *TRANSLATIONS.values(), *UNRELATED])
    translated, unrelated = others[: len(TRANSLATIONS)], others[len(TRANSLATIONS) :]
    closest_unrelated = max(float(english @ u) for u in unrelated)
    for language, vector in zip(TRANSLATIONS, translated, strict=True):
        assert float(english @ vector) > closest_unrelated + 0.3, language
    assert closest_unrelated < 0.3


def test_a_batch_gives_each_text_the_vector_it_gets_alone(use_m3) -> None:
    texts = [ENGLISH, "Short.", *TRANSLATIONS.values(), *UNRELATED, "A long one " * 200]
    batch = use_m3.encode(texts)
    alone = np.vstack([use_m3.encode([text]) for text in texts])
    assert (batch * alone).sum(1).min() > 0.995  # activations are quantised per call
    assert np.array_equal(use_m3.encode(texts), batch)  # and the same batch, the same vectors


def test_batches_are_bounded_and_cover_every_text_once() -> None:
    lengths = list(np.random.default_rng(0).integers(1, 1500, size=500))
    groups = buckets(lengths)
    assert sorted(i for group in groups for i in group) == list(range(500))
    for group in groups:
        sizes = [lengths[i] for i in group]
        assert len(group) <= MAX_BATCH and sum(sizes) <= max(MAX_BATCH_CHARS, max(sizes))
        assert max(sizes) <= min(sizes) * 1.25 + 16


def test_empty_input(use_m3) -> None:
    assert use_m3.encode([]).shape == (0, 512)
    assert use_m3.total_tokens([]) == 0 and use_m3.count_tokens("") == 0
    assert use_m3.lead("", 5) == ""
    assert np.isfinite(use_m3.encode([""])).all()


def test_tokens_are_the_graphs_own_sentencepiece_pieces(use_m3) -> None:
    assert use_m3.count_tokens("Hello world") == 2
    assert use_m3.total_tokens(["Hello world", "Hello world"]) == 4
    chinese = "中国经济增长放缓。" * 100  # no spaces: still counted and cut by pieces
    assert 300 < use_m3.count_tokens(chinese) < 900
    lead = use_m3.lead(chinese, 20)
    assert chinese.startswith(lead) and 0 < len(lead) < 60
    assert use_m3.count_tokens(lead) <= 20
    assert use_m3.lead("Hello brave new world of news", 3) == "Hello brave new"
    assert use_m3.lead(ENGLISH, 1000) == ENGLISH


def test_use_m3_is_chosen_by_setting_and_comes_in_one_form() -> None:
    registry = AnalyserRegistry(Settings(sentence_encoder="use-m3"))
    assert registry.embedder().family == "use-m3"
    with pytest.raises(ValueError, match="onnx-int8"):
        Settings(sentence_encoder="use-m3", encoder="onnx-fp32")
    with pytest.raises(ValueError, match="EMBEDDING_MODEL"):
        Settings(sentence_encoder="use-m3", embedding_model="/some/minilm")


def test_a_head_fitted_on_another_encoder_is_refused(use_m3) -> None:
    analyser = EmbeddingSentimentAnalyser(embedder=use_m3, head_path=DEFAULT_HEAD)
    with pytest.raises(AnalysisUnavailable, match="fitted on minilm"):
        analyser.warm_up()


def test_vectors_of_another_encoder_are_not_mixed_in(use_m3, seed_article) -> None:
    doc = make_doc(seed_article, title="IS Chechen commander vows to revenge Russia")
    texts = embedded_texts(doc)
    minilm = get_embedder(family="minilm")
    foreign = DocVectors(minilm.name, texts, minilm.encode(texts))
    summariser = ExtractiveSummariser(embedder=use_m3)
    assert summariser.own(foreign) is None
    assert summariser(doc, {}, vectors=foreign) == summariser(doc, {})
    mine = DocVectors(use_m3.name, texts, use_m3.encode(texts))
    assert summariser.own(mine) is mine


def test_use_m3_ships_its_own_head_with_its_own_band(use_m3) -> None:
    head = SentimentHead.load(HEADS["use-m3"])
    assert head.family == "use-m3" and head.dim == 512
    assert head.meta["embedder"] == use_m3.name
    assert head.meta["thresholds"]["chosen_by"] == "training/choose_neutral_band.py"
    assert "nyt" not in head.meta["training_corpora"]
    assert HEADS["use-m3"].stat().st_size < 1_000_000
    assert SentimentHead.load(HEADS["minilm"]).family == "minilm"


GERMAN = (
    "Die Zentralbank hat die Zinsen erneut erhöht, um die hohe Inflation zu bekämpfen. "
    "Unternehmen und Verbraucher klagen über steigende Kreditkosten. "
    "Die Börse reagierte mit deutlichen Kursverlusten."
)


def test_a_german_article_gets_a_summary_sentiment_and_english_topics(use_m3) -> None:
    doc = make_doc(GERMAN, language="de")
    summary = ExtractiveSummariser(embedder=use_m3)(doc, {"max_sentences": 1})
    (picked,) = summary["sentences"]
    assert GERMAN[picked["start"] : picked["end"]] == picked["text"]
    sentiment = EmbeddingSentimentAnalyser(embedder=use_m3)(doc, {})
    assert sentiment["score"] < 0 and "multilingual" in sentiment["model"]
    topics = EmbeddingTopicClassifier(embedder=use_m3)(doc, {})
    assert topics["labels"][0]["label"] == "economy, business and finance"
    custom = EmbeddingTopicClassifier(embedder=use_m3)(doc, {"labels": ["sport", "economy"]})
    assert custom["labels"][0]["label"] == "economy"


def test_minilm_still_refuses_german(seed_article) -> None:
    doc = make_doc(GERMAN, language="de")
    with pytest.raises(UnsupportedLanguage, match="English only"):
        ExtractiveSummariser(embedder=get_embedder(family="minilm"))(doc, {})


def test_text_vader_cannot_read_is_scored_by_the_head_alone(use_m3) -> None:
    from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser
    from copydesk.core.document import Document, Span

    analyser = EmbeddingSentimentAnalyser(embedder=use_m3)
    german = "Die Regierung ist gescheitert, und die Lage ist katastrophal und furchtbar."
    doc = Document(text=german, sentences=(Span(0, len(german)),), language="de")
    result = analyser(doc)
    head = analyser.head
    raw = head.raw(use_m3.encode([german]))
    assert result["sentences"][0]["score"] == pytest.approx(float(np.clip(raw, -1, 1)[0]), abs=1e-4)
    assert "VADER" not in result["model"] and "VADER" in head.model_name
    from copydesk.analyse.sentiment import vader_compound

    english = Document(text=german, sentences=doc.sentences, language="en")  # as if English
    compound = vader_compound([german])  # German "die" (the) is English "die" to VADER
    assert compound[0] < 0
    blended = head.combine(raw, compound)
    assert analyser(english)["sentences"][0]["score"] == pytest.approx(float(blended[0]), abs=1e-4)
    assert abs(result["sentences"][0]["score"] - float(blended[0])) > 0.05


def test_use_m3_expands_custom_labels_against_its_own_pool(use_m3, monkeypatch) -> None:
    from copydesk.analyse import topics

    count, share = topics.EXPAND["use-m3"]
    names = ("armed conflict", "terrorism", "foreign policy")
    after = EmbeddingTopicClassifier(embedder=use_m3).label_matrix(names)
    articles = topics.pool(use_m3)
    assert articles.shape[1] == 512
    monkeypatch.setattr(topics, "EXPAND", {})
    before = EmbeddingTopicClassifier(embedder=use_m3).label_matrix(names)
    expected = topics.expand_labels(before, articles, count=count, share=share)
    assert after == pytest.approx(expected, abs=1e-5)
    assert np.all(np.sum(after * before, axis=1) < 0.999)
