"""Request-body limits of the intake: bounded gzip inflation and one limit per kind of body."""

from __future__ import annotations

import gzip
import zlib

import pytest

from copydesk.core import errors
from copydesk.core.settings import Settings
from copydesk.intake.body import check_job_size, inflate, job_ceiling


def test_html_gets_its_own_limit_of_at_least_ten_megabytes() -> None:
    settings = Settings()
    assert settings.max_html_body_bytes >= 10_000_000
    assert settings.max_body_bytes == 1_000_000
    assert job_ceiling(settings) == settings.max_html_body_bytes


def test_gzip_round_trips_across_members() -> None:
    assert inflate(gzip.compress(b'{"a": 1}'), limit=100) == b'{"a": 1}'
    assert inflate(gzip.compress(b"ab") + gzip.compress(b"cd"), limit=100) == b"abcd"


def test_a_bomb_is_refused_once_it_passes_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(errors.DecompressedBodyTooLarge) as caught:
        inflate(bomb, limit=1_000_000)
    assert caught.value.status == 413 and caught.value.extra["limit"] == 1_000_000


def test_a_body_exactly_at_the_limit_passes() -> None:
    assert len(inflate(gzip.compress(b"x" * 1000), limit=1000)) == 1000
    with pytest.raises(errors.DecompressedBodyTooLarge):
        inflate(gzip.compress(b"x" * 1001), limit=1000)


@pytest.mark.parametrize(
    "raw",
    [
        b"not gzip at all",
        gzip.compress(b"x" * 10_000)[:-20],  # truncated
        gzip.compress(b"ok") + b"trailing junk",
        zlib.compress(b"a zlib stream, not gzip"),
        b"",
    ],
    ids=["plain", "truncated", "trailing-junk", "zlib", "empty"],
)
def test_an_invalid_stream_is_malformed_gzip(raw: bytes) -> None:
    with pytest.raises(errors.MalformedGzip) as caught:
        inflate(raw, limit=1_000_000)
    assert caught.value.status == 400 and caught.value.code == "malformed_gzip"


def test_each_kind_of_body_has_its_own_limit_and_code() -> None:
    settings = Settings(max_body_bytes=2000, max_html_body_bytes=5000, max_html_chars=4000)
    check_job_size({"text": "x"}, 2000, settings)
    check_job_size({"html": "<p>x</p>"}, 5000, settings)
    with pytest.raises(errors.BodyTooLarge):
        check_job_size({"text": "x"}, 2001, settings)
    with pytest.raises(errors.BodyTooLarge):
        check_job_size("not an object", 2001, settings)
    with pytest.raises(errors.HtmlBodyTooLarge) as caught:
        check_job_size({"html": "<p>x</p>"}, 5001, settings)
    assert caught.value.code == "html_body_too_large" and caught.value.status == 413
    with pytest.raises(errors.HtmlTooLarge) as caught:
        check_job_size({"html": "x" * 4001}, 4500, settings)
    assert caught.value.code == "html_too_large" and caught.value.status == 413


def test_a_page_of_too_many_tags_is_refused_at_the_intake() -> None:
    settings = Settings(max_html_tags=100)
    check_job_size({"html": "<p>x" * 100}, 400, settings)
    with pytest.raises(errors.HtmlTooComplex) as caught:
        check_job_size({"html": "<p>x" * 101}, 404, settings)
    assert caught.value.code == "html_too_complex" and caught.value.status == 413
    assert Settings().max_html_tags == 100_000
