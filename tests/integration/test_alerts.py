"""Alerts: real PostgreSQL, real Redis, a real worker, dispatcher and webhook receiver.

An alert fires one signed webhook per story (its duplicates and later articles do not fire
it again), a story-size alert fires once when its story crosses the size, an article reads
only the alerts on its own terms however many there are, and one tenant never sees or fires
another's alerts.
"""

# ruff: noqa: F811 (the archive's fixtures, imported from test_archive, are test arguments)
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from copydesk.archive.alert_match import CANDIDATES, AlertMatcher, terms
from copydesk.archive.alerts import AlertBook, Limits
from copydesk.archive.archiver import Archiver, row_of
from copydesk.archive.outbox import OUTBOX
from copydesk.core.ids import now_rfc3339
from copydesk.core.names import TERMINAL_STATUSES
from copydesk.core.settings import Settings
from copydesk.devstack.receiver import Receiver
from copydesk.devstack.waiting import wait_for
from copydesk.store.jobs import RedisJobStore
from test_archive import KEYS, archive, archived, archiving_store, dispatch  # noqa: F401

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALICE = {"Authorization": f"Bearer {KEYS['alice']}"}
BOB = {"Authorization": f"Bearer {KEYS['bob']}"}
FIXTURE = Path(__file__).parent.parent / "fixtures" / "quotes_fixture.json"


@pytest.fixture
def alerting(archived: Settings, database_url: str) -> Settings:
    """The archive's settings, with no alerts, firings nor stories left by a test before."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE alerts, alert_terms, alert_firings CASCADE")
        conn.execute("TRUNCATE story_articles, duplicate_bands, stories")
    return archived


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _bbc(ident: str) -> dict[str, str]:
    articles = json.loads(FIXTURE.read_text(encoding="utf-8"))["articles"]
    return next(a for a in articles if a["id"] == ident)


def _put(client: Any, name: str, body: dict[str, Any], headers: dict[str, str] = ALICE) -> Any:
    return client.put(f"/v1/alerts/{name}", json=body, headers=headers)


def _submit_and_archive(
    client: Any, redis_client: Any, text: str, title: str, headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    """Submit an article with entities and stories, and wait until it is archived."""
    body = {"article": {"text": text, "title": title}, "analyses": ["entities", "stories"]}
    answer = client.post("/v1/jobs", json=body, headers=headers)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job_id = answer.get_json()["id"]
    job = wait_for(
        lambda: (
            (found := client.get(f"/v1/jobs/{job_id}", headers=headers).get_json())["status"]
            in TERMINAL_STATUSES
            and found
        ),
        timeout=120,
        every=0.2,
    )
    assert job["status"] == "succeeded", job
    wait_for(lambda: redis_client.zscore(OUTBOX, job_id) is None, timeout=60)
    return job


def _firings(url: str) -> list[tuple[str, str, str]]:
    """Each firing: its alert's name, its scope (story) and its article, oldest first."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT a.name, f.scope, f.job_id FROM alert_firings f "
            "JOIN alerts a ON a.id = f.alert_id ORDER BY f.fired_at"
        ).fetchall()
    return [(name, scope, job_id.hex) for name, scope, job_id in rows]


def _variants(seed: dict[str, str]) -> list[tuple[str, str]]:
    """Wire copy of the seed: a new headline, a trimmed ending, a paragraph added."""
    paragraphs = [p for p in seed["text"].split("\n") if p.strip()]
    return [
        ("\n\n".join(paragraphs), "Lib Dems want Iraq exit timetable"),
        ("\n\n".join(paragraphs[: len(paragraphs) * 2 // 3]), seed["title"]),
        ("\n\n".join([*paragraphs, "The party's spring conference opens in Harrogate on "
                      "Friday, where activists will debate the war."]), seed["title"]),
    ]  # fmt: skip


def _most_salient(job: dict[str, Any]) -> str:
    return job["results"]["entities"]["entities"][0]["name"]


def test_an_entity_alert_fires_one_signed_webhook_per_story_however_many_duplicates(
    alerting,
    make_client,
    start_worker,
    dispatch,
    redis_client,
    receiver,
    database_url,
) -> None:  # noqa: ANN001
    client = make_client(alerting)
    start_worker(alerting)
    dispatch(alerting)
    seed, other = _bbc("bbc/politics/093.txt"), _bbc("bbc/politics/323.txt")  # both Kennedy
    # bob's copy names the entity; his articles are his own story, and fire none of alice's
    entity = _most_salient(
        _submit_and_archive(client, redis_client, seed["text"], seed["title"], BOB)
    )
    answer = _put(client, "kennedy", {"filters": {"entity": entity},
                                      "webhook": {"url": receiver.url, "secret": SECRET}})  # fmt: skip
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["Location"].endswith("/v1/alerts/kennedy")
    assert answer.get_json()["webhook"] == {"url": receiver.url}  # the secret is never shown

    first = _submit_and_archive(client, redis_client, seed["text"], seed["title"])
    story = first["results"]["stories"]["story"]["id"]
    copies = [_submit_and_archive(client, redis_client, t, h) for t, h in _variants(seed)]
    copies.append(_submit_and_archive(client, redis_client, seed["text"], "Kennedy again"))
    assert {c["results"]["stories"]["story"]["id"] for c in copies} == {story}
    assert {c["results"]["stories"]["original"] for c in copies} == {first["id"]}
    assert _firings(database_url) == [("kennedy", story, first["id"])]

    wait_for(lambda: len(receiver.requests) >= 1, timeout=30)
    [(_, headers, body)] = receiver.requests
    event = Webhook(SECRET).verify(body, headers)
    assert event["type"] == "alert.fired"
    assert event["data"]["alert"]["name"] == "kennedy"
    assert event["data"]["story"]["id"] == story
    assert event["data"]["article"]["id"] == first["id"]
    assert headers["webhook-id"] == f"msg_alert_{event['data']['firing_id']}"

    # another story about the same entity fires it once more
    second = _submit_and_archive(client, redis_client, other["text"], other["title"])
    assert second["results"]["stories"]["story"]["id"] != story
    wait_for(lambda: len(receiver.requests) == 2, timeout=30)
    assert [f[2] for f in _firings(database_url)] == [first["id"], second["id"]]
    assert all(tenant == "alice" for tenant in _firing_tenants(database_url))


def _firing_tenants(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT tenant FROM alert_firings").fetchall()]


def test_a_story_size_alert_fires_once_when_its_story_crosses_the_size(
    alerting,
    make_client,
    start_worker,
    dispatch,
    redis_client,
    receiver,
    database_url,
) -> None:  # noqa: ANN001
    client = make_client(alerting)
    start_worker(alerting)
    dispatch(alerting)
    seed = _bbc("bbc/politics/093.txt")
    answer = _put(client, "breaking", {
        "conditions": {"story_size": {"articles": 3, "within_seconds": 3600}},
        "webhook": {"url": receiver.url, "secret": SECRET},
    })  # fmt: skip
    assert answer.status_code == 201, answer.get_json()
    articles = [(seed["text"], seed["title"]), *_variants(seed)]
    jobs = []
    for n, (text, title) in enumerate(articles, 1):
        jobs.append(_submit_and_archive(client, redis_client, text, title))
        fired = _firings(database_url)
        assert len(fired) == (0 if n < 3 else 1), (n, fired)
    assert fired[0][2] == jobs[2]["id"]  # the third article made the story three
    wait_for(lambda: len(receiver.requests) >= 1, timeout=30)
    [(_, headers, body)] = receiver.requests
    event = Webhook(SECRET).verify(body, headers)
    assert event["data"]["reason"] == "story_size"
    assert event["data"]["story"]["id"] == jobs[0]["id"]


_LAST_CREATED = [""]


def _later() -> str:
    """Now, to the millisecond, and later than the job made before: alerts fire the earliest
    article first, and two jobs made in the same millisecond would go by their random ids."""
    while (moment := now_rfc3339()) <= _LAST_CREATED[0]:
        time.sleep(0.001)
    _LAST_CREATED[0] = moment
    return moment


def _finished_job(
    store: RedisJobStore,
    *,
    entities: list[tuple[str, float]],
    tenant: str = "alice",
    story: str | None = None,
) -> str:
    """Store a job whose entities (name, own sentiment) and story are given, and end it
    through the store's own scripts, as a worker would."""
    job_id = uuid.uuid4().hex
    analyses = ["entities"] + (["stories"] if story else [])
    record = {
        "id": job_id,
        "tenant": tenant,
        "created_at": _later(),
        "analyses": analyses,
        "options": {name: {} for name in analyses},
        "article": {"title": "A title", "ref": f"ref-{job_id[:6]}", "characters": 9},
        "base_url": "http://127.0.0.1:8000",
    }
    store.create(job_id=job_id, record=record, article={"text": "Hi there."})
    found = [
        {"name": name, "type": "organisation", "salience": 0.5, "sentiment": {"score": score}}
        for name, score in entities
    ]
    store.record_result(job_id, "entities", {"status": "succeeded", "entities": found})
    if story:
        result = {"status": "succeeded", "duplicates": [], "original": None,
                  "story": {"id": story, "size": 1}}  # fmt: skip
        store.record_result(job_id, "stories", result)
    return job_id


def _book(archive: Any, **limits: int) -> AlertBook:
    return AlertBook(
        archive, limits=Limits(**({"most": 10_000, "on_term": 100, "broad": 20} | limits))
    )


def test_an_article_reads_only_the_alerts_on_its_terms_however_many_alerts_there_are(
    alerting,
    archiving_store,
    archive,
    redis_client,
    database_url,
) -> None:  # noqa: ANN001
    book = _book(archive)
    book.put("alice", "acme", filters={"entity": "Acme"}, conditions={}, webhook=None)
    archiver = Archiver(store=archiving_store, archive=archive, settings=alerting)
    archiver.maintain(force=True)
    matcher = AlertMatcher(archive, client=redis_client, ttl=60, kept=100)

    def cost(entities: list[tuple[str, float]]) -> tuple[int, int]:
        """Alerts the evaluation read, and rows its lookup read by EXPLAIN ANALYZE."""
        job_id = _finished_job(archiving_store, entities=entities)
        row = row_of(job_id, archiving_store.archive_entries([job_id])[job_id])
        archive.write([row])
        read = matcher.evaluate([row]).candidates
        found = terms(row)
        with psycopg.connect(database_url) as conn:
            conn.execute("ANALYZE alerts; ANALYZE alert_terms")
            [[plan]] = conn.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + CANDIDATES,
                {"tenant": "alice", "kinds": [k for k, _ in found],
                 "values": [v for _, v in found]},
            ).fetchone()  # fmt: skip
        return read, _rows_read(plan["Plan"])

    before = [cost([("Acme", 0.1), ("Globex", 0.0)]), cost([("Initech", 0.0)])]
    for n in range(5000):  # alerts on other entities, and on other tenants' Acme
        book.put("alice", f"quiet-{n}", filters={"entity": f"Entity {n:05d}"},
                 conditions={}, webhook=None)  # fmt: skip
        if n < 50:
            book.put(f"tenant-{n}", "acme", filters={"entity": "Acme"}, conditions={}, webhook=None)
    after = [cost([("Acme", 0.1), ("Globex", 0.0)]), cost([("Initech", 0.0)])]
    assert [read for read, _ in before] == [read for read, _ in after] == [1, 0]
    for (_, rows_before), (_, rows_after) in zip(before, after, strict=True):
        assert rows_after <= rows_before + 2, (before, after)  # not one per alert
    assert after[0][1] <= 10 and after[1][1] <= 10, after


def _rows_read(plan: dict[str, Any]) -> int:
    """Rows the plan's scans of alerts and alert_terms read (kept or filtered out), over all
    their loops."""
    own = 0
    if plan.get("Relation Name") in ("alerts", "alert_terms"):
        kept, removed = plan["Actual Rows"], plan.get("Rows Removed by Filter", 0)
        own = (kept + removed) * plan["Actual Loops"]
    return own + sum(_rows_read(child) for child in plan.get("Plans", ()))


def test_tenants_fire_their_own_alerts_once_per_article_and_once_per_story(
    alerting,
    archiving_store,
    archive,
    redis_client,
    database_url,
    make_client,
) -> None:  # noqa: ANN001
    client = make_client(alerting)
    body = {"filters": {"entity": "Acme"}}
    assert _put(client, "acme", body).status_code == 201
    assert _put(client, "acme", body, BOB).status_code == 201
    negative = {"conditions": {"entity_sentiment": [{"entity": "Acme", "below": -0.3}]}}
    assert _put(client, "acme-bad-press", negative).status_code == 201
    archiver = Archiver(store=archiving_store, archive=archive, settings=alerting)
    archiver.maintain(force=True)

    lone = _finished_job(archiving_store, entities=[("Acme", 0.2)])
    assert archiver.archive_due() == 1
    redis_client.zadd(OUTBOX, {lone: 0})  # archived again (a claim whose ack was lost)
    assert archiver.archive_due() == 1
    assert _firings(database_url) == [("acme", f"job:{lone}", lone)]

    story = uuid.uuid4().hex
    ids = [_finished_job(archiving_store, entities=[("Acme", -0.6)], story=story) for _ in range(3)]
    assert archiver.archive_due() == 3
    fired = _firings(database_url)[1:]
    assert sorted(fired) == [("acme", story, ids[0]), ("acme-bad-press", story, ids[0])]

    theirs = _finished_job(archiving_store, entities=[("Acme", 0.0)], tenant="bob")
    assert archiver.archive_due() == 1
    with psycopg.connect(database_url) as conn:
        bob_fired = conn.execute(
            "SELECT f.job_id, a.tenant FROM alert_firings f JOIN alerts a ON a.id = f.alert_id "
            "WHERE f.tenant = 'bob'"
        ).fetchall()
    assert [(job_id.hex, tenant) for job_id, tenant in bob_fired] == [(theirs, "bob")]
    # and each tenant sees its own alerts only
    names = [a["name"] for a in client.get("/v1/alerts", headers=ALICE).get_json()["alerts"]]
    assert names == ["acme", "acme-bad-press"]
    assert client.get("/v1/alerts/acme-bad-press", headers=BOB).status_code == 404
    assert client.delete("/v1/alerts/acme-bad-press", headers=BOB).status_code == 404
    assert client.get("/v1/alerts/acme-bad-press", headers=ALICE).status_code == 200
    # the firings went to Redis, each once, with their events in the alerts' streams
    stream = f"copydesk:alertevents:{client.get('/v1/alerts/acme', headers=ALICE).get_json()['id']}"
    assert redis_client.xlen(stream) == 2


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    [
        ("-bad", {}, 422, "validation_failed"),
        ("ok", {"filters": {"entity": None}}, 422, "validation_failed"),
        ("ok", {"filters": {"sentiment_min": "0.5"}}, 422, "validation_failed"),
        ("ok", {"filters": {"since": "2026-01-01T00:00:00Z"}}, 422, "validation_failed"),
        ("ok", {"conditions": {"story_size": {"articles": 1}}}, 422, "validation_failed"),
        ("ok", {"conditions": {"entity_sentiment": [{"entity": "A", "below": -1}] * 9}},
         422, "validation_failed"),
        ("ok", {"webhook": {"url": "ftp://example.org/x"}}, 422, "validation_failed"),
        ("ok", {"webhook": {"url": "http://10.1.2.3/x"}}, 422, "webhook_refused"),
        ("ok", {"filters": {"text": "x" * 70_000}}, 413, "body_too_large"),
        # a job's ref is at most 200 characters: a longer one could never match, and 1,000
        # emoji passed PostgreSQL's index row size (a 503 the client would retry for ever)
        ("ok", {"filters": {"ref": "\U0001f600" * 201}}, 422, "validation_failed"),
    ],
)  # fmt: skip
def test_bad_alerts_are_refused_with_their_codes(
    alerting, make_client, name: str, body: dict[str, Any], status: int, code: str
) -> None:  # noqa: ANN001
    answer = _put(make_client(alerting), name, body)
    assert (answer.status_code, answer.get_json()["code"]) == (status, code), answer.get_json()
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_bounds_are_409_with_their_codes_and_unknown_alerts_404(alerting, make_client) -> None:  # noqa: ANN001
    tight = alerting.model_copy(
        update={"alerts_max": 3, "alerts_max_on_term": 1, "alerts_max_broad": 1}
    )
    client = make_client(tight)
    assert _put(client, "broad", {"filters": {"text": "storm"}}).status_code == 201
    assert (
        _put(client, "broad", {"filters": {"sentiment_max": -0.5}}).status_code == 200
    )  # replaced
    refused = _put(client, "broad-2", {"filters": {"language": "en"}})
    assert (refused.status_code, refused.get_json()["code"]) == (409, "too_many_broad_alerts")
    assert _put(client, "acme", {"filters": {"entity": "Acme"}}).status_code == 201
    refused = _put(
        client, "acme-2", {"conditions": {"entity_sentiment": [{"entity": "Acme", "below": 0}]}}
    )
    assert (refused.status_code, refused.get_json()["code"]) == (409, "too_many_alerts_on_term")
    assert _put(client, "globex", {"filters": {"entity": "Globex"}}).status_code == 201
    refused = _put(client, "initech", {"filters": {"entity": "Initech"}})
    assert (refused.status_code, refused.get_json()["code"]) == (409, "too_many_alerts")
    assert _put(client, "initech", {"filters": {"entity": "Initech"}}, BOB).status_code == 201
    assert client.delete("/v1/alerts/globex", headers=ALICE).status_code == 204
    assert _put(client, "initech", {"filters": {"entity": "Initech"}}).status_code == 201
    for path in ("/v1/alerts/globex", "/v1/alerts/-x"):
        missing = client.get(path, headers=ALICE)
        assert (missing.status_code, missing.get_json()["code"]) == (404, "alert_not_found")
    page = client.get("/v1/alerts?limit=2", headers=ALICE).get_json()
    assert [a["name"] for a in page["alerts"]] == ["acme", "broad"] and "after=broad" in page[
        "next"
    ]
    rest = client.get(page["next"], headers=ALICE).get_json()
    assert [a["name"] for a in rest["alerts"]] == ["initech"] and "next" not in rest


def test_without_an_archive_alerts_answer_archive_off(settings, make_client) -> None:  # noqa: ANN001
    answer = make_client(settings).put("/v1/alerts/x", json={})
    assert (answer.status_code, answer.get_json()["code"]) == (503, "archive_off")


def test_an_alerts_events_stream_as_server_sent_events_resumable_and_per_tenant(
    alerting, archiving_store, archive, make_client
) -> None:  # noqa: ANN001
    streaming = alerting.model_copy(update={"sse_max_seconds": 5, "sse_keepalive_seconds": 1})
    client = make_client(streaming)
    assert _put(client, "acme", {"filters": {"entity": "Acme"}}).status_code == 201
    archiver = Archiver(store=archiving_store, archive=archive, settings=alerting)
    archiver.maintain(force=True)
    fired = [_finished_job(archiving_store, entities=[("Acme", 0.0)]) for _ in range(2)]
    assert archiver.archive_due() == 2

    def events(headers: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
        answer = client.get("/v1/alerts/acme/events", headers=headers)
        assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
        found = []
        for block in answer.get_data(as_text=True).split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if fields.get("event") == "alert.fired":
                found.append((fields["id"], json.loads(fields["data"])))
        return found

    both = events(ALICE)
    assert [e["data"]["article"]["id"] for _, e in both] == fired
    assert {e["type"] for _, e in both} == {"alert.fired"}
    later = events(ALICE | {"Last-Event-ID": both[0][0]})
    assert [e["data"]["article"]["id"] for _, e in later] == fired[1:]
    assert client.get("/v1/alerts/acme/events", headers=BOB).status_code == 404
    bad = client.get("/v1/alerts/acme/events", headers=ALICE | {"Last-Event-ID": "nope"})
    assert (bad.status_code, bad.get_json()["code"]) == (422, "validation_failed")


def test_a_firings_delivery_is_logged_and_sent_again_under_the_same_id(
    alerting, archiving_store, archive, make_client, dispatch, receiver
) -> None:  # noqa: ANN001
    client = make_client(alerting)
    hook = {"url": receiver.url, "secret": SECRET}
    assert _put(client, "acme", {"filters": {"entity": "Acme"}, "webhook": hook}).status_code == 201
    archiver = Archiver(store=archiving_store, archive=archive, settings=alerting)
    archiver.maintain(force=True)
    dispatch(alerting, archiver=False)
    job_id = _finished_job(archiving_store, entities=[("Acme", 0.0)])
    assert archiver.archive_due() == 1
    wait_for(lambda: len(receiver.requests) == 1, timeout=30)

    def delivered() -> dict[str, Any] | None:
        page = client.get("/v1/alerts/acme/deliveries", headers=ALICE).get_json()
        [one] = page["deliveries"]
        return one if one["webhook"]["state"] == "delivered" else None

    delivery = wait_for(delivered, timeout=30)
    assert delivery["article_id"] == job_id and delivery["story"] is None
    assert [a["status"] for a in delivery["attempts"]] == [204]
    again = client.post(
        f"/v1/alerts/acme/deliveries/{delivery['delivery_id']}/redeliver", headers=ALICE
    )
    assert again.status_code == 202, again.get_json()
    wait_for(lambda: len(receiver.requests) == 2, timeout=30)
    assert receiver.ids() == [delivery["delivery_id"]] * 2
    for _, headers, body in receiver.requests:
        assert Webhook(SECRET).verify(body, headers)["data"]["article"]["id"] == job_id
    for wrong in ("msg_alert_" + "0" * 32, "nope"):
        missing = client.post(f"/v1/alerts/acme/deliveries/{wrong}/redeliver", headers=ALICE)
        assert (missing.status_code, missing.get_json()["code"]) == (404, "delivery_not_found")
    theirs = client.get("/v1/alerts/acme/deliveries", headers=BOB)
    assert (theirs.status_code, theirs.get_json()["code"]) == (404, "alert_not_found")


def test_a_whole_number_written_with_a_fraction_is_a_size_as_json_schema_reads_it(
    alerting, make_client
) -> None:  # noqa: ANN001
    body = {"conditions": {"story_size": {"articles": 86.0, "within_seconds": 600.0}}}
    answer = _put(make_client(alerting), "big-story", body)  # schemathesis found 86.0 refused
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["conditions"]["story_size"] == {"articles": 86, "within_seconds": 600}
