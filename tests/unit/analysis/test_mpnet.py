"""mpnet (all-mpnet-base-v2), the third encoder: its real weights, offline, from its parts."""

from __future__ import annotations

import numpy as np
import pytest

from documents import make_doc

from copydesk.analyse.embedder import MPNET_MAX_TOKENS, Embedder, encoder_name, get_embedder
from copydesk.analyse.model_files import ensure_mpnet, model_file, mpnet_parts
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.analyse import iptc
from copydesk.analyse.sentiment import HEADS, EmbeddingSentimentAnalyser, SentimentHead
from copydesk.analyse.summary import ExtractiveSummariser
from copydesk.analyse.topics import CUSTOM, TEMPERATURES, EmbeddingTopicClassifier
from copydesk.core.errors import AnalysisUnavailable, UnsupportedLanguage
from copydesk.core.models_view import ENCODER_LANGUAGES, encoder_model
from copydesk.core.settings import Settings
from copydesk.prepare.vectors import DocVectors, embedded_texts

SENTENCES = [
    "The central bank raised interest rates by half a point on Thursday.",
    "Troops launched an offensive against rebel positions in the north.",
    "The striker scored twice as the home team won the cup final.",
    "Shares fell.",
    "Shares in the retailer dropped after it warned that profits would be lower this year.",
    "A very long sentence " + "about the budget and the schools and the roads " * 60,
]


@pytest.fixture(scope="module")
def mpnet() -> Embedder:
    return get_embedder(family="mpnet", encoder="onnx-int8")


def test_the_parts_join_into_the_model_folder_offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    parts = mpnet_parts()
    assert [p.name for p in parts] == [f"all-mpnet-base-v2.zip.00{n}" for n in range(1, 6)]
    folder = ensure_mpnet()
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
    assert (folder / "tokenizer.json").exists()
    assert not list(folder.glob("*.tmp")) and not list(folder.rglob("desktop.ini"))


def test_the_int8_export_gives_unit_768_vectors(mpnet) -> None:
    vectors = mpnet.encode(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 768) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert mpnet.family == "mpnet" and mpnet.dim == 768
    assert mpnet.name == "all-mpnet-base-v2, onnx-int8"
    assert mpnet.name == encoder_name(Settings(sentence_encoder="mpnet"))
    assert mpnet.weights == model_file(mpnet.path, "int8") and mpnet.weights.exists()


def test_int8_keeps_close_to_fp32(mpnet) -> None:
    fp32 = get_embedder(family="mpnet", encoder="onnx-fp32")
    cosines = (mpnet.encode(SENTENCES) * fp32.encode(SENTENCES)).sum(1)
    assert cosines.mean() > 0.97 and cosines.min() > 0.93, cosines  # plain int8: 0.35 here


def test_texts_are_wrapped_in_its_own_special_tokens_and_padded_with_its_pad(mpnet) -> None:
    tokens = mpnet.tokenizer
    assert (mpnet._cls, mpnet._sep) == (tokens.token_to_id("<s>"), tokens.token_to_id("</s>"))
    assert mpnet._pad == tokens.token_to_id("<pad>") != 0
    minilm = get_embedder(family="minilm")
    assert (minilm._cls, minilm._sep, minilm._pad) == (101, 102, 0)  # [CLS], [SEP], [PAD]


def test_a_batch_gives_each_text_close_to_the_vector_it_gets_alone(mpnet) -> None:
    batch = mpnet.encode(SENTENCES)
    alone = np.vstack([mpnet.encode([text]) for text in SENTENCES])
    assert (batch * alone).sum(1).min() > 0.95  # int8 activations are quantised per call


def test_long_texts_are_read_in_windows_of_384_tokens(mpnet) -> None:
    assert mpnet.max_tokens == MPNET_MAX_TOKENS == 384
    windows, owners = mpnet._windows(SENTENCES)
    assert max(len(w) for w in windows) == 384
    assert list(owners).count(len(SENTENCES) - 1) == -(-mpnet.count_tokens(SENTENCES[-1]) // 382)


def test_mpnet_is_chosen_by_setting() -> None:
    settings = Settings(sentence_encoder="mpnet")
    assert AnalyserRegistry(settings).embedder().family == "mpnet"
    assert encoder_model(settings) == "all-mpnet-base-v2"
    assert ENCODER_LANGUAGES["mpnet"] == ("en",)
    assert Settings(sentence_encoder="mpnet", encoder="onnx-fp32").encoder == "onnx-fp32"
    with pytest.raises(ValueError, match="EMBEDDING_MODEL"):
        Settings(sentence_encoder="mpnet", embedding_model="/some/minilm")
    with pytest.raises(ValueError, match="sentence_encoder"):
        Settings(sentence_encoder="mpnet-large")


def test_heads_of_other_encoders_are_refused(mpnet) -> None:
    for family in ("minilm", "use-m3"):
        analyser = EmbeddingSentimentAnalyser(embedder=mpnet, head_path=HEADS[family])
        with pytest.raises(AnalysisUnavailable, match=f"fitted on {family}"):
            analyser.warm_up()


def test_vectors_of_another_encoder_are_not_mixed_in(mpnet, seed_article) -> None:
    doc = make_doc(seed_article, title="IS Chechen commander vows to revenge Russia")
    texts = embedded_texts(doc)
    minilm = get_embedder(family="minilm")
    foreign = DocVectors(minilm.name, texts, minilm.encode(texts))
    summariser = ExtractiveSummariser(embedder=mpnet)
    assert summariser.own(foreign) is None
    mine = DocVectors(mpnet.name, texts, mpnet.encode(texts))
    assert summariser.own(mine) is mine


def test_mpnet_refuses_german(mpnet) -> None:
    doc = make_doc("Die Zentralbank hat die Zinsen erneut erhöht.", language="de")
    with pytest.raises(UnsupportedLanguage):
        ExtractiveSummariser(embedder=mpnet)(doc, {})


def test_mpnet_ships_its_own_head_band_and_temperatures(mpnet) -> None:
    head = SentimentHead.load(HEADS["mpnet"])
    assert head.family == "mpnet" and head.dim == 768
    assert head.meta["embedder"] == mpnet.name
    assert head.meta["thresholds"]["chosen_by"] == "training/choose_neutral_band.py"
    assert set(TEMPERATURES["mpnet"]) == {CUSTOM, iptc.TAXONOMY}


def test_an_english_article_gets_a_summary_sentiment_and_topics(mpnet, seed_article) -> None:
    doc = make_doc(seed_article, title="IS Chechen commander vows to revenge Russia")
    summary = ExtractiveSummariser(embedder=mpnet)(doc, {"max_sentences": 2})
    assert len(summary["sentences"]) == 2
    for sentence in summary["sentences"]:
        assert seed_article[sentence["start"] : sentence["end"]] == sentence["text"]
    sentiment = EmbeddingSentimentAnalyser(embedder=mpnet)(doc, {})
    assert sentiment["score"] < 0 and "all-mpnet-base-v2" in sentiment["model"]
    topics = EmbeddingTopicClassifier(embedder=mpnet)(doc, {})
    assert "conflict, war and peace" in [t["label"] for t in topics["labels"]]
    custom = EmbeddingTopicClassifier(embedder=mpnet)(doc, {"labels": ["sport", "war", "economy"]})
    assert custom["labels"][0]["label"] == "war"
