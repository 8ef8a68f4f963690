"""Pages as they really come: a 3 MB news page, gzip bodies, bombs, and a page of menus."""

from __future__ import annotations

import gzip
import json

import pytest

from copydesk.core.settings import Settings
from copydesk.devstack.waiting import wait_for

PROBLEM = "application/problem+json"
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
PARAGRAPHS = [
    "The city council approved a new budget for public schools on Monday after a debate "
    "that lasted well into the night.",
    "Teachers had asked for higher salaries for three years, and the plan raises them by "
    "four percent from September.",
    "The mayor said the money would come from a tax on empty offices, which she called fair "
    "to families and to the city.",
    "Parents who packed the public gallery cheered when the vote was announced.",
]


def news_page(size: int = 3_000_000) -> str:
    """A page shaped like a big news site's: megabytes of inline state, menus, an article."""
    state = json.dumps(
        [{"id": n, "headline": f"Story {n}", "tags": ["a"] * 20} for n in range(200)]
    )
    script = f"<script>window.__STATE__ = {state};</script>"
    nav = "".join(f"<li><a href='/s{n}'>Section {n}</a></li>" for n in range(40))
    body = (
        f"<body><nav class='site-nav'><ul>{nav}</ul></nav><article><header><h1>Council "
        "approves school budget</h1></header>"
        + "".join(f"<p>{p}</p>" for p in PARAGRAPHS * 3)
        + "</article><footer>Copyright 2026 Example News.</footer><div id='cookie-consent'>"
        "We use cookies to personalise content.</div></body></html>"
    )
    head = "<html><head><title>Council approves school budget</title>"
    scripts = script * (1 + (size - len(head) - len(body)) // len(script))
    return head + scripts + "</head>" + body


def _post(client, data: bytes, **headers: str):  # noqa: ANN001, ANN202
    return client.post("/v1/jobs", data=data, content_type="application/json", headers=headers)


def _problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    problem = response.get_json(force=True)
    assert problem["code"] == code and problem["detail"]
    return problem


def _finished(client, job_id: str) -> dict:  # noqa: ANN001
    def poll() -> dict | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=120, every=0.2)


def test_a_3mb_news_page_is_accepted_gzipped_and_its_article_extracted(
    client, start_worker, store
) -> None:  # noqa: ANN001
    page = news_page()
    assert len(page) > 3_000_000
    body = json.dumps({"article": {"html": page}, "analyses": ["sentiment"]}).encode()
    response = _post(client, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    job_id = response.get_json()["id"]
    assert store.raw_article(job_id)["html"] == page

    start_worker()
    job = _finished(client, job_id)
    assert job["status"] == "succeeded", job
    text = client.get(f"/v1/jobs/{job_id}/text").get_data(as_text=True)
    assert "approved a new budget" in text and "gallery cheered" in text
    for furniture in ("Section 1", "Copyright", "cookies", "__STATE__"):
        assert furniture not in text


def test_a_page_of_menus_fails_as_empty_article(client, start_worker) -> None:  # noqa: ANN001
    start_worker()
    page = "<html><body><nav>Home</nav><footer>About us</footer></body></html>"
    response = _post(client, json.dumps({"article": {"html": page}}).encode())
    job = _finished(client, response.get_json()["id"])
    assert job["status"] == "failed"
    assert {r["error"]["code"] for r in job["results"].values()} == {"empty_article"}


def test_an_html_body_over_the_text_limit_is_accepted_plain(client) -> None:  # noqa: ANN001
    body = json.dumps({"article": {"html": news_page(1_600_000)}}).encode()
    assert len(body) > 1_500_000
    assert _post(client, body).status_code == 202


def test_a_text_body_over_the_text_limit_is_still_413(client) -> None:  # noqa: ANN001
    body = json.dumps({"article": {"text": "word " * 400_000}}).encode()
    problem = _problem(_post(client, body), 413, "body_too_large")
    assert "COPYDESK_MAX_BODY_BYTES" in problem["detail"]
    gzipped = _post(client, gzip.compress(body), **{"Content-Encoding": "gzip"})
    _problem(gzipped, 413, "body_too_large")


def test_a_gzip_text_body_is_accepted(client, store) -> None:  # noqa: ANN001
    body = json.dumps({"article": {"text": "The council met on Monday."}}).encode()
    response = _post(client, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert response.status_code == 202
    assert store.raw_article(response.get_json()["id"])["text"] == "The council met on Monday."


def test_a_decompression_bomb_is_413_and_never_inflated(client) -> None:  # noqa: ANN001
    bomb = gzip.compress(b'{"article": {"text": "' + b" " * 200_000_000, compresslevel=9)
    assert len(bomb) < 1_000_000
    response = _post(client, bomb, **{"Content-Encoding": "gzip"})
    _problem(response, 413, "decompressed_body_too_large")


@pytest.mark.parametrize(
    "data",
    [b"{not gzip}", gzip.compress(b'{"article": {"text": "' + b"x" * 5000 + b'"}}')[:-30]],
    ids=["not-gzip", "truncated"],
)
def test_an_invalid_gzip_body_is_400(client, data: bytes) -> None:  # noqa: ANN001
    _problem(_post(client, data, **{"Content-Encoding": "gzip"}), 400, "malformed_gzip")


def test_an_unsupported_encoding_is_415(client) -> None:  # noqa: ANN001
    response = _post(client, b"{}", **{"Content-Encoding": "br"})
    _problem(response, 415, "unsupported_content_encoding")
    assert response.headers["Accept-Encoding"] == "gzip"


def test_html_limits_have_their_own_codes(make_client, settings: Settings) -> None:  # noqa: ANN001
    small = settings.model_copy(update={"max_html_body_bytes": 200_000, "max_html_chars": 100_000})
    client = make_client(small)
    over_body = json.dumps({"article": {"html": "<p>x</p>" * 30_000}}).encode()
    _problem(_post(client, over_body), 413, "html_body_too_large")
    over_chars = json.dumps({"article": {"html": "<p>x</p>" * 15_000}}).encode()
    problem = _problem(_post(client, over_chars), 413, "html_too_large")
    assert problem["limit"] == 100_000
    over_all = b'{"article": {"html": "' + b"x" * 1_100_000 + b'"}}'  # past both limits
    _problem(_post(client, over_all), 413, "body_too_large")


def test_a_page_of_too_many_tags_is_413_html_too_complex(make_client, settings) -> None:  # noqa: ANN001
    client = make_client(settings.model_copy(update={"max_html_tags": 1000}))
    page = "<p>A paragraph of the page.</p>" * 1001
    problem = _problem(_post(client, json.dumps({"article": {"html": page}}).encode()), 413,
                       "html_too_complex")  # fmt: skip
    assert problem["limit"] == 1000
    batch = {"jobs": [{"article": {"text": "Fine."}}, {"article": {"html": page}}]}
    response = client.post("/v1/batches", json=batch)
    _problem(response, 413, "html_too_complex")
    ok = json.dumps({"article": {"html": "<p>A paragraph of the page.</p>" * 1000}}).encode()
    assert _post(client, ok).status_code == 202
