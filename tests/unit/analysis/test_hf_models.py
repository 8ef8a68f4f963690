"""Run the configurable Hugging Face analysers end to end on tiny random-weight models.

The models are real transformers checkpoints (saved and loaded from disk) with the real
MiniLM WordPiece tokenizer, only tiny: 128 positions, so an ordinary article needs chunking.
Biased classifier heads make one class win for every input, which checks label mapping
through real inference rather than by inspecting code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from copydesk.analyse.hf import (
    HFSentimentClassifier,
    HFSummariser,
    HFZeroShotClassifier,
    build_analyser,
)
from copydesk.analyse.hf_common import chunk_spans, max_input_tokens, token_counts
from copydesk.analyse.hf_sentiment import polarity_weights
from copydesk.analyse.hf_topics import nli_indices
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, AnalysisUnavailable, UnsupportedLanguage

from support.tiny_models import (
    MAX_POSITIONS,
    build_tiny_classifier,
    build_tiny_models,
    build_tiny_seq2seq,
)

PARAGRAPHS = [
    "The city council approved a new budget on Tuesday after a long debate. "
    "Spending on schools and public transport will rise next year. "
    "Opposition members said the plan relied on optimistic tax forecasts.",
    "The mayor defended the decision at a press conference. "
    "She said the investment would create jobs and cut traffic in the centre. "
    "Business groups welcomed the extra money for roads and bridges.",
    "Critics, including two former finance officials, several neighbourhood associations, "
    "the regional chamber of commerce, a coalition of environmental charities, three trade "
    "unions representing transport workers, teachers and nurses, and a number of independent "
    "economists from the local university, argued in a joint letter published on Monday that "
    "the council had underestimated the cost of maintaining the new tram line, ignored the "
    "rising price of energy for public buildings, postponed overdue repairs to social housing, "
    "and failed to explain how it would repay the loans it plans to take out over the next "
    "decade without raising local taxes or cutting services that many families depend on, "
    "and questioned whether the promised growth in visitor numbers, hotel stays, restaurant "
    "bookings and retail sales in the old town would ever materialise once the construction "
    "work, which is scheduled to last at least four years, begins.",
    "A final vote on the transport plan is expected next month. "
    "Residents can comment on the proposals online until the end of March.",
]
LABELS = ["politics", "sport", "economy", "weather"]


def make_doc(paragraphs: list[str] = PARAGRAPHS, *, language: str | None = "en") -> Document:
    text = "\n\n".join(paragraphs)
    spans = [Span(m.start(), m.end()) for m in re.finditer(r"\S.*?(?:[.!?](?=\s|$)|$)", text)]
    return Document(text=text, sentences=tuple(spans), language=language, title="Budget")


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_tiny_models(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def summariser(models: dict[str, Path]) -> HFSummariser:
    return HFSummariser(model=str(models["summary"]))


@pytest.fixture(scope="module")
def sentiment(models: dict[str, Path]) -> HFSentimentClassifier:
    return HFSentimentClassifier(model=str(models["sentiment"]))


@pytest.fixture(scope="module")
def topics(models: dict[str, Path]) -> HFZeroShotClassifier:
    return HFZeroShotClassifier(model=str(models["topics"]))


def test_document_is_longer_than_the_tiny_window(summariser: HFSummariser) -> None:
    doc = make_doc()
    tokenizer = summariser.load().tokenizer
    assert summariser.load().max_tokens == MAX_POSITIONS  # config wins over tokenizer's 512
    assert token_counts(tokenizer, [doc.text])[0] > MAX_POSITIONS
    assert max(token_counts(tokenizer, doc.sentence_texts())) > MAX_POSITIONS


def test_build_tiny_models_saves_loadable_checkpoints(models: dict[str, Path]) -> None:
    assert set(models) == {"summary", "sentiment", "topics"}
    for path in models.values():
        assert (path / "config.json").is_file()
        assert (path / "tokenizer_config.json").is_file()
        assert (path / "model.safetensors").is_file()


# --- summary ---------------------------------------------------------------------------


def test_summary_chunks_a_long_document(summariser: HFSummariser) -> None:
    result = summariser(make_doc(), {"max_sentences": 3})
    assert result["model"] == summariser.model_name
    assert result["method"] == "abstractive"
    assert result["sentences"] == []
    assert result["chunks"] > 1
    assert result["coverage"] == 1.0
    assert isinstance(result["text"], str) and result["text"].strip()


def test_summary_reduces_chunk_summaries_that_fit_one_window(summariser: HFSummariser) -> None:
    doc = make_doc(PARAGRAPHS[:2] + PARAGRAPHS[3:] + PARAGRAPHS[:1])
    one = summariser(doc, {"max_sentences": 1})
    assert one["chunks"] == 2
    # the reduce pass is one more generate() of at most 40 tokens; joined, it would be ~80
    assert len(one["text"].split()) <= 40
    three = summariser(doc, {"max_sentences": 3})
    assert len(three["text"].split()) > 40


def test_summary_copes_with_beam_search_defaults(tmp_path: Path) -> None:
    """bart-large-cnn style generation settings must not warn (warnings are errors here)."""
    path = build_tiny_seq2seq(
        tmp_path / "cnn",
        generation={
            "num_beams": 4,
            "length_penalty": 2.0,
            "min_length": 56,
            "max_length": 142,
            "early_stopping": True,
            "no_repeat_ngram_size": 3,
        },
    )
    result = HFSummariser(model=str(path))(make_doc(PARAGRAPHS[:1]), {"max_sentences": 1})
    assert result["chunks"] == 1
    assert 0 < len(result["text"].split()) <= 40


@pytest.mark.parametrize("cls", [HFSummariser, HFZeroShotClassifier])
def test_chunk_cap_is_reported_as_partial_coverage(models: dict[str, Path], cls: type) -> None:
    key = "summary" if cls is HFSummariser else "topics"
    capped = cls(model=str(models[key]), max_chunks=1)
    result = capped(make_doc(), {"labels": LABELS} if key == "topics" else {})
    assert result["chunks"] == 1
    assert 0.0 < result["coverage"] < 0.5


@pytest.mark.parametrize(
    "options", [{"mode": "extractive"}, {"max_sentences": 0}, {"max_sentences": "3"}]
)
def test_summary_rejects_bad_options(summariser: HFSummariser, options: dict) -> None:
    with pytest.raises(AnalysisError):
        summariser(make_doc(), options)


# --- sentiment -------------------------------------------------------------------------


def test_sentiment_scores_every_sentence(sentiment: HFSentimentClassifier) -> None:
    doc = make_doc()
    result = sentiment(doc)
    assert result["model"] == sentiment.model_name
    assert result["label"] in {"negative", "neutral", "positive"}
    assert -1.0 <= result["score"] <= 1.0
    assert result["coverage"] == 1.0
    assert len(result["sentences"]) == len(doc.sentences)
    for item, span in zip(result["sentences"], doc.sentences, strict=True):
        assert (item["start"], item["end"]) == (span.start, span.end)
        assert doc.text[item["start"] : item["end"]] == item["text"]
        assert -1.0 <= item["score"] <= 1.0


def test_sentiment_batch_equals_single(sentiment: HFSentimentClassifier) -> None:
    docs = [make_doc(), make_doc(PARAGRAPHS[3:]), make_doc(PARAGRAPHS[:1])]
    batched = sentiment.batch(docs, [None, {}, None])
    for doc, got in zip(docs, batched, strict=True):
        want = sentiment(doc)
        assert got["label"] == want["label"]
        assert got["score"] == pytest.approx(want["score"], abs=2e-4)
        assert [s["start"] for s in got["sentences"]] == [s["start"] for s in want["sentences"]]
        for a, b in zip(got["sentences"], want["sentences"], strict=True):
            assert a["score"] == pytest.approx(b["score"], abs=2e-4)


SCHEMES = [
    ({0: "negative", 1: "neutral", 2: "positive"}, 2, "positive"),
    ({0: "NEG", 1: "NEU", 2: "POS"}, 0, "negative"),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, 2, "positive"),
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, 1, "neutral"),
    ({0: "LABEL_0", 1: "LABEL_1"}, 0, "negative"),
    ({0: "NEGATIVE", 1: "POSITIVE"}, 1, "positive"),
    ({0: "POSITIVE", 1: "NEGATIVE"}, 1, "negative"),
    ({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}, 4, "positive"),
    ({i: f"{i + 1} star{'s' if i else ''}" for i in range(5)}, 2, "neutral"),
    (
        {0: "very negative", 1: "negative", 2: "neutral", 3: "positive", 4: "very positive"},
        0,
        "negative",
    ),
]


@pytest.mark.parametrize(("id2label", "winner", "label"), SCHEMES)
def test_sentiment_reads_each_label_scheme(
    tmp_path: Path, id2label: dict[int, str], winner: int, label: str
) -> None:
    bias = [8.0 if i == winner else 0.0 for i in range(len(id2label))]
    path = build_tiny_classifier(tmp_path / "m", id2label=id2label, bias=bias)
    result = HFSentimentClassifier(model=str(path))(make_doc(PARAGRAPHS[:1]))
    assert result["label"] == label
    expected = {"positive": 1.0, "negative": -1.0, "neutral": 0.0}[label]
    assert result["score"] == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize(
    "id2label",
    [
        {0: "sports", 1: "politics"},
        {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2", 3: "LABEL_3"},
        {0: "negative", 1: "neutral", 2: "positive", 3: "mixed"},
    ],
)
def test_sentiment_refuses_unmappable_labels(tmp_path: Path, id2label: dict[int, str]) -> None:
    path = build_tiny_classifier(tmp_path / "m", id2label=id2label)
    with pytest.raises(AnalysisUnavailable):
        HFSentimentClassifier(model=str(path))(make_doc(PARAGRAPHS[:1]))


def test_polarity_weights() -> None:
    assert polarity_weights({0: "Negative", 1: "Neutral", 2: "Positive"}) == [-1.0, 0.0, 1.0]
    assert polarity_weights({0: "LABEL_2", 1: "LABEL_0", 2: "LABEL_1"}) == [1.0, -1.0, 0.0]
    assert polarity_weights({i: f"{i + 1} stars" for i in range(5)}) == [-1.0, -0.5, 0.0, 0.5, 1.0]
    with pytest.raises(AnalysisUnavailable):
        polarity_weights({0: "neutral", 1: "positive"})  # nothing negative to weigh against
    with pytest.raises(AnalysisUnavailable):
        polarity_weights({0: "LABEL_0", 1: "positive"})


# --- topics ----------------------------------------------------------------------------


def test_topics_rank_custom_labels(topics: HFZeroShotClassifier) -> None:
    result = topics(make_doc(), {"labels": LABELS, "top_k": 3})
    assert result["model"] == topics.model_name
    assert result["taxonomy"] == "custom"
    assert result["chunks"] > 1
    assert result["coverage"] == 1.0
    scores = [x["score"] for x in result["labels"]]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert {x["label"] for x in result["labels"]} <= set(LABELS)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_topics_default_to_iptc(topics: HFZeroShotClassifier) -> None:
    from copydesk.analyse.iptc import topic_names

    result = topics(make_doc(PARAGRAPHS[:1]), {"top_k": 17})
    assert result["taxonomy"] == "iptc-mediatopic"
    assert sorted(x["label"] for x in result["labels"]) == sorted(topic_names())


def test_topics_batch_equals_single(topics: HFZeroShotClassifier) -> None:
    docs = [make_doc(), make_doc(PARAGRAPHS[:1])]
    opts = [{"labels": LABELS, "top_k": 4}, {"labels": ["sport", "science"]}]
    for got, doc, o in zip(topics.batch(docs, opts), docs, opts, strict=True):
        want = topics(doc, o)
        assert {x["label"]: x["score"] for x in got["labels"]} == pytest.approx(
            {x["label"]: x["score"] for x in want["labels"]}, abs=2e-4
        )


def test_topics_read_a_label_description_as_its_hypothesis(topics: HFZeroShotClassifier) -> None:
    labels = [{"label": "politics", "description": "council budgets and votes"}, "sport"]
    inputs = topics.preprocess(make_doc(), {"labels": labels})
    assert inputs.labels == ("politics", "sport")
    assert inputs.hypotheses == (
        "This article is about council budgets and votes.",
        "This article is about sport.",
    )
    named = topics.preprocess(make_doc(), {"labels": ["politics", "sport"]})
    (described_scores, named_scores) = topics._forward_many([inputs, named])  # unrounded
    assert described_scores[1] == pytest.approx(named_scores[1], abs=1e-6)
    assert described_scores[0] != named_scores[0]  # tiny random weights: a small difference


def test_topics_refuse_examples_they_cannot_use(topics: HFZeroShotClassifier) -> None:
    labels = ["sport", {"label": "politics", "examples": ["The council voted on the budget."]}]
    with pytest.raises(AnalysisUnavailable, match="'politics' brings examples"):
        topics(make_doc(), {"labels": labels})


NLI_SCHEMES = [
    {0: "entailment", 1: "neutral", 2: "contradiction"},
    {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"},
    {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},  # unnamed: MNLI order assumed
    {0: "not_entailment", 1: "entailment"},
]


@pytest.mark.parametrize("id2label", NLI_SCHEMES)
def test_topics_find_the_entailment_class(tmp_path: Path, id2label: dict[int, str]) -> None:
    contra, entail = nli_indices(id2label)
    for winner, high in ((entail, True), (contra, False)):
        bias = [8.0 if i == winner else 0.0 for i in range(len(id2label))]
        path = build_tiny_classifier(tmp_path / f"m{winner}", id2label=id2label, bias=bias)
        result = HFZeroShotClassifier(model=str(path))(make_doc(), {"labels": LABELS})
        for item in result["labels"]:
            assert (item["score"] > 0.95) is high


def test_nli_indices() -> None:
    assert nli_indices({0: "entailment", 1: "neutral", 2: "contradiction"}) == (2, 0)
    assert nli_indices({0: "not_entailment", 1: "entailment"}) == (0, 1)
    assert nli_indices({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}) == (0, 2)
    with pytest.raises(AnalysisUnavailable):
        nli_indices({0: "entailment"})


@pytest.mark.parametrize(
    "options",
    [
        {"labels": []},
        {"labels": "sport"},
        {"top_k": 0},
        {"labels": ["sport " * 80]},
        {"labels": [{"label": "sport", "description": "sport " * 80}]},
        {"labels": [{"description": "no name"}]},
    ],
)
def test_topics_reject_bad_options(topics: HFZeroShotClassifier, options: dict) -> None:
    with pytest.raises(AnalysisError):
        topics(make_doc(), options)


# --- all three -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["summary", "sentiment", "topics"])
def test_factory_languages_and_empty_docs(models: dict[str, Path], name: str) -> None:
    analyser = build_analyser(name, model=str(models[name]))
    assert analyser.name == name and analyser.model_name == str(models[name])
    with pytest.raises(AnalysisError):
        analyser(Document(text="  \n ", sentences=()))
    german = make_doc(PARAGRAPHS[:1], language="de")
    options = {"labels": LABELS} if name == "topics" else {}
    assert analyser(german, options)["model"] == str(models[name])  # any language by default
    english_only = type(analyser)(model=str(models[name]), languages=frozenset({"en"}))
    with pytest.raises(UnsupportedLanguage):
        english_only(german, options)


def test_factory_refuses_unknown_analysis(models: dict[str, Path]) -> None:
    with pytest.raises(AnalysisUnavailable):
        build_analyser("translation", model=str(models["summary"]))


def test_loads_lazily_once(models: dict[str, Path]) -> None:
    analyser = HFSentimentClassifier(model=str(models["sentiment"]))
    assert analyser._loaded is None
    analyser(make_doc(PARAGRAPHS[:1]))
    first = analyser.load().model
    analyser(make_doc(PARAGRAPHS[1:2]))
    assert analyser.load().model is first


def test_missing_model_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(AnalysisUnavailable):
        HFSentimentClassifier(model=str(tmp_path))(make_doc(PARAGRAPHS[:1]))


def test_document_without_sentence_spans_is_analysed(sentiment: HFSentimentClassifier) -> None:
    doc = Document(text="  Prices rose sharply.  ", sentences=())
    result = sentiment(doc)
    assert [(s["start"], s["end"]) for s in result["sentences"]] == [(2, 22)]


def test_chunks_cover_every_sentence_within_budget(sentiment: HFSentimentClassifier) -> None:
    doc = make_doc()
    tokenizer = sentiment.load().tokenizer
    chunks = chunk_spans(tokenizer=tokenizer, text=doc.text, spans=doc.sentences, budget=50)
    assert chunks[0].start == doc.sentences[0].start
    assert chunks[-1].end == doc.sentences[-1].end
    assert all(a.end <= b.start for a, b in zip(chunks, chunks[1:]))
    for span in doc.sentences:  # every sentence character lies in some chunk
        for i in range(span.start, span.end):
            assert any(c.start <= i < c.end for c in chunks) or doc.text[i].isspace()
    assert all(
        n <= 50 for n in token_counts(tokenizer, [doc.text[c.start : c.end] for c in chunks])
    )


def test_max_input_tokens() -> None:
    from transformers import BertConfig, RobertaConfig

    unset = SimpleNamespace(model_max_length=int(1e30))
    roberta = RobertaConfig(max_position_embeddings=514)  # 2 positions reserved for padding
    assert max_input_tokens(unset, roberta) == 512
    assert max_input_tokens(SimpleNamespace(model_max_length=256), BertConfig()) == 256
    assert max_input_tokens(unset, SimpleNamespace()) == 512
