"""Keyphrases: candidates from the prepared parse, their spans, MMR, the vectors' extra rows.

The parse is the real spaCy model; vectors are random unit vectors where only arithmetic is
checked. tests/integration/test_entities.py runs the whole path with the real encoder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copydesk.analyse.keyphrases import (
    Candidate,
    SHORTLIST,
    SHORTLIST_PER_PHRASE,
    KeyphraseExtractor,
    candidates,
    key,
    mmr,
    relevance,
    trim,
)
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.document import Document
from copydesk.core.errors import AnalysisError
from copydesk.core.settings import Settings
from copydesk.prepare.stage import PrepareStage
from copydesk.prepare.vectors import DocVectors, embedded_texts

SEED = (Path(__file__).parents[1] / "fixtures" / "seed_article.txt").read_text()


@pytest.fixture(scope="module")
def seed() -> Document:
    stage = PrepareStage(AnalyserRegistry(Settings()))
    article = {"text": SEED, "title": "IS Chechen commander vows to revenge Russia"}
    return stage.text(article, analyses=["keyphrases"], options={"keyphrases": {}}).doc


def unit_rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the city of Mosul", ("city of Mosul", 4)),
        ("his many thousands", ("thousands", 9)),
        ("  Iraqi troops", ("Iraqi troops", 2)),
        ("he", None),
        ("these", None),
        ("1,000", None),
        ("a very long phrase of more than six words", None),
    ],
)
def test_trim_drops_determiners_pronouns_numbers_and_long_phrases(text, expected) -> None:
    assert trim(text, 0) == expected


def test_key_sets_aside_case_dots_and_a_plural() -> None:
    assert key("Chechen fighters") == key("chechen fighter")
    assert key("U.S. forces") == ("us", "force")
    assert key("class") == ("class",) and key("bus") == ("bus",)


def test_mmr_ranks_by_score_alone_without_diversity_and_spreads_with_it() -> None:
    a, b = unit_rows(2)
    near_a = a + 0.01 * b
    near_a /= np.linalg.norm(near_a)
    vectors = np.stack([a, near_a, b])
    scores = np.array([0.9, 0.89, 0.5])
    assert mmr(scores, vectors, top_k=3, diversity=0.0) == [0, 1, 2]
    assert mmr(scores, vectors, top_k=2, diversity=0.5) == [0, 2]  # not the near copy
    assert mmr(scores, vectors, top_k=5, diversity=0.3) == [0, 2, 1]


def test_relevance_blends_closeness_with_how_often_the_article_names_a_phrase() -> None:
    def named(times: int) -> Candidate:
        return Candidate(surfaces=["x"] * times, spans={(i, i + 1) for i in range(times)})

    often, once, close_once = named(4), named(1), named(1)
    scores = relevance(np.array([0.5, 0.5, 0.6]), [often, once, close_once])
    assert scores[0] > scores[2] > scores[1]  # frequency outweighs a little closeness
    assert np.all(scores <= 1) and np.all(scores >= -1)
    assert relevance(np.array([]), []).shape == (0,)


def test_candidates_are_the_parse_phrases_with_spans_that_index_the_text(seed) -> None:
    found = candidates(seed, most=1000)
    assert found and len({id(c) for c in found}) == len(found)
    texts = {c.text: c for c in found}
    assert texts["Russia"].entity == "place" and len(texts["Russia"].spans) >= 4
    assert texts["Omar al-Shishani"].entity == "person"
    assert "Russian-speaking jihadists" in texts  # "about 1,000" (an amount) left out
    for candidate in found:
        for start, end in candidate.spans:
            written = seed.text[start:end]
            assert written.strip() == written and written
            if candidate.entity is None:
                assert key(written) == key(candidate.text)
    assert not any(key(c.text) in {("he",), ("they",), ("it",)} for c in found)


def test_keyphrases_choose_top_k_with_scores_and_spans(seed) -> None:
    analyser = KeyphraseExtractor()
    inputs = analyser.preprocess(seed, {"top_k": 5})
    assert list(analyser.extra_texts(inputs)) == [c.text for c in inputs.candidates]
    result = analyser.postprocess(seed, (inputs, unit_rows(len(inputs.texts))), {"top_k": 5})
    assert len(result["keyphrases"]) == 5 and result["keyphrases_total"] == len(inputs.candidates)
    assert len({k["text"] for k in result["keyphrases"]}) == 5
    for phrase in result["keyphrases"]:
        assert -1 <= phrase["score"] <= 1 and phrase["count"] == len(phrase["spans"])
        for span in phrase["spans"]:
            assert seed.text[span["start"] : span["end"]]
    assert result["coverage"] == 1.0


def test_the_shortlist_embedded_is_the_most_frequent_candidates_sized_by_top_k(seed) -> None:
    """Embedding is most of what key phrases cost: only a shortlist is embedded."""
    every = candidates(seed, most=1000)
    assert len(every) > SHORTLIST  # the seed article has more candidates than the shortlist
    analyser = KeyphraseExtractor()
    default = analyser.preprocess(seed, {}).candidates
    assert default == every[:SHORTLIST]
    assert [len(c.spans) for c in default] == sorted((len(c.spans) for c in default), reverse=True)
    wide = analyser.preprocess(seed, {"top_k": 50}).candidates
    assert len(wide) == min(len(every), 50 * SHORTLIST_PER_PHRASE)


@pytest.mark.parametrize("options", [{"top_k": 0}, {"top_k": 51}, {"diversity": 1.5}, {"x": 1}])
def test_bad_options_fail_the_analysis(seed, options) -> None:
    with pytest.raises(AnalysisError):
        KeyphraseExtractor().preprocess(seed, options)


def test_the_candidates_vectors_travel_beside_the_documents(seed) -> None:
    own = embedded_texts(seed)
    extra = ("Chechen fighters", "Pankisi Gorge")
    matrix = unit_rows(len(own) + len(extra))
    vectors = DocVectors("m", own + extra, matrix, extra=extra)
    again = DocVectors.from_bytes(vectors.to_bytes(), seed)
    assert again.extra == extra and again.texts == own + extra
    found = again.lookup(["Pankisi Gorge"])
    assert found is not None and np.allclose(found, matrix[-1:], atol=2e-3)
