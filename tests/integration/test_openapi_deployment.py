"""The document a deployment serves offers only what its models take: a job the document
calls valid is accepted (202) and one it refuses is refused, for the language hint, the
summary mode and label examples, under each kind of deployment. Found by fuzzing: the hint
"tn" was valid in the document and a 422 unsupported_language from an English-only intake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from copydesk.core.schemas import JOB_EXAMPLE
from copydesk.core.settings import Settings

TEXT = "The council met on Tuesday and approved the new budget for the city's schools."
DEPLOYMENTS = {
    "embedded": {},  # every analysis reads English only
    "seq2seq summary": {"summary_model": "sshleifer/distilbart-cnn-12-6"},  # any language
    "nli topics": {"topics_model": "facebook/bart-large-mnli"},  # no label examples
    "hf entities": {"entities_model": "dslim/bert-base-NER"},  # not a default analysis
}
LANGUAGES = [None, "en", "EN-gb", "fr", "pt-BR", "xx"]
ANALYSES = [
    None,
    ["summary"],
    ["sentiment"],
    ["summary", "sentiment"],
    ["topics"],
    ["entities"],
    ["entities", "topics"],
    ["quotes"],
]


def _bodies() -> list[dict[str, Any]]:
    bodies = []
    for language in LANGUAGES:
        for analyses in ANALYSES:
            body: dict[str, Any] = {"article": {"text": TEXT, "language": language}}
            if analyses is not None:
                body["analyses"] = analyses
            bodies.append(body)
    for mode in ("extractive", "abstractive", None):
        bodies.append({"article": {"text": TEXT}, "options": {"summary": {"mode": mode}}})
    labels = [{"label": "schools", "examples": ["Pupils went back to school."]}, "budget"]
    for given in (labels, ["schools", "budget"], [{"label": "schools", "examples": None}]):
        bodies.append({"article": {"text": TEXT}, "options": {"topics": {"labels": given}}})
    return [*bodies, JOB_EXAMPLE]  # the document's example, which every deployment takes


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_a_job_the_served_document_takes_is_accepted_and_no_other(
    deployment: str, settings: Settings, make_client: Callable[[Settings], Any]
) -> None:
    client = make_client(settings.model_copy(update=DEPLOYMENTS[deployment]))
    document = client.get("/openapi.json").get_json()
    [job] = [k for k in document["components"]["schemas"] if k.split(".")[::2] == ["JobRequest"]]
    schema = jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{job}", "components": document["components"]}
    )
    outcomes = {"taken": 0, "refused": 0}
    for body in _bodies():
        answer = client.post("/v1/jobs", json=body)
        assert answer.status_code in (202, 422), answer.get_json()
        accepted = answer.status_code == 202
        assert schema.is_valid(body) == accepted, (body, answer.get_json())
        outcomes["taken" if accepted else "refused"] += 1
    assert outcomes["taken"] >= 5 and outcomes["refused"] >= 5, outcomes
    assert answer.status_code == 202  # the last: the example
