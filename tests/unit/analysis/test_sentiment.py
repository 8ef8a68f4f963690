"""Check the embedded sentiment analyser end to end on the real MiniLM model and shipped head."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from copydesk.analyse.sentiment import (
    DEFAULT_HEAD,
    HEADS,
    EmbeddingSentimentAnalyser,
    SentimentHead,
    aggregate,
)
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError, AnalysisUnavailable, UnsupportedLanguage

ROOT = Path(__file__).resolve().parents[3]

POSITIVE = "This is a wonderful, delightful film and I loved every minute of it."
NEGATIVE = "This product is terrible, it broke after two days and support was useless."
NEUTRAL = "The committee will meet on Tuesday at 10 a.m. in room 4."
NEWS = (
    "An Islamic State commander has vowed revenge on Russia, his father said on Monday. "
    "His fighters routed the army, killed as many as 500 troops and captured 180 more. "
    "Officials fear that jihadists returning home will stage attacks on their native "
    "countries. The region has erupted into violence again and again in the past three decades."
)


def doc(text: str, *, language: str | None = "en", offset: int = 0) -> Document:
    """Build a Document whose sentences are cut by a plain regex (no text preparation)."""
    spans = tuple(
        Span(m.start() + offset, m.end() + offset) for m in re.finditer(r"[^.!?]+[.!?]", text)
    )
    return Document(text=" " * offset + text, sentences=spans, language=language)


@pytest.fixture(scope="module")
def analyser() -> EmbeddingSentimentAnalyser:
    return EmbeddingSentimentAnalyser()


FLAT_NEWS = [
    NEUTRAL,
    "The train leaves from platform 2.",
    "Temperatures will reach 18 degrees on Saturday, with light winds from the west.",
    "The city council will meet on Thursday to discuss the annual budget.",
]


@pytest.mark.parametrize(
    ("text", "label"),
    [(POSITIVE, "positive"), (NEGATIVE, "negative"), *((text, "neutral") for text in FLAT_NEWS)],
)
def test_clear_sentences_get_their_label(analyser, text, label):
    result = analyser(Document(text=text, sentences=(Span(0, len(text)),), language="en"))
    assert result["label"] == label
    sign = {"positive": 1, "negative": -1, "neutral": 0}[label]
    if sign:
        assert result["score"] * sign > 0.3
    else:
        assert abs(result["score"]) < 0.2


def test_result_shape_and_score_ranges(analyser):
    result = analyser(doc(f"{POSITIVE} {NEGATIVE} {NEUTRAL}"))
    assert set(result) == {"label", "score", "sentences", "model", "coverage"}
    assert result["model"] == "copydesk-sentiment-head/1 (all-MiniLM-L6-v2 + VADER 3.3.2)"
    assert result["coverage"] == 1.0
    assert -1.0 <= result["score"] <= 1.0
    scores = [s["score"] for s in result["sentences"]]
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.3 and scores[1] < -0.3
    json.dumps(result)  # JSON-ready: no numpy scalars


def test_offsets_index_the_text_and_do_not_change_scores(analyser):
    text = f"{POSITIVE} {NEGATIVE}"
    plain, shifted = analyser(doc(text)), analyser(doc(text, offset=7))
    shifted_doc = doc(text, offset=7)
    for a, b in zip(plain["sentences"], shifted["sentences"], strict=True):
        assert shifted_doc.text[b["start"] : b["end"]] == b["text"] == a["text"]
        assert b["start"] == a["start"] + 7
        assert b["score"] == pytest.approx(a["score"], abs=1e-3)
    assert shifted["score"] == pytest.approx(plain["score"], abs=1e-3)


def test_blank_sentences_are_skipped_and_no_sentences_fail(analyser):
    text = f"{POSITIVE}   "
    spans = (Span(0, len(POSITIVE)), Span(len(POSITIVE), len(text)))
    result = analyser(Document(text=text, sentences=spans))
    assert len(result["sentences"]) == 1
    with pytest.raises(AnalysisError):
        analyser(Document(text="", sentences=()))
    with pytest.raises(AnalysisError):
        analyser(Document(text="   ", sentences=(Span(0, 3),)))


def test_non_english_is_refused_and_unknown_language_accepted(analyser):
    with pytest.raises(UnsupportedLanguage):
        analyser(doc("Das ist ein wunderbarer Film.", language="de"))
    assert analyser(doc(POSITIVE, language=None))["label"] == "positive"


def test_batch_equals_single():
    # fp32: dynamic int8 quantises activations per batch, so with int8 a sentence's vector
    # moves slightly with its batch-mates; this checks the batching logic, not that backend
    from copydesk.analyse.embedder import get_embedder

    analyser = EmbeddingSentimentAnalyser(embedder=get_embedder(encoder="onnx-fp32"))
    docs = [doc(f"{POSITIVE} {NEUTRAL}"), doc(NEWS), doc(NEGATIVE)]
    batched = analyser.batch(docs, [None, {}, None])
    for d, b in zip(docs, batched, strict=True):
        single = analyser(d)
        assert b["label"] == single["label"]
        assert b["score"] == pytest.approx(single["score"], abs=1e-3)
        assert [s["start"] for s in b["sentences"]] == [s["start"] for s in single["sentences"]]
        assert [s["score"] for s in b["sentences"]] == pytest.approx(
            [s["score"] for s in single["sentences"]], abs=1e-3
        )


def test_violent_news_paragraph_is_negative(analyser):
    result = analyser(doc(NEWS))
    assert len(result["sentences"]) == 4
    assert result["label"] == "negative"
    assert result["score"] < -0.1


@pytest.mark.parametrize(("family", "dim"), [("minilm", 384), ("use-m3", 512), ("mpnet", 768)])
def test_head_file_metadata_excludes_the_evaluation_corpus(family, dim):
    head = SentimentHead.load(HEADS[family])
    meta = head.meta
    assert head.family == family
    assert meta["version"] == "1" and meta["name"] == "copydesk-sentiment-head"
    assert meta["excluded_corpora"] == ["nyt"]
    assert "nyt" not in meta["training_corpora"] and "nyt" not in meta["n"]
    assert set(meta["n"]) == {"tweets", "movie", "amazon", "lexicon"}
    negative, positive = head.thresholds
    assert -1.0 < negative < positive < 1.0
    assert meta["embedding_dim"] == dim
    assert all(a.dtype == np.float32 for a in head.arrays.values())
    assert HEADS[family].stat().st_size < 1_000_000


def _training_script(monkeypatch, name: str):
    """Import a training/ script by path, with training/ importable for its own imports."""
    monkeypatch.syspath_prepend(str(ROOT / "training"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "training" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("family", ["minilm", "use-m3", "mpnet"])
def test_shipped_band_is_the_one_the_choice_script_picks_on_its_dev_data(monkeypatch, family):
    band = _training_script(monkeypatch, "choose_neutral_band")
    meta = SentimentHead.load(HEADS[family]).meta
    dev = {
        name: (np.array(d["scores"]), np.array(d["gold"])) for name, d in meta["band_dev"].items()
    }
    assert set(dev) == {"news", "ratings"}
    assert {len(g) for _, g in dev.values()} == {1439, 2743}
    half, curve = band.choose_band(dev)
    assert meta["thresholds"]["negative"] == -half
    assert meta["thresholds"]["positive"] == half
    assert meta["thresholds"]["curve"] == curve
    assert meta["thresholds"]["criterion"] == band.CRITERION


def test_label_uses_the_band_edges_inclusively():
    head = SentimentHead.load(DEFAULT_HEAD)
    negative, positive = head.thresholds
    assert negative == -positive == pytest.approx(-0.13)
    assert head.label(positive) == "positive" and head.label(negative) == "negative"
    assert head.label(positive - 1e-4) == head.label(negative + 1e-4) == "neutral"


def test_head_loads_lazily(tmp_path):
    broken = EmbeddingSentimentAnalyser(embedder=object(), head_path=tmp_path / "missing.npz")
    with pytest.raises(AnalysisUnavailable):
        broken.model_name


def test_aggregate_defaults_to_plain_mean_and_polar_weights_pull_outward():
    scores, lengths = np.array([0.8, -0.1, 0.0]), np.array([10, 100, 50])
    assert aggregate(scores, lengths=lengths) == pytest.approx(scores.mean())
    assert aggregate(scores, lengths=lengths, polar_power=1.0) > scores.mean()
    assert aggregate(scores, lengths=lengths, length_power=1.0) < 0.0


def _vader_data(monkeypatch):
    """Import bench/vader_data.py by path (bench/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("vader_data", ROOT / "bench/vader_data.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "vader_data", module)
    spec.loader.exec_module(module)
    return module


def test_vader_loader_parses_and_groups_editorials(tmp_path, monkeypatch):
    vd = _vader_data(monkeypatch)
    files = {
        "nytEditorialSnippets_GroundTruth.txt": "2_2\t-1.5\tSecond.\r\n2_1\t0.25\tFirst.\r\n"
        "10_1\t1\tOther.\r\n",
        "nytEditorialSnippets_anonDataRatings.txt": "2_2\t-1.5\t0.5\t[-1, -2]\r\n",
    }
    archive = tmp_path / "vader" / vd.ARCHIVE_NAME
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in files.items():
            data = body.encode()
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    nyt = vd.load_corpora(corpora=["nyt"], cache_dir=tmp_path, fetch=False)["nyt"]
    assert [(s.id, s.rating, s.text) for s in nyt][0] == ("2_2", -1.5, "Second.")
    assert nyt[0].sd == 0.5 and nyt[0].n_raters == 2 and nyt[1].sd is None
    grouped = vd.documents(nyt)
    assert list(grouped) == ["2", "10"]
    assert [s.text for s in grouped["2"]] == ["First.", "Second."]
