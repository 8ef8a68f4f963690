"""Fuzz the whole API from its own OpenAPI document: ``schemathesis run --checks all`` with the
phases examples, coverage, fuzzing and stateful, once with API keys on and once with keys off
(whose document asks for no Authorization), a bounded number of examples and a fixed seed.

Every check runs on every operation: no 5xx; every answer as documented (its status code,
media type, headers, schema; an event stream event by event); a request the document calls
valid is accepted and one it calls invalid refused; a required header or the key left out is
refused, an unsupported method is a 405 with Allow; a resource just created can be read, one
deleted cannot, and one tenant cannot reach another's.

No check and no operation is excluded. The generator is told the request rules the document
states in words rather than in JSON Schema (``schemathesis_hooks.py``, positive cases only):
labels unique once case and surrounding white space are set aside (``uniqueItems`` compares
exactly); webhook hosts that are addresses or localhost names, which the deployment's network
policy judges, or names past 253 characters (no pattern measures a part of a string); options
only for the analyses a job names (JSON Schema can say it, but for six analyses it outgrows
schemathesis's generator, which then fuzzed no job body). Nothing else is narrowed.
Hypothesis's health checks, which judge the generator and not the API, are off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from copydesk.devstack.stack import Stack

KEY = "fuzzer-key-0123456789"
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
MAX_EXAMPLES = 50  # per operation and phase: 30-45 s a run here, both in about 90 s
SEED = 21


@pytest.fixture(scope="module")
def fuzzed(
    start_archived_stack: Callable[..., Stack], start_intake: Callable[..., str]
) -> dict[str, str]:
    """A stack of its own, so that the jobs and label sets fuzzing makes stay off the other
    tests' tenants and queues: its intake with a key, and a second one without keys on the
    same Redis and workers. Search answers from the archive (503 archive_off without one)."""
    stack = start_archived_stack(
        "fuzz",
        {
            "COPYDESK_API_KEYS": f"fuzzer:{KEY}",
            "COPYDESK_RATE_LIMIT": "100000/minute",
            "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            # an alert's event stream has no last event: it ends at its longest (5 s at least)
            "COPYDESK_SSE_MAX_SECONDS": "5",
        },
    )
    keyless = start_intake(stack, "keyless", without=("COPYDESK_API_KEYS",))
    return {"on": stack.base_url, "off": keyless}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("keys", ["on", "off"], ids=["keys on", "keys off"])
def test_schemathesis_checks_all_find_no_failure(
    fuzzed: dict[str, str], keys: str, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", fuzzed[keys] + "/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--request-timeout", "60",  # an event stream lasts until its job ends
        # Hypothesis's health checks judge the generator, never the API (too slow on a busy
        # box; seen once in 3,500 POST /v1/jobs cases: a minimal example "too large")
        "--suppress-health-check", "all",
        "--continue-on-failure",
        "--no-color",
    ]  # fmt: skip
    if keys == "on":
        command += ["--header", f"Authorization: Bearer {KEY}"]
    run = subprocess.run(
        command,
        env=os.environ | {"SCHEMATHESIS_HOOKS": str(HOOKS)},
        cwd=tmp_path,  # any report stays out of the tree
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert run.returncode == 0, _findings(run.stdout + run.stderr)
    assert "29 selected / 29 total" in run.stdout  # every operation of the document
    cases = re.search(r"Test cases:\s+(\d+) generated, (\d+) passed(.*)", run.stdout)
    assert cases and int(cases[1]) == int(cases[2]) >= 500, run.stdout[-2000:]
    assert "errored" not in cases[3], run.stdout[-2000:]  # "skipped": no check applied


def _findings(output: str) -> str:
    """What schemathesis found (its failures and errors), or its whole output."""
    start = min((output.find(m) for m in ("== FAILURES", "== ERRORS") if m in output), default=0)
    return output[start:]


def test_the_document_is_openapi_3_1_and_the_docs_page_is_served(stack) -> None:  # noqa: ANN001
    document = requests.get(stack.base_url + "/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/jobs", "/v1/batches", "/v1/jobs/{job_id}/events"} <= set(document["paths"])
    docs = requests.get(stack.base_url + "/docs", timeout=10)
    assert docs.status_code == 200 and "swagger-ui" in docs.text.lower()
    assert "unpkg.com" not in docs.text and "cdn.jsdelivr" not in docs.text  # works offline
