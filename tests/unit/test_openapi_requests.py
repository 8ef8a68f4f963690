"""The request schemas of the OpenAPI document take what the API takes and refuse what it
refuses, rule by rule (tests/e2e/test_fuzz.py holds the whole API to its document; these pin
each rule that fuzzing once found loose). No sockets: the app never reaches its store here.
"""

from __future__ import annotations

import base64
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from copydesk.core.api_models import DELIVERY_ID
from copydesk.core.ids import new_job_id
from copydesk.core.options import SummaryOptions, TopicsOptions
from copydesk.core.render import delivery_id
from copydesk.core.schemas import WEBHOOK_URL, JobRequest, LabelSetIn, WebhookIn
from copydesk.core.settings import Settings
from copydesk.deliver.destinations import parse_destination

TEXT = {"text": "The council met on Tuesday."}


@pytest.fixture(scope="module")
def client() -> Any:
    from copydesk.intake import create_app

    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", rate_limit=""))
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture(scope="module")
def document(client: Any) -> dict[str, Any]:
    return client.get("/openapi.json").get_json()


def _schema(document: dict[str, Any], name: str) -> jsonschema.Validator:
    """The validator of model ``name`` as a job request nests it (or the model itself)."""
    keys = [k for k in document["components"]["schemas"] if name in k.split(".")[::2]]
    ref = {"$ref": f"#/components/schemas/{min(keys, key=len)}"}
    return jsonschema.Draft202012Validator({**ref, "components": document["components"]})


def _takes(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


def _agree(document: dict[str, Any], model: type[BaseModel], values: list[Any]) -> None:
    schema = _schema(document, model.__name__)
    for value in values:
        assert schema.is_valid(value) == _takes(model, value), value


URLS = [
    "http://example.org",
    "https://hooks.example.org:8443/copydesk?tenant=7#frag",
    "HTTPS://Example.ORG/Hook",
    "http://127.0.0.1:9000/hook",
    "http://[::1]:9000/",
    "http://[2001:db8::1]/x",
    "http://_acme.example.com./",
    "http://localhost/",
    "",
    "example.org",
    "ftp://example.org/",
    "http://",
    "http:///path",
    "http://user@example.org/",
    "http://example.org:0/",
    "http://example.org:65536/",
    "http://example.org:080/",
    "http://example.org:/",
    "http://exa mple.org/",
    "http://example.org/a b",
    "http://example.org/\x7f",
    "http://bücher.example/",
    "http://xn--bcher-kva.example/",
    "http://example.org/ü",
    "http://127.1/",
    "http://0x7f.1/",
    "http://2130706433/",
    "http://a.1b/",
    "http://-a.example/",
    "http://a-.example/",
    "http://a..example/",
    "http://[::1/",
    "http://[1.2.3.4]/",
    "http://[fe80::1%25eth0]/",
    "http://01.2.3.4/",
    "http://" + "a" * 64 + ".example/",
]


def test_webhook_urls_are_documented_as_the_intake_reads_them(document: dict[str, Any]) -> None:
    """Found by fuzzing: the document took any string as a webhook URL (even ""), which
    the intake refused."""
    _agree(document, WebhookIn, [{"url": url} for url in URLS])
    url = _schema(document, "WebhookIn").schema["components"]["schemas"]
    described = [s["properties"]["url"]["description"] for k, s in url.items() if "WebhookIn" in k]
    assert all("253 characters" in text for text in described)  # a length no pattern states


@settings(max_examples=300, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.from_regex(WEBHOOK_URL, fullmatch=True))
def test_every_url_the_document_takes_is_one_the_sender_can_take_apart(url: str) -> None:
    """The intake's own parse (the dispatcher's too) never refuses a URL of the documented
    form, save a host name past DNS's 253 characters, which the description names."""
    host = url.split("://", 1)[1].split("/")[0].split("?")[0].split("#")[0]
    assume(len(host.rsplit(":", 1)[0] if not host.endswith("]") else host) <= 253)
    parse_destination(url)


def test_webhook_secrets_are_documented_as_the_intake_reads_them(document: dict[str, Any]) -> None:
    secrets = [None, "", "whsec_", "whsec_" + "A" * 15, "sk_" + "A" * 24]
    for size in range(10, 40):
        encoded = base64.b64encode(bytes(range(size))).decode()
        secrets += [f"whsec_{encoded}", f"whsec_{encoded.rstrip('=')}", f"whsec_{encoded}="]
        secrets += [f"whsec_={encoded}", f"whsec_{encoded[:-4]}A=AA"]
    _agree(document, WebhookIn, [{"url": "http://example.org/", "secret": s} for s in secrets])


def test_analyses_are_documented_as_known_names_each_named_once(document: dict[str, Any]) -> None:
    """Found by fuzzing: ``analyses: [""]`` was valid in the document (a 422 from the API)."""
    lists = [["summary"], ["topics", "sentiment"], [""], ["Summary"], ["summary", "summary"], []]
    _agree(document, JobRequest, [{"article": TEXT, "analyses": names} for names in lists])


def test_options_for_unrequested_analyses_are_refused_as_the_document_says_in_words(
    document: dict[str, Any],
) -> None:
    """Options only for the analyses named (the default ones, which the document lists, when
    none is): said in words, as JSON Schema's statement of it outgrows schemathesis's
    generator at six analyses (the fuzz test's hooks tell it instead)."""
    from copydesk.core.names import DEFAULT_ANALYSES

    job = _schema(document, "JobRequest")
    properties = document["components"]["schemas"][job.schema["$ref"].rsplit("/", 1)[1]]
    assert properties["properties"]["analyses"]["default"] == list(DEFAULT_ANALYSES)
    assert (
        "only for the analyses the job names" in properties["properties"]["options"]["description"]
    )
    taken = [
        {"article": TEXT, "options": {"summary": {}, "topics": {}}},
        {"article": TEXT, "analyses": ["summary"], "options": {"summary": {}}},
        {"article": TEXT, "analyses": ["sentiment", "topics"], "options": {"topics": {}}},
    ]
    refused = [
        {"article": TEXT, "options": {"entities": {}}},  # not a default analysis
        {"article": TEXT, "analyses": ["sentiment"], "options": {"summary": {}}},
        {"article": TEXT, "analyses": ["topics"], "options": {"sentiment": {}, "topics": {}}},
    ]
    assert all(_takes(JobRequest, body) and job.is_valid(body) for body in taken)
    assert not any(_takes(JobRequest, body) for body in refused)


def test_labels_or_a_label_set_is_documented_not_both(document: dict[str, Any]) -> None:
    _agree(
        document,
        TopicsOptions,
        [
            {"labels": ["sport"], "label_set": "desks"},
            {"labels": None, "label_set": "desks"},
            {"labels": ["sport"], "label_set": None},
            {"labels": ["sport"]},
            {"label_set": "desks"},
            {},
        ],
    )


def test_counts_written_as_whole_floats_are_taken_as_the_document_allows(
    document: dict[str, Any],
) -> None:
    """Found by fuzzing: JSON Schema's integer takes 12.0, which the API refused."""
    values = [3, 3.0, 3.5, "3", True, 0, 0.0, 50.0, 51.0, 1e300]
    _agree(document, TopicsOptions, [{"top_k": value} for value in values])
    _agree(document, SummaryOptions, [{"max_sentences": value} for value in values])
    assert TopicsOptions.model_validate({"top_k": 12.0}).model_dump()["top_k"] == 12


def test_label_uniqueness_the_schema_cannot_state_is_stated_in_words(
    document: dict[str, Any],
) -> None:
    """JSON Schema's uniqueItems compares values exactly; the API also refuses labels that
    differ only by case or surrounding white space, or come once as a string and once as an
    object. The document says so (and the fuzz test tells its generator)."""
    for labels in (["Sport", "sport"], ["sport", " sport"], ["sport", {"label": "sport"}]):
        assert not _takes(LabelSetIn, {"labels": labels}), labels
    holders = [
        schema
        for key, schema in document["components"]["schemas"].items()
        if key.split(".")[-1] in ("LabelSetIn", "TopicsOptions") or key.startswith("LabelSetIn.")
    ]
    for holder in holders:
        described = holder["properties"].get("labels")
        if described is None:
            continue
        text = described.get("description") or described["anyOf"][0]["description"]
        assert "case" in text and "white space" in text and "object" in text, holder["title"]
    assert len(holders) >= 3  # a label set's, and a job's options in a job and in a batch


def test_path_parameters_are_documented_with_the_forms_the_views_check(
    document: dict[str, Any], client: Any
) -> None:
    """An id this API never gives out names nothing: the document states each id's form, and
    such an id is a 404 (a label set's name, which a PUT names, a 422 there)."""
    job_id = new_job_id()
    delivery = delivery_id({"id": job_id, "status": "succeeded", "webhook": {"url": "x"}})
    assert delivery is not None and DELIVERY_ID.fullmatch(delivery)
    given = {
        "job_id": job_id, "batch_id": job_id, "delivery": delivery, "name": "desk-7",
        "story_id": new_job_id(),
    }  # fmt: skip
    wrong = {
        "job_id": "x" * 32, "batch_id": job_id.upper(), "delivery": "msg_1", "name": "-a",
        "story_id": "x" * 32,
    }  # fmt: skip
    found = set()
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", ()):
                if parameter["in"] == "path":
                    schema = jsonschema.Draft202012Validator(parameter["schema"])
                    name = parameter["name"]
                    assert schema.is_valid(given[name]), name
                    assert not schema.is_valid(wrong[name]), name
                    found.add(name)
    assert found == set(given)
    for path in (f"/v1/jobs/{wrong['job_id']}", f"/v1/batches/{wrong['batch_id']}"):
        assert client.get(path).status_code == 404, path
    assert client.get("/v1/label-sets/-a").status_code == 404
    assert client.put("/v1/label-sets/-a", json={"labels": ["x"]}).status_code == 422


def test_every_operation_documents_what_gunicorn_answers_before_any_route(
    document: dict[str, Any],
) -> None:
    """Found by fuzzing: a query of long unknown names got gunicorn's 414 (as a problem), which
    no operation listed. gunicorn refuses a request line, or headers, past its limits before
    Flask sees the request, whatever the route."""
    from copydesk.intake.gunicorn_conf import CODES

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status in CODES:
                answer = operation["responses"].get(str(status))
                assert answer is not None, (method, path, status)
                assert "application/problem+json" in answer["content"], (method, path, status)


def test_the_request_examples_are_valid_requests(document: dict[str, Any]) -> None:
    """schemathesis's examples phase sends each example: the document gives one per request
    body, and each is a request its schema and its model take."""
    from copydesk.core.schemas import BatchRequest

    models = {"JobRequest": JobRequest, "BatchRequest": BatchRequest, "LabelSetIn": LabelSetIn}
    for name, model in models.items():
        schema = _schema(document, name)
        key = schema.schema["$ref"].rsplit("/", 1)[1]
        [example] = document["components"]["schemas"][key]["examples"]
        assert schema.is_valid(example) and _takes(model, example), name


def test_a_fraction_is_a_json_number_as_the_document_says(document: dict[str, Any]) -> None:
    """A numeric string or a boolean is no number in the document, so the API refuses it."""
    from copydesk.core.options import KeyphrasesOptions

    values = [0.3, 0, 1, "0.3", True, None, 1.5, -0.1]
    _agree(document, KeyphrasesOptions, [{"diversity": value} for value in values])
