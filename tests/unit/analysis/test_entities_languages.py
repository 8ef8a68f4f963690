"""Entities in French and Russian: each language's recogniser from its own package
(fr_core_news_md, natasha), canonical names, spans that index the text, and the analyses
that stay English failing alone.

The prepare stage here is the real one, with MiniLM as the encoder (English): no encoder
loads, and the entities carry no sentiment. tests/integration/test_entities_fr_ru.py runs
the whole path through a worker, also with an encoder that reads both languages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from copydesk.analyse.canonical import TYPES
from copydesk.analyse.entities import EntityAnalyser
from copydesk.analyse.registry import AnalyserRegistry, LazyEmbedder
from copydesk.core.document import Document
from copydesk.core.errors import UnsupportedLanguage
from copydesk.core.settings import Settings
from copydesk.prepare.parser import parser_for
from copydesk.prepare.stage import PrepareStage, Prepared

FIXTURES = Path(__file__).parents[1] / "fixtures"
FRENCH = (FIXTURES / "article_fr.txt").read_text(encoding="utf-8")
RUSSIAN = (FIXTURES / "article_ru.txt").read_text(encoding="utf-8")
GERMAN = (
    "Die Bundesregierung hat am Mittwoch in Berlin ein neues Gesetz beschlossen. Kanzler Olaf "
    "Scholz sagte, das Gesetz werde die Wirtschaft stärken. Die Opposition kritisierte den "
    "Entwurf scharf und kündigte Widerstand im Bundesrat an."
)


def prepared(text: str, *, analyses=("entities",), **settings) -> Prepared:
    stage = PrepareStage(AnalyserRegistry(Settings(sentence_encoder="minilm", **settings)))
    article = {"text": text, "title": None, "language": None}
    return stage.text(article, analyses=list(analyses), options={a: {} for a in analyses})


def entities_of(doc: Document) -> dict:
    registry = AnalyserRegistry(Settings(sentence_encoder="minilm"))
    analyser = EntityAnalyser(embedder=LazyEmbedder(registry, "minilm"))  # loads nothing
    inputs = analyser.preprocess(doc, {"top_k": 200})
    assert not inputs.texts  # MiniLM does not read the language: nothing to embed
    return analyser.postprocess(doc, (inputs, np.zeros((0, 1), np.float32)), {"top_k": 200})


@pytest.fixture(scope="module")
def french() -> Prepared:
    return prepared(FRENCH)


@pytest.fixture(scope="module")
def russian() -> Prepared:
    return prepared(RUSSIAN)


def _check_shape(doc: Document, result: dict) -> dict[str, dict]:
    """Spans index the text, saliences are shares, no sentiment; the entities by name."""
    assert result["coverage"] == 1.0 and result["entities_total"] == len(result["entities"])
    assert sum(e["salience"] for e in result["entities"]) == pytest.approx(1, abs=1e-3)
    for entity in result["entities"]:
        assert entity["count"] == len(entity["mentions"])
        for mention in entity["mentions"]:
            assert doc.text[mention["start"] : mention["end"]] == mention["text"]
        assert entity["sentiment"] is None  # the encoder (MiniLM) reads English only
    return {e["name"]: e for e in result["entities"]}


def test_a_french_article_gets_its_people_places_and_organisations(french: Prepared) -> None:
    doc = french.doc
    assert doc.language == "fr" and not french.failures
    assert doc.parse is not None and doc.parse.model == "spacy/fr_core_news_md-3.8.0"
    result = entities_of(doc)
    assert result["parser"] == "spacy/fr_core_news_md-3.8.0"
    by_name = _check_shape(doc, result)
    mentions = {name: [m["text"] for m in e["mentions"]] for name, e in by_name.items()}
    assert by_name["Emmanuel Macron"]["type"] == "person"
    assert mentions["Emmanuel Macron"] == ["Emmanuel Macron", "Macron"]
    assert by_name["Olaf Scholz"]["type"] == "person"
    assert mentions["Olaf Scholz"] == ["Olaf Scholz", "Scholz"]  # "M. Scholz": the honorific
    assert by_name["Ursula von der Leyen"]["type"] == "person"
    assert by_name["François Villeroy de Galhau"]["type"] == "person"
    for place in ("Élysée", "Ukraine", "Bruxelles", "Paris", "Berlin", "New York"):
        assert by_name[place]["type"] == "place", place
    for organisation in ("Commission européenne", "Banque de France", "Airbus", "OTAN"):
        assert by_name[organisation]["type"] == "organisation", organisation
    assert by_name["Organisation des Nations unies"]["type"] == "organisation"
    assert result["entities"][0]["name"] in ("Emmanuel Macron", "Olaf Scholz")


def test_a_russian_article_names_each_entity_in_the_nominative(russian: Prepared) -> None:
    doc = russian.doc
    assert doc.language == "ru" and not russian.failures
    assert doc.parse is not None and doc.parse.model.startswith("natasha-1.6.0")
    by_name = _check_shape(doc, entities_of(doc))
    mentions = {name: [m["text"] for m in e["mentions"]] for name, e in by_name.items()}
    assert by_name["Владимир Путин"]["type"] == "person"
    assert mentions["Владимир Путин"] == ["Владимир Путин", "Путина"]  # "Путина" declined
    assert by_name["Россия"]["type"] == "place"
    assert mentions["Россия"] == ["России", "Россией", "России", "России"]
    assert mentions["Москва"] == ["Москве", "Москвы"]
    assert mentions["Кремль"] == ["Кремле", "Кремля"]
    # an organisation's head noun alone is inflected; "МИД" spells its words
    assert by_name["Министерство иностранных дел"]["type"] == "organisation"
    assert mentions["Министерство иностранных дел"] == ["Министерство иностранных дел", "МИД"]
    assert mentions["Газпром"] == ["Газпром", "Газпрома"]
    assert mentions["Московская биржа"] == ["Московской бирже"]
    assert by_name["Сергей Лавров"]["type"] == by_name["Эльвира Набиуллина"]["type"] == "person"
    assert not {"Путина", "России", "Газпрома", "Москве"} & set(by_name)  # no declined name


@pytest.mark.parametrize("text", [FRENCH, RUSSIAN], ids=["fr", "ru"])
def test_keyphrases_and_quotes_fail_alone_outside_english(text: str) -> None:
    ready = prepared(text, analyses=("entities", "keyphrases", "quotes"))
    assert set(ready.failures) == {"keyphrases", "quotes"}
    for name, error in ready.failures.items():
        assert isinstance(error, UnsupportedLanguage) and error.status == 422
        assert f"{name} read English only" in str(error)
    assert ready.doc.parse is not None and ready.doc.parse.mentions  # entities still parsed
    assert not ready.doc.parse.chunks and not ready.doc.parse.cues


def test_a_language_without_a_parser_fails_entities_naming_those_with_one() -> None:
    ready = prepared(GERMAN, analyses=("entities",))
    error = ready.failures["entities"]
    assert isinstance(error, UnsupportedLanguage)
    assert "en, fr, ru" in str(error) and "'de'" in str(error)


def test_every_label_of_the_french_and_russian_recognisers_is_mapped() -> None:
    settings = Settings()
    french = parser_for("fr", model=settings.parser_model)
    assert set(french.nlp.get_pipe("ner").labels) == {"PER", "LOC", "ORG", "MISC"}
    russian = parser_for("ru", model=settings.parser_model)
    tags = {tag.split("-")[-1] for tag in russian.ner.infer.decoder.tags_vocab.items}
    assert tags - {"O", "<pad>"} == {"PER", "LOC", "ORG"}
    assert {"PER", "LOC", "ORG", "MISC"} <= set(TYPES)


def test_the_russian_models_share_one_vocabulary() -> None:
    russian = parser_for("ru", model=Settings().parser_model)
    words = russian.ner.infer.encoder.words_vocab
    assert russian.morph.infer.encoder.words_vocab is words
    assert russian.syntax.infer.encoder.words_vocab is words


@pytest.mark.parametrize("text", [FRENCH, RUSSIAN], ids=["fr", "ru"])
def test_the_parse_stops_at_its_time_budget(text: str) -> None:
    doc = prepared(text, parse_window_chars=500, parse_seconds=1e-6).doc
    assert doc.parse is not None and doc.parse.windows == 1  # checked after each window
    assert 0 < doc.parse.end < len(doc.text)
    assert all(m.end <= doc.parse.end for m in doc.parse.mentions)


def test_a_russian_parse_keeps_its_nominative_names_through_storage(russian: Prepared) -> None:
    again = Document.from_json(russian.doc.to_json())
    assert again.parse == russian.doc.parse
    assert any(m.norm == "Путин" for m in again.parse.mentions)


def test_a_prepare_worker_loads_neither_language_until_an_article_asks() -> None:
    """The French and Russian models cost ~115 MB each: a worker that never sees an article
    in their language never pays it, and one English job with entities loads neither."""
    script = (
        "import sys\n"
        "from copydesk.core.settings import Settings\n"
        "from copydesk.workers.process import load_models\n"
        "from copydesk.prepare import parser\n"
        "from copydesk.prepare.stage import PrepareStage\n"
        "from copydesk.analyse.registry import registry_for\n"
        "settings = Settings()\n"
        "load_models(settings, queues={'prepare'})\n"
        "stage = PrepareStage(registry_for(settings))\n"
        "text = 'Olaf Scholz met Emmanuel Macron in Paris on Tuesday. They spoke for an hour.'\n"
        "stage.text({'text': text}, analyses=['entities'], options={'entities': {}})\n"
        "assert not parser._BUILT_IN, parser._BUILT_IN\n"
        "assert 'natasha' not in sys.modules and 'fr_core_news_md' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=300)
