"""The quote fixture: its offsets index its texts, and the dev and test lists split it."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parents[3]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "quotes_fixture.json").read_text())
SPLITS = ROOT / "bench" / "splits"


def test_every_quote_indexes_its_article() -> None:
    assert len(FIXTURE["articles"]) >= 50
    for article in FIXTURE["articles"]:
        assert article["quotes"], article["id"]
        for quote in article["quotes"]:
            assert article["text"][quote["start"] : quote["end"]] == quote["text"]
            assert quote["type"] in ("direct", "indirect")


def test_the_splits_part_the_fixture_by_desk() -> None:
    dev = set((SPLITS / "quotes_dev.txt").read_text().split())
    test = set((SPLITS / "quotes_test.txt").read_text().split())
    assert not dev & test
    assert dev | test == {a["id"] for a in FIXTURE["articles"]}
    desks = {a["id"]: a["section"] for a in FIXTURE["articles"]}
    assert not {desks[i] for i in dev} & {desks[i] for i in test}
