"""Entities from a Hugging Face token classifier: a tiny random-weight model, real inference.

A bias on the classifier makes one tag win for every token, so what the test checks (tags
joined into mentions, labels mapped, offsets into the text, chunking past the model's 128
positions) goes through the real loading and inference path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from copydesk.analyse.hf import build_analyser
from copydesk.analyse.hf_entities import join_tags, label_of
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.errors import AnalysisUnavailable
from copydesk.core.settings import Settings
from copydesk.prepare.stage import PrepareStage
from copydesk.prepare.vectors import DocVectors, embedded_texts
from support.tiny_models import build_tiny_token_classifier

CONLL = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
TEXT = (
    "Olaf Scholz visited Hamburg on Monday. "
    + "The harbour reopened after three long days of storms. " * 12
)


def test_tags_join_into_mentions() -> None:
    text = "Olaf Scholz met Mr Macron in Paris"
    offsets = [(0, 0), (0, 4), (5, 11), (12, 15), (16, 18), (19, 25), (26, 28), (29, 34), (0, 0)]
    tags = ["O", "B-PER", "I-PER", "O", "O", "B-PER", "O", "B-LOC", "O"]
    assert [(text[a:b], label) for a, b, label in join_tags(offsets, tags, text=text)] == [
        ("Olaf Scholz", "PERSON"),
        ("Macron", "PERSON"),
        ("Paris", "LOC"),
    ]
    # a word piece continues its word, whatever its own tag
    pieces = "Gartenstein-Ross said"
    assert join_tags(
        [(0, 6), (6, 11), (11, 12), (12, 16)], ["B-PER", "O", "I-PER", "I-PER"], text=pieces
    ) == [(0, 16, "PERSON")]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("B-PER", ("B", "PERSON")),
        ("I-ORG", ("I", "ORG")),
        ("LOC", ("", "LOC")),
        ("B-MISC", ("B", "MISC")),
    ],
)
def test_hub_labels_read_as_spacy_labels(tag: str, expected: tuple[str, str]) -> None:
    assert label_of(tag) == expected


def prepared(text: str = TEXT):
    stage = PrepareStage(AnalyserRegistry(Settings()))
    return stage.text({"text": text}, analyses=["summary"], options={"summary": {}}).doc


def random_vectors(doc) -> DocVectors:
    texts = embedded_texts(doc)
    rows = np.random.default_rng(0).normal(size=(len(texts), 384)).astype(np.float32)
    return DocVectors("m", texts, rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_a_token_classifier_replaces_the_parser(tmp_path: Path) -> None:
    # every token B-LOC: each word a place, tagged through real inference
    path = build_tiny_token_classifier(tmp_path / "ner", id2label=CONLL, bias=[0, 0, 0, 50, 0])
    analyser = build_analyser("entities", model=str(path))
    doc = prepared()
    result = analyser(doc, {"top_k": 200}, vectors=random_vectors(doc))
    assert result["model"].startswith(str(path)) and result["coverage"] == 1.0
    names = {e["name"]: e for e in result["entities"]}
    assert names["Hamburg"]["type"] == "place" and names["Olaf"]["type"] == "place"
    assert names["harbour"]["count"] == 12  # every chunk of the 128-position model tagged
    for entity in result["entities"]:
        for mention in entity["mentions"]:
            assert doc.text[mention["start"] : mention["end"]] == mention["text"]
        assert entity["sentiment"]["sentences"]


def test_a_model_without_an_outside_tag_is_refused(tmp_path: Path) -> None:
    path = build_tiny_token_classifier(tmp_path / "bad", id2label={0: "B-PER", 1: "I-PER"})
    with pytest.raises(AnalysisUnavailable, match="'O'"):
        build_analyser("entities", model=str(path))(prepared(), {})


def test_the_prepare_stage_does_not_parse_for_a_hub_model(tmp_path: Path) -> None:
    settings = Settings(entities_model=str(tmp_path / "any"))
    stage = PrepareStage(AnalyserRegistry(settings))
    done = stage.text({"text": TEXT}, analyses=["entities"], options={"entities": {}})
    assert done.doc.parse is None and not done.failures and not done.embedded
