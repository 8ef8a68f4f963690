"""Hold the multilingual topic benchmark's split discipline: selection cannot reach the test list.

The test list (bench/splits/multilingual_test.txt) is named only by the reporting step,
bench/quality_multilingual.py. Selection code loads dev articles through
``multilingual_data.dev_items``, which must open the dev list and never the test list; the
two lists must not share an article, and every source must have both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SPLITS = BENCH / "splits"
TEST_LIST = "multilingual_test.txt"


@pytest.fixture
def multilingual_data(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("multilingual_data", None)
    import multilingual_data

    return multilingual_data


def _rows(name: str) -> set[tuple[str, ...]]:
    lines = (SPLITS / name).read_text(encoding="utf-8").splitlines()
    return {tuple(line.split("\t")) for line in lines}


def test_only_the_reporting_step_names_the_test_list():
    naming = sorted(p.name for p in BENCH.glob("*.py") if TEST_LIST in p.read_text("utf-8"))
    assert naming == ["quality_multilingual.py"]


def test_dev_items_never_open_the_test_list(multilingual_data, monkeypatch):
    item = multilingual_data.Item(
        "de", "10kgnad", "x", "Sport", "sport", "", "Text", "", "CC BY-NC-SA 4.0"
    )
    monkeypatch.setattr(multilingual_data, "_all", lambda source: [item])
    opened: list[str] = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    for source in multilingual_data.SOURCES:
        multilingual_data.dev_items(source)
    assert opened == [multilingual_data.DEV_FILE.name] * len(multilingual_data.SOURCES)


def test_dev_and_test_lists_are_disjoint_and_cover_every_source(multilingual_data):
    dev, test = _rows("multilingual_dev.txt"), _rows(TEST_LIST)
    assert dev and test
    assert not {digest for *_, digest in dev} & {digest for *_, digest in test}
    sources = {(s.language, s.name) for s in multilingual_data.SOURCES.values()}
    assert {(lang, source) for lang, source, _ in dev} == sources
    assert {(lang, source) for lang, source, _ in test} == sources


def test_every_language_holds_at_least_30_test_articles():
    counts: dict[str, int] = {}
    for language, _, _ in _rows(TEST_LIST):
        counts[language] = counts.get(language, 0) + 1
    assert {"en", "de", "fr", "ja", "pt", "tr"} <= set(counts)
    assert min(counts.values()) >= 30


def test_every_section_maps_to_one_of_the_common_labels(multilingual_data):
    for source in multilingual_data.SOURCES.values():
        assert set(source.sections.values()) <= set(multilingual_data.LABELS), source.name


def test_the_split_rule_is_fixed_by_the_article_alone(multilingual_data):
    rule = multilingual_data._rule
    assert rule("sports-watch-4653197.txt") == rule("sports-watch-4653197.txt")
    assert {rule(f"file-{n}") for n in range(50)} == {"dev", "test"}
