"""Normalisation, shingles, signatures, LSH bands and the classification of duplicates."""

from __future__ import annotations

import numpy as np

from copydesk.analyse import duplicates as d
from copydesk.analyse.stories import document_vector, names

TEXT = (
    "The Liberal Democrats have called on Tony Blair to set out a timetable for bringing "
    "British troops home from Iraq. Charles Kennedy said the elections in January gave the "
    "government the chance to plan an exit. He told the party's spring conference in "
    "Harrogate that the occupation could not go on for ever, and that the United Nations "
    "should take a bigger part in rebuilding the country's roads, schools and hospitals."
)


def test_words_set_aside_case_punctuation_and_compatibility_forms() -> None:
    assert d.words("Ｔｈｅ  Council's\u00a0vote: YES!") == ["the", "council", "s", "vote", "yes"]


def test_shingles_are_runs_of_words_and_a_short_text_is_one() -> None:
    assert d.shingles(["a", "b", "c", "d"], 3) == {b"a b c", b"b c d"}
    assert d.shingles(["a", "b"], 3) == {b"a b"}
    assert d.shingles([], 3) == set()


def test_the_same_text_in_other_spacing_and_case_has_the_same_signature() -> None:
    a = d.signature(TEXT)
    b = d.signature("  " + TEXT.upper().replace(" ", "\n  "))
    assert a.text_hash == b.text_hash and np.array_equal(a.minhash, b.minhash)
    assert a.minhash.dtype == np.uint32 and len(a.minhash) == d.NUM_PERM
    assert d.Signature.values(a.to_bytes()).tolist() == a.minhash.tolist()


def test_bands_are_signed_64_bit_and_shared_by_a_copy_with_one_word_changed() -> None:
    a = d.band_hashes(d.signature(TEXT).minhash)
    b = d.band_hashes(d.signature(TEXT.replace("bigger", "larger")).minhash)
    assert len(a) == d.BANDS and all(-(2**63) <= h < 2**63 for h in a)
    assert len(set(a) & set(b)) >= d.BANDS // 2  # most bands survive one changed word
    c = d.band_hashes(d.signature("A storm closed three ports on Monday " * 5).minhash)
    assert not set(a) & set(c)


def test_a_trimmed_copy_keeps_its_containment_while_its_jaccard_falls() -> None:
    whole, half = d.signature(TEXT), d.signature(TEXT[: len(TEXT) // 2])
    jaccard = float(np.mean(whole.minhash == half.minhash))
    similarity = d.minhash_similarity(
        whole.minhash, half.minhash, size_a=whole.shingles, size_b=half.shingles
    )
    assert jaccard < 0.7 and similarity > 0.85


def test_classify_by_kind_strongest_first() -> None:
    common = {"shared_entities": 0, "words": 100}
    assert d.classify(same_text=True, near=None, cosine=None, **common) == ("exact", 1.0)
    assert d.classify(same_text=False, near=0.8, cosine=0.99, **common) == ("near", 0.8)
    assert d.classify(same_text=False, near=0.1, cosine=0.96, **common) == ("rewrite", 0.96)
    assert d.classify(same_text=False, near=0.1, cosine=0.9, **common) is None
    assert d.classify(same_text=False, near=None, cosine=None, **common) is None
    short = {"shared_entities": 3, "words": d.MIN_WORDS - 1}
    assert d.classify(same_text=False, near=0.9, cosine=0.99, **short) is None
    assert d.classify(same_text=True, near=None, cosine=None, **short) == ("exact", 1.0)


def test_names_are_capitalised_words_not_opening_a_sentence() -> None:
    found = names(TEXT)
    assert {"Liberal Democrats", "Tony Blair", "Iraq", "Harrogate", "United Nations"} <= set(found)
    assert "The" not in found and "He" not in found
    assert d.entity_keys(["Tony Blair", "tony  blair", "U.N."]) == ["tony blair", "un"]


def test_the_document_vector_is_the_unit_mean() -> None:
    rows = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.allclose(document_vector(rows), [2**-0.5, 2**-0.5])
    assert document_vector(np.zeros((0, 2))) is None
