"""Fuzz the whole API from its own OpenAPI document (schemathesis): every operation, with
generated valid and invalid bodies, query strings, headers and ids. Nothing may answer 5xx,
every answer must match the document (its status code, media type, headers and schema; an
event stream event by event), a request the document calls invalid must be refused, and one
without the key it asks for must get 401."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from conftest import KEYS
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]


MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.mark.parametrize("mode", MODES, ids=[mode.value for mode in MODES])
def test_no_operation_answers_5xx_or_off_its_document(stack, mode) -> None:  # noqa: ANN001
    """Valid and invalid requests (wrong types, nulls, huge strings, odd Unicode, odd ids) to
    every operation: hypothesis-driven, many examples each, with a fixed seed."""
    schema = schemathesis.openapi.from_url(stack.base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    calls: list[str] = []
    with requests.Session() as session:
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=25,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case) -> None:  # noqa: ANN001
                response = case.call_and_validate(
                    base_url=stack.base_url,
                    session=session,
                    headers={"Authorization": f"Bearer {KEYS['alice']}"},
                    checks=CHECKS,
                    timeout=30,
                )
                calls.append(f"{operation.label} {response.status_code}")

            try:
                call()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE and not _has_inputs(operation)
    assert len(calls) >= 100  # the operations were really exercised


def _has_inputs(operation) -> bool:  # noqa: ANN001
    definition = operation.definition.raw
    return bool(definition.get("parameters") or definition.get("requestBody"))


def test_the_document_is_openapi_3_1_and_the_docs_page_is_served(stack) -> None:  # noqa: ANN001
    document = requests.get(stack.base_url + "/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/jobs", "/v1/batches", "/v1/jobs/{job_id}/events"} <= set(document["paths"])
    docs = requests.get(stack.base_url + "/docs", timeout=10)
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    assert "unpkg.com" not in docs.text and "cdn.jsdelivr" not in docs.text  # works offline
