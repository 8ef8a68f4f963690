"""The language hint at the intake, over the real app and Redis: a malformed or unknown tag,
and a language no requested analysis reads, are 422 problems before any job is stored."""

from __future__ import annotations

from copydesk.core.names import queue_key

PROBLEM = "application/problem+json"
TEXT = "Η κυβέρνηση παρουσίασε την Τετάρτη νέο προϋπολογισμό."  # Greek: no encoder reads it


def _problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    problem = response.get_json(force=True)
    assert problem["status"] == status and problem["code"] == code
    return problem


def test_an_unknown_language_is_422_naming_the_field(client, redis_client) -> None:  # noqa: ANN001
    for tag in ("xx", "english"):
        response = client.post("/v1/jobs", json={"article": {"text": TEXT, "language": tag}})
        problem = _problem(response, 422, "validation_failed")
        (issue,) = problem["errors"]
        assert issue["field"] == "article.language" and issue["type"] == "unknown_language"
        assert "ISO 639-1" in problem["detail"] and repr(tag) in problem["detail"]
    assert redis_client.llen(queue_key("prepare")) == 0


def test_a_language_no_analysis_reads_is_422_unsupported_language(client, redis_client) -> None:  # noqa: ANN001
    response = client.post("/v1/jobs", json={"article": {"text": TEXT, "language": "el"}})
    problem = _problem(response, 422, "unsupported_language")
    assert problem["language"] == "el" and "en" in problem["supported"]
    assert "fr" in problem["supported"] and "el" not in problem["supported"]
    batch = {
        "jobs": [
            {"article": {"text": "Shares rose."}},
            {"article": {"text": TEXT, "language": "el"}},
        ]
    }
    _problem(client.post("/v1/batches", json=batch), 422, "unsupported_language")
    assert redis_client.llen(queue_key("prepare")) == 0
    accepted = client.post(
        "/v1/jobs", json={"article": {"text": "Shares rose.", "language": "en-GB"}}
    )
    assert accepted.status_code == 202 and accepted.get_json()["article"]["language"] == "en-gb"


def test_a_hugging_face_model_takes_the_language_and_models_says_so(settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"topics_model": "some/nli-model"}))
    response = client.post("/v1/jobs", json={"article": {"text": TEXT, "language": "el"}})
    assert response.status_code == 202
    listed = client.get("/v1/models").get_json()["analyses"]
    assert "el" not in listed["summary"]["languages"] and listed["topics"]["languages"] is None
    only_summary = {"article": {"text": TEXT, "language": "el"}, "analyses": ["summary"]}
    _problem(client.post("/v1/jobs", json=only_summary), 422, "unsupported_language")
