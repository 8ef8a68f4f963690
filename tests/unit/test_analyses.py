"""The analysis table: what registering changes, what it never changes, and the one retry rule."""

from __future__ import annotations

import pytest
import redis
from pydantic import Field, ValidationError

from copydesk.core import analyses, errors
from copydesk.core.models_view import describe
from copydesk.core.names import ANALYSES, ANALYSIS_TASKS, QUEUES
from copydesk.core.options import Strict, SummaryOptions, checked
from copydesk.core.schemas import JobRequest, Options
from copydesk.core.settings import Settings
from copydesk.workers.failures import as_failure, is_retryable, retryable_errors


class EchoOptions(Strict):
    loud: bool = Field(default=False, strict=True)


ECHO = analyses.Analysis(
    name="echo", options=f"{__name__}:EchoOptions", embedded="nowhere:Echo", encoder=False
)


@pytest.fixture
def echo():
    analyses.register(ECHO)
    yield ECHO
    analyses.unregister(ECHO.name)


def test_the_names_follow_the_table(echo) -> None:
    builtin = [
        "summary", "sentiment", "topics", "entities", "keyphrases", "quotes", "stories"
    ]  # fmt: skip
    assert list(ANALYSES) == [*builtin, "echo"]
    assert list(QUEUES) == ["prepare", *builtin, "echo"]
    assert dict(ANALYSIS_TASKS)["echo"] == "copydesk.analyse.echo"
    request = JobRequest.model_validate({"article": {"text": "x"}, "options": {"echo": {}}})
    assert request.options_for("echo") == {"loud": False}
    # left out, analyses are the default ones: every analysis but those declared default=False
    assert request.analyses == ["summary", "sentiment", "topics", "echo"]


def test_entities_run_only_when_asked_for() -> None:
    request = JobRequest.model_validate({"article": {"text": "x"}})
    assert request.analyses == ["summary", "sentiment", "topics"]
    with pytest.raises(ValidationError, match="unrequested_options|entities is given"):
        JobRequest.model_validate({"article": {"text": "x"}, "options": {"entities": {}}})
    asked = JobRequest.model_validate(
        {"article": {"text": "x"}, "analyses": ["entities"], "options": {"entities": {}}}
    )
    assert asked.options_for("entities") == {"top_k": 25}


def test_the_openapi_shape_lists_the_built_in_analyses_only(echo) -> None:
    assert list(Options.model_json_schema()["properties"]) == [
        "summary",
        "sentiment",
        "topics",
        "entities",
        "keyphrases",
        "quotes",
        "stories",
    ]


def test_after_unregistering_the_names_are_the_built_in_ones_again() -> None:
    analyses.register(ECHO)
    analyses.unregister(ECHO.name)
    assert tuple(ANALYSES) == tuple(a.name for a in analyses.BUILTIN)
    assert "echo" not in QUEUES and "echo" not in ANALYSIS_TASKS


@pytest.mark.parametrize("name", ["Echo", "prepare", "9lives", "a-b", "x" * 33, "summary"])
def test_a_name_that_cannot_be_an_analysis_is_refused(name: str) -> None:
    with pytest.raises(ValueError):
        analyses.register(analyses.Analysis(name=name, options="m:O", embedded="m:A"))
    builtin = (
        "summary", "sentiment", "topics", "entities", "keyphrases", "quotes", "stories"
    )  # fmt: skip
    assert tuple(ANALYSES) == builtin


def test_a_built_in_analysis_cannot_be_unregistered() -> None:
    with pytest.raises(ValueError, match="built in"):
        analyses.unregister("topics")


def test_every_built_in_reference_resolves() -> None:
    for analysis in analyses.BUILTIN:
        for reference in (analysis.options, analysis.embedded, analysis.hf):
            if reference is None:  # no Hugging Face alternative (yet): entities
                assert analysis.hf is None and analysis.setting is None
                continue
            assert analyses.resolve(reference)


def test_keyphrases_declare_no_encoder_and_models_says_so() -> None:
    """Keyphrases read the parse alone since /4: the prepare stage embeds nothing for them, so
    /v1/models names their rules and parser, not the encoder, and a worker serving their queue
    is enough for them to be loaded."""
    assert not analyses.REGISTRY["keyphrases"].encoder
    worker = {"queues": ["prepare", "keyphrases"], "models": {}}
    keyphrases = describe(Settings(), workers=[worker])["keyphrases"]
    assert keyphrases["model"] == analyses.REGISTRY["keyphrases"].embedded
    assert keyphrases["stages"] == {"parser": "prepare", "rules": "keyphrases"}
    assert "encoder" not in keyphrases and keyphrases["loaded"]


def test_options_models_hold_the_defaults_and_bounds_analysers_read() -> None:
    assert checked(SummaryOptions, {}).max_sentences == 3
    assert checked(SummaryOptions, {"max_sentences": 20}).max_sentences == 20
    with pytest.raises(errors.AnalysisError, match="max_sentences"):
        checked(SummaryOptions, {"max_sentences": 21})


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (redis.ConnectionError("down"), True),
        (redis.TimeoutError("slow"), True),
        (redis.BusyLoadingError("loading"), True),
        (redis.exceptions.OutOfMemoryError("used memory > 'maxmemory'"), True),  # room returns
        (errors.QueueFull("full"), True),
        (redis.ResponseError("WRONGTYPE"), False),
        (errors.EmptyArticle("empty"), False),
        (ValueError("bug"), False),
    ],
)
def test_one_rule_says_what_a_worker_retries(exc: Exception, retry: bool) -> None:
    assert is_retryable(exc) is retry
    assert isinstance(exc, retryable_errors()) is retry  # what Celery's autoretry_for gets
    if retry:
        with pytest.raises(type(exc)):
            as_failure(exc, stage="summary")
    else:
        assert isinstance(as_failure(exc, stage="summary"), errors.CopydeskError)
