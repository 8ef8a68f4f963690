"""A new analysis is one table entry plus its module: register a toy one, run it for real.

``wordcount`` is declared the way docs/analyses.md says (an options model, an analyser, an
``Analysis`` entry) and nothing else in copydesk is told about it: the intake validates its
options, the worker gets a queue and a task for it, and a real Celery worker on real Redis
records its result next to a built-in analysis's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import Field

from copydesk.analyse.base import Analyser, Result
from copydesk.core import analyses
from copydesk.core.document import Document
from copydesk.core.names import ANALYSES, ANALYSIS_TASKS, QUEUES
from copydesk.core.options import Strict, checked
from copydesk.devstack.waiting import wait_for

ARTICLE = "The harbour reopened on Monday. Ships queued outside for three long days."


class WordcountOptions(Strict):
    min_length: int = Field(default=1, ge=1, le=50, strict=True)


class WordCounter(Analyser):
    """Count the article's words of at least ``min_length`` letters."""

    name = "wordcount"
    model_name = "wordcount/1"

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> tuple[list[str], int]:
        words = [word.strip(".,") for word in doc.text.split()]
        return words, checked(WordcountOptions, options).min_length

    def _forward(self, inputs: tuple[list[str], int]) -> int:
        words, shortest = inputs
        return sum(len(word) >= shortest for word in words)

    def postprocess(self, doc: Document, outputs: int, options: Mapping[str, Any]) -> Result:
        return {"model": self.model_name, "words": outputs}


WORDCOUNT = analyses.Analysis(
    name="wordcount",
    options=f"{__name__}:WordcountOptions",
    embedded=f"{__name__}:WordCounter",
    encoder=False,  # it reads the text, not the prepare stage's sentence vectors
)


@pytest.fixture
def wordcount() -> Iterator[analyses.Analysis]:
    """The toy, registered for one test and gone after it, whatever the test did."""
    analyses.register(WORDCOUNT)
    try:
        yield WORDCOUNT
    finally:
        if WORDCOUNT.name in analyses.REGISTRY:
            analyses.unregister(WORDCOUNT.name)


def _post(client: Any, body: dict[str, Any]) -> Any:
    return client.post("/v1/jobs", data=json.dumps(body), content_type="application/json")


def test_a_registered_analysis_runs_end_to_end(wordcount, client, start_worker) -> None:
    assert "wordcount" in ANALYSES and "wordcount" in QUEUES
    assert ANALYSIS_TASKS["wordcount"] == "copydesk.analyse.wordcount"
    start_worker()  # after registering: the worker consumes the toy's queue too

    body = {
        "article": {"text": ARTICLE},
        "analyses": ["wordcount", "sentiment"],
        "options": {"wordcount": {"min_length": 5}},
    }
    answer = _post(client, body)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job_id = answer.get_json()["id"]

    def ended() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in ("succeeded", "partially_succeeded", "failed") else None

    job = wait_for(ended, timeout=120, every=0.2)
    assert job["status"] == "succeeded", job
    assert job["options"]["wordcount"] == {"min_length": 5}
    counted = job["results"]["wordcount"]
    # harbour, reopened, Monday, Ships, queued, outside, three: seven words of 5+ letters
    assert counted["status"] == "succeeded" and counted["words"] == 7
    assert counted["model"] == "wordcount/1"
    assert job["results"]["sentiment"]["status"] == "succeeded"  # a built-in beside it

    models = client.get("/v1/models").get_json()["analyses"]
    assert models["wordcount"]["backend"] == "embedded"  # code alone: no model to name
    assert models["wordcount"]["model"] == WORDCOUNT.embedded


def test_a_registered_analysis_validates_its_options(wordcount, client) -> None:
    defaults = _post(client, {"article": {"text": ARTICLE}, "analyses": ["wordcount"]})
    assert defaults.status_code == 202
    assert defaults.get_json()["options"] == {"wordcount": {"min_length": 1}}

    bad = {"article": {"text": ARTICLE}, "analyses": ["wordcount"]}
    for options, field in [
        ({"wordcount": {"min_length": 0}}, "options.wordcount.min_length"),
        ({"wordcount": {"longest": 3}}, "options.wordcount.longest"),
    ]:
        answer = _post(client, {**bad, "options": options})
        assert answer.status_code == 422, answer.get_data(as_text=True)
        assert answer.get_json()["errors"][0]["field"] == field


def test_unregistering_leaves_the_built_in_table(wordcount, client) -> None:
    analyses.unregister("wordcount")
    builtin = [
        "summary", "sentiment", "topics", "entities", "keyphrases", "quotes", "stories"
    ]  # fmt: skip
    assert list(ANALYSES) == builtin
    assert "wordcount" not in QUEUES and "wordcount" not in ANALYSIS_TASKS
    answer = _post(client, {"article": {"text": ARTICLE}, "analyses": ["wordcount"]})
    assert answer.status_code == 422 and answer.get_json()["code"] == "unknown_analysis"
    with pytest.raises(ValueError, match="built in"):
        analyses.unregister("summary")
