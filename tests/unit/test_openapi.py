"""The OpenAPI document says what the API does, no more and no less: a human summary per
operation, the docs pages, and schemas as strict as the views that read the requests.

The app is built without ever reaching Redis: every request here is answered (or refused)
before the job store is asked, so these stay unit tests (no sockets).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from pydantic import SecretStr, ValidationError

from copydesk.core.schemas import ArticleIn
from copydesk.core.settings import Settings

KEY = "k3y-for-the-newsroom-1"
NOWHERE = "redis://127.0.0.1:1/0"  # never connected to: no request here needs the store


def _app(**update: Any) -> Any:
    from copydesk.intake import create_app

    app = create_app(Settings(redis_url=NOWHERE, rate_limit="", **update))
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture(scope="module")
def keyed() -> Any:
    return _app(api_keys=SecretStr(f"newsroom:{KEY}"))


@pytest.fixture(scope="module")
def keyless() -> Any:
    return _app()


@pytest.fixture(scope="module")
def document(keyed: Any) -> dict[str, Any]:
    return keyed.get("/openapi.json").get_json()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """Validate against ``schema``, its #/components references resolved in ``document``."""
    return jsonschema.Draft202012Validator({**schema, "components": document["components"]})


def _component(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The model ``name`` as the document names it (a nested model appears once per parent)."""
    keys = [key for key in document["components"]["schemas"] if name in key.split(".")[::2]]
    return {"$ref": f"#/components/schemas/{min(keys)}"}


def _parameter(document: dict[str, Any], operation: str, name: str) -> dict[str, Any]:
    method, path = operation.split(" ", 1)
    parameters = document["paths"][path][method.lower()]["parameters"]
    [found] = [p for p in parameters if p["name"] == name]
    return found


# --- summaries and the docs pages ---------------------------------------------------------


def test_every_operation_has_a_human_summary(document: dict[str, Any]) -> None:
    operations = dict(_operations(document))
    assert len(operations) >= 17
    for name, operation in operations.items():
        summary = operation["summary"]
        assert not re.fullmatch(r"\w+ <[A-Z]+>", summary), name  # spectree's fallback
        assert summary[0].isupper() and summary.endswith("."), (name, summary)
        assert len(summary) <= 130, (name, summary)  # one sentence; the rest is description
    described = operations["POST /v1/jobs"]
    assert described["summary"] == "Accept one job."
    assert "COPYDESK_MAX_HTML_BODY_BYTES" in described["description"]


def test_the_docs_page_is_served_at_docs_and_docs_slash(keyed: Any) -> None:
    for path in ("/docs", "/docs/"):
        page = keyed.get(path, follow_redirects=True)
        assert page.status_code == 200, path
        assert "swagger-ui" in page.get_data(as_text=True).lower(), path


# --- the document is as strict as the API -------------------------------------------------

EVENTS = [
    {"type": "job.queued", "status": "queued"},
    {"type": "job.running", "status": "running"},
    {"type": "job.text_prepared"},
    {"type": "job.final_prepared"},
    {
        "type": "analysis.completed",
        "analysis": "sentiment",
        "result": {"status": "succeeded", "label": "neutral", "score": 0.1},
    },
    {"type": "analysis.completed", "analysis": "topics", "result": None},
    {"type": "job.partially_succeeded", "status": "partially_succeeded"},
    {"type": "job.cancelled", "status": "cancelled"},
]


def test_sse_events_are_documented_as_the_event_objects_sent(document: dict[str, Any]) -> None:
    """Each event (as an SSE parser reads it: event, id, data) matches the documented schema,
    and its data is a documented event object; a made-up event does not."""
    answer = document["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    schema = answer["content"]["text/event-stream"]["schema"]
    events = _validator(document, schema)
    data = schema["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    payloads = _validator(document, data["contentSchema"])
    for number, event in enumerate(EVENTS, start=1):
        sent = {"event": event["type"], "id": f"17000000{number}-0", "data": json.dumps(event)}
        events.validate(sent)
        payloads.validate(event)
    assert not events.is_valid({"event": "job.exploded", "id": "1-0", "data": "{}"})
    assert not events.is_valid({"event": "job.queued", "id": "yesterday", "data": "{}"})
    assert not payloads.is_valid({"type": "job.exploded"})
    assert not payloads.is_valid({"type": "job.queued", "status": "exploded"})


# what the intake does with each Content-Encoding: read the body as is, inflate it, or refuse
AS_IS = ["identity", "Identity", "IDENTITY", ""]
GZIPPED = ["gzip", "x-gzip", "GZIP", "X-Gzip"]
REFUSED = ["br", "deflate", "gzip, br", "null", "compress", "gzip2", "0"]


def test_content_encoding_is_documented_as_the_codings_the_api_takes(
    document: dict[str, Any], keyless: Any
) -> None:
    """The documented body is JSON as is: its Content-Encoding is identity (or none). A gzip
    body, which OpenAPI cannot describe, is named in the header's description; any other
    coding is refused (415), as the schema refuses it."""
    header = _parameter(document, "POST /v1/jobs", "Content-Encoding")
    assert not header["required"] and "gzip" in header["description"]
    schema = _validator(document, header["schema"])
    for value in AS_IS + GZIPPED + REFUSED:
        answer = keyless.post(
            "/v1/jobs",
            data=b"{}",  # refused before the store is asked: 400 (not gzip) or 422 (no article)
            headers={"Content-Type": "application/json", "Content-Encoding": value},
        )
        code = answer.get_json()["code"]
        expected = {"identity": "validation_failed", "gzip": "malformed_gzip"}
        kind = "identity" if value in AS_IS else "gzip" if value in GZIPPED else "refused"
        assert code == expected.get(kind, "unsupported_content_encoding"), (value, code)
        assert schema.is_valid(value) == (kind == "identity"), value


@pytest.mark.parametrize(
    "article",
    [
        {},
        {"title": "Only a title"},
        {"text": None},
        {"html": None},
        {"text": None, "html": None},
        {"text": "Some text.", "html": "<p>Some text.</p>"},
        {"text": "   "},
        {"text": "\n\t "},
        {"html": " "},
        {"text": "Some text."},
        {"html": "<p>Some text.</p>"},
        {"text": "Some text.", "html": None},
        {"html": "<p>x</p>", "text": None, "title": "A page"},
    ],
)
def test_article_schema_takes_exactly_one_of_text_and_html(
    document: dict[str, Any], article: dict[str, Any]
) -> None:
    schema = _validator(document, _component(document, "ArticleIn"))
    try:
        ArticleIn.model_validate(article)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert schema.is_valid(article) == accepted


@pytest.mark.parametrize(
    "labels",
    [
        ["sport"],
        ["\t"],
        ["\u2003 \x1f"],
        [{"label": "sport", "description": " "}],
        [{"label": "sport", "examples": ["\n"]}],
        [{"label": "sport", "description": "Games.", "examples": ["A match report."]}],
    ],
)
def test_label_strings_with_no_text_are_documented_as_refused(
    document: dict[str, Any], labels: list[Any]
) -> None:
    """A label, description or example is stripped before its length is checked: one of
    white space only is refused, and the document says so."""
    from copydesk.core.schemas import LabelSetIn

    schema = _validator(document, _component(document, "LabelSetIn"))
    try:
        LabelSetIn.model_validate({"labels": labels})
    except ValidationError:
        accepted = False
    else:
        accepted = True
    assert schema.is_valid({"labels": labels}) == accepted


def test_idempotency_key_is_documented_as_the_api_reads_it(document: dict[str, Any]) -> None:
    from copydesk.intake.views.common import IDEMPOTENCY_KEY

    for operation in ("POST /v1/jobs", "POST /v1/batches"):
        header = _parameter(document, operation, "Idempotency-Key")
        schema = _validator(document, header["schema"])
        for value in ("k-1", "a b", "~" * 255, " k", "", "ké", "k\t1", "x" * 256, None):
            taken = isinstance(value, str) and IDEMPOTENCY_KEY.fullmatch(value) is not None
            assert schema.is_valid(value) == taken, (operation, value)


def test_labels_are_documented_unique(document: dict[str, Any]) -> None:
    labels = ["sport", "sport"]
    for name in ("LabelSetIn", "TopicsOptions"):
        schema = _validator(document, _component(document, name))
        assert not schema.is_valid({"labels": labels}), name
        assert schema.is_valid({"labels": ["sport", "politics"]}), name


def test_last_event_id_and_cursor_are_documented_with_their_formats(
    document: dict[str, Any],
) -> None:
    from copydesk.core.api_models import EVENT_ID
    from copydesk.intake.views.jobs import decode_cursor, encode_cursor

    last = _validator(
        document, _parameter(document, "GET /v1/jobs/{job_id}/events", "Last-Event-ID")["schema"]
    )
    for value in ("0", "1733412345123-0", "1-17", ""):  # "": from the start, as "0"
        assert last.is_valid(value) and (value in ("", "0") or EVENT_ID.fullmatch(value)), value
    for value in ("x", "1-", "-1", "1733412345123", "1-0-0", "1" * 21 + "-0"):
        assert not last.is_valid(value), value
    cursor = _validator(document, _parameter(document, "GET /v1/jobs", "cursor")["schema"])
    given = encode_cursor((1733412345123, "0" * 32))
    assert cursor.is_valid(given) and decode_cursor(given) == (1733412345123, "0" * 32)
    for value in ("", "x", "next", "1733412345123", "MTIzOmFiYw"):
        assert not cursor.is_valid(value), value


def test_without_keys_the_document_asks_for_no_authorization(keyless: Any) -> None:
    document = keyless.get("/openapi.json").get_json()
    assert not document.get("security")
    assert "securitySchemes" not in document["components"]
    for name, operation in _operations(document):
        assert not operation.get("security"), name
        assert "401" not in operation["responses"], name
    assert keyless.get("/docs/openapi.json").get_json() == document  # the docs pages' copy


def test_with_keys_every_v1_operation_asks_for_a_bearer_key(
    keyed: Any, document: dict[str, Any]
) -> None:
    assert document["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for name, operation in _operations(document):
        if " /v1/" in name:
            assert "401" in operation["responses"], name
    assert keyed.get("/docs/openapi.json").get_json() == document
