"""Keyphrases: candidates from the prepared parse, their spans, their scores and MMR.

The parse is the real spaCy model; tests/integration/test_entities.py runs the whole path
through a worker.
"""

from __future__ import annotations

import json
import struct
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
    overlap,
    relevance,
    trim,
)
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.analyse.run import analyse
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
    similar = vectors @ vectors.T
    scores = np.array([0.9, 0.89, 0.5])
    assert mmr(scores, similar, top_k=3, diversity=0.0) == [0, 1, 2]
    assert mmr(scores, similar, top_k=2, diversity=0.5) == [0, 2]  # not the near copy
    assert mmr(scores, similar, top_k=5, diversity=0.3) == [0, 2, 1]
    assert mmr(np.array([0.5, 0.5]), np.eye(2), top_k=2, diversity=0.3) == [0, 1]  # first wins


def named(text: str, times: int) -> Candidate:
    return Candidate(surfaces=[text] * times, spans={(i, i + 1) for i in range(times)})


def test_relevance_is_how_often_the_article_names_a_phrase_against_the_most_named() -> None:
    scores = relevance([named("a", 4), named("b", 1), named("c", 2)])
    assert scores[0] == 1.0 and scores[0] > scores[2] > scores[1] > 0
    assert relevance([]).shape == (0,)


def test_overlap_is_the_share_of_words_two_phrases_have_in_common() -> None:
    found = [named(t, 1) for t in ("Chechen fighters", "Chechen militants", "fighter", "Georgia")]
    shares = overlap(found)
    assert shares[0, 1] == pytest.approx(1 / 3) and shares[0, 2] == pytest.approx(1 / 2)
    assert shares[0, 3] == 0 and np.allclose(np.diag(shares), 1) and np.allclose(shares, shares.T)
    assert overlap([]).shape == (0, 0)


def test_a_phrase_sharing_words_with_a_chosen_one_waits_for_a_distinct_one() -> None:
    found = [named("Chechen fighters", 5), named("Chechen militants", 4), named("Georgia", 3)]
    scores = relevance(found)
    assert mmr(scores, overlap(found), top_k=2, diversity=0.0) == [0, 1]
    assert mmr(scores, overlap(found), top_k=2, diversity=0.3) == [0, 2]


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
    result = KeyphraseExtractor()(seed, {"top_k": 5})
    assert len(result["keyphrases"]) == 5 and result["keyphrases_total"] == SHORTLIST
    assert len({k["text"] for k in result["keyphrases"]}) == 5
    assert result["keyphrases"][0]["score"] == 1.0  # the most named phrase comes first
    for phrase in result["keyphrases"]:
        assert 0 < phrase["score"] <= 1 and phrase["count"] == len(phrase["spans"])
        for span in phrase["spans"]:
            assert seed.text[span["start"] : span["end"]]
    assert result["coverage"] == 1.0


def test_the_shortlist_is_the_most_frequent_candidates_sized_by_top_k(seed) -> None:
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


def test_keyphrases_need_no_vectors(seed) -> None:
    """Candidates are scored by frequency and word overlap: the prepare stage embeds nothing
    for a keyphrases job (it embedded the shortlist beside the sentences until /4)."""
    registry = AnalyserRegistry(Settings())
    prepared = PrepareStage(registry).text(
        {"text": SEED, "language": "en"}, analyses=["keyphrases"], options={"keyphrases": {}}
    )
    assert prepared.embedded == {} and prepared.vectors is None and not prepared.failures
    result = analyse(registry=registry, analysis="keyphrases", doc=prepared.doc, options={})
    assert result["status"] == "succeeded" and result["keyphrases"]


def test_vectors_prepared_before_4_still_read_without_the_candidates(seed) -> None:
    """A job prepared by a /3 worker holds its candidates' rows after the document's: an
    analysis of /4 reads the document's and leaves those."""
    own = embedded_texts(seed)
    extra = ["Chechen fighters", "Pankisi Gorge"]
    matrix = unit_rows(len(own) + len(extra))
    header = {"model": "m", "rows": len(matrix), "dim": 384, "labels": [], "extra": extra}
    head = json.dumps(header).encode()
    data = struct.pack("<I", len(head)) + head + matrix.astype("<f2").tobytes()
    again = DocVectors.from_bytes(data, seed)
    assert again.texts == own and again.matrix.shape == (len(own), 384)
    found = again.lookup(own[-1:])
    assert found is not None and np.allclose(found, matrix[len(own) - 1 : len(own)], atol=2e-3)
    assert again.lookup(extra[:1]) is None
