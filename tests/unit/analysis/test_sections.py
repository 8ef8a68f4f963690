"""Check that English custom labels bring their section's names in other languages (USE-m3)."""

from __future__ import annotations

import numpy as np
import pytest

from documents import make_doc

from copydesk.analyse import iptc, sections
from copydesk.analyse.embedder import get_embedder
from copydesk.analyse.topics import (
    EmbeddingTopicClassifier,
    LabelSpec,
    expanded_prototypes,
    label_key,
    label_scores,
    prototypes_for,
)
from copydesk.core.models_view import ENCODER_LANGUAGES

GERMAN = (
    "Der Autobauer meldete für das vergangene Quartal einen Gewinnrückgang um zwölf Prozent. "
    "An der Börse fiel die Aktie daraufhin um vier Prozent."
)
ENGLISH = (
    "The carmaker reported a twelve per cent fall in profit for the last quarter. "
    "Its shares fell four per cent on the stock market."
)


@pytest.fixture(scope="module")
def classifier() -> EmbeddingTopicClassifier:
    return EmbeddingTopicClassifier(embedder=get_embedder(family="use-m3"))


def test_every_language_of_the_encoder_but_english_has_templates_and_every_section():
    assert set(sections.LANGUAGES) == set(ENCODER_LANGUAGES["use-m3"]) - {"en"}
    for topic in iptc.topic_names():
        assert set(sections.NAMES[topic]) == set(sections.LANGUAGES), topic
        assert all(all(n.strip() for n in names) for names in sections.NAMES[topic].values())
    for language, templates in sections.TEMPLATES.items():
        assert templates and all(t.count("{}") == 1 for t in templates), language


@pytest.mark.parametrize(
    ("label", "language", "name"),
    [("business", "de", "Wirtschaft"), ("sports", "zh", "体育"), ("tech", "es", "tecnología"),
     ("Entertainment", "ja", "エンタメ"), ("politics", "ar", "سياسة")],
)  # fmt: skip
def test_a_section_label_is_named_in_the_articles_language(label, language, name):
    assert name in sections.names(label, language)
    assert any(name in text for text in sections.section_texts(label, language))


def test_a_label_that_names_no_section_has_no_names():
    assert sections.names("brexit", "de") == ()
    assert sections.all_texts("brexit") == ()


def test_english_and_unknown_languages_keep_the_labels_as_they_are():
    specs = (LabelSpec("business"), LabelSpec("sport"))
    assert sections.with_names(specs, "en") == specs
    assert sections.with_names(specs, None) == specs


def test_an_article_in_another_language_gives_labels_names_in_every_language():
    business, brexit = sections.with_names((LabelSpec("business"), LabelSpec("brexit")), "fr")
    assert "Rubrik: Wirtschaft" in business.names and "栏目：财经" in business.names
    assert len({t for t in business.names}) == len(business.names) > len(sections.LANGUAGES)
    assert brexit.names == ()


def test_names_a_label_already_has_are_kept():
    given = LabelSpec("business", names=("Rubrique : économie",))
    assert sections.with_names((given,), "de") == (given,)


def test_the_label_key_tells_a_label_set_with_names_from_one_without():
    plain = (LabelSpec("business"),)
    assert label_key(plain) != label_key(sections.with_names(plain, "de"))


def test_a_german_article_gets_labels_with_names_and_an_english_one_does_not(classifier):
    options = {"labels": ["business", "sport", "brexit"]}
    german = classifier.preprocess(make_doc(GERMAN, language="de"), options)
    english = classifier.preprocess(make_doc(ENGLISH, language="en"), options)
    assert [bool(spec.names) for spec in german.specs] == [True, True, False]
    assert all(not spec.names for spec in english.specs)
    assert english.key == label_key(["business", "sport", "brexit"])
    assert german.key != english.key  # the prepare stage caches the right rows by key


def test_iptc_labels_are_left_alone_in_any_language(classifier):
    german = classifier.preprocess(make_doc(GERMAN, language="de"), {})
    assert all(not spec.names for spec in german.specs)


def test_the_label_row_for_another_language_moves_towards_its_section_names(classifier):
    embedder = classifier.embedder
    plain = classifier.label_matrix([LabelSpec("business")])[0]
    named = classifier.label_matrix(sections.with_names([LabelSpec("business")], "de"))[0]
    assert np.isclose(np.linalg.norm(named), 1.0, atol=1e-5)
    heading = embedder.encode(["Rubrik: Wirtschaft"])[0]
    assert named @ heading > plain @ heading + 0.05
    expected = sections.blend(plain, embedder.encode(list(sections.all_texts("business"))))
    assert named @ expected / np.linalg.norm(expected) > 0.999  # batches differ in the last bits


def test_a_german_business_story_is_business_with_english_labels(classifier):
    result = classifier(make_doc(GERMAN, language="de"), {"labels": ["business", "sport"]})
    assert result["labels"][0]["label"] == "business"


def test_a_client_may_name_a_label_in_other_languages_and_english_articles_ignore_them(
    classifier,
):
    desk = {"label": "desk 7", "names": ["Wirtschaft", "économie"]}
    options = {"labels": [desk, "sport"]}
    german = classifier.preprocess(make_doc(GERMAN, language="de"), options)
    english = classifier.preprocess(make_doc(ENGLISH, language="en"), options)
    assert german.specs[0].names == ("Wirtschaft", "économie")  # not a section's: its own
    assert english.specs[0].names == ()
    assert english.key == label_key([LabelSpec("desk 7"), LabelSpec("sport")])
    named = classifier.label_matrix(german.specs)[0]
    plain = classifier.label_matrix([LabelSpec("desk 7")])[0]
    wirtschaft = classifier.embedder.encode(["Wirtschaft"])[0]
    assert named @ wirtschaft > plain @ wirtschaft + 0.1
    result = classifier(make_doc(GERMAN, language="de"), options)
    assert result["labels"][0]["label"] == "desk 7"


@pytest.mark.parametrize("names", ["Wirtschaft", [""], [3]])
def test_names_that_are_not_a_list_of_text_fail_topics(classifier, names):
    from copydesk.core.errors import AnalysisError

    with pytest.raises(AnalysisError, match="names"):
        classifier.preprocess(
            make_doc(GERMAN, language="de"), {"labels": [{"label": "x", "names": names}]}
        )


def test_an_article_in_another_language_scores_iptc_topics_by_their_section_names_too(
    classifier,
):
    embedder, names = classifier.embedder, iptc.topic_names()
    texts = expanded_prototypes(embedder)
    assert prototypes_for(embedder, "en") is texts and prototypes_for(embedder, None) is texts
    named = prototypes_for(embedder, "de")
    assert prototypes_for(embedder, "pt-BR") is named  # one set for every other language
    added = [text for name in names for text in sections.all_texts(name)]
    assert len(named.matrix) == len(texts.matrix) + len(added)
    assert named.matrix[: len(texts.matrix)] == pytest.approx(texts.matrix)
    heading = named.topic[len(texts.matrix) + added.index("Rubrik: Wirtschaft")]
    assert names[heading] == "economy, business and finance"

    doc = make_doc(GERMAN, language="de")
    result = classifier(doc, {"top_k": len(names)})
    scored = np.array([{x["label"]: x["score"] for x in result["labels"]}[n] for n in names])
    vectors = embedder.encode(list(classifier.preprocess(doc, {}).texts))
    rows = classifier.label_matrix(tuple(names))  # the rows are the same in every language

    def scores(prototypes):
        return label_scores(
            rows, vectors, taxonomy=iptc.TAXONOMY, family="use-m3", prototypes=prototypes
        )

    assert scored == pytest.approx(scores(named), abs=1e-4)
    assert not np.allclose(scores(named), scores(texts), atol=1e-3)
    assert result["labels"][0]["label"] == "economy, business and finance"
