"""The archived jobs in PostgreSQL: write them idempotently, read one back, keep the partitions.

One row per finished job, keyed by (tenant, job id, creation time): the archiver's upsert of
the same job twice, or of a job queued again after its webhook settled, leaves one row with
the latest document. Rows sit in monthly partitions by creation time (the schema is in
``migrations/``); the archiver makes the coming months ahead of time and retention detaches
and drops whole months, so deleting old jobs never scans or bloats the table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

TABLE = "archived_jobs"
PARTITION = TABLE + "_p{:04d}{:02d}"  # archived_jobs_p202612: jobs created in December 2026
ENTITIES = "archived_entities"  # each job's entities, partitioned like its jobs
PARTITIONED = (TABLE, ENTITIES)
COLUMNS = (
    "tenant", "job_id", "created_at", "finished_at", "status", "ref", "language", "title",
    "analyses", "document", "text", "encoder", "dims", "sentiment", "topics", "embedding",
)  # fmt: skip
# the vector a job's first archiving wrote stays when a later one has none: Redis frees the
# vectors once the first row committed, and a webhook settling after it archives the job again
KEPT = {
    c: f"CASE WHEN EXCLUDED.embedding IS NULL THEN {TABLE}.{c} ELSE EXCLUDED.{c} END"
    for c in ("encoder", "dims", "embedding")
}
UPSERT = f"""
INSERT INTO {TABLE} ({", ".join(COLUMNS)})
VALUES ({", ".join(["%s"] * (len(COLUMNS) - 1))}, %s::vector)
ON CONFLICT (tenant, job_id, created_at) DO UPDATE SET
  {", ".join(f"{c} = {KEPT.get(c, 'EXCLUDED.' + c)}" for c in COLUMNS[3:])}, archived_at = now()
"""
# a re-archive replaces the job's entities: its rows go, then its current ones come back
FORGET_ENTITIES = f"DELETE FROM {ENTITIES} WHERE tenant = %s AND created_at = %s AND job_id = %s"
ENTITY_COLUMNS = ("tenant", "job_id", "created_at", "name", "type", "salience", "sentiment")
ADD_ENTITY = (
    f"INSERT INTO {ENTITIES} ({', '.join(ENTITY_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(ENTITY_COLUMNS))})"
)


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One entity of an archived job: its canonical name and type, salience, own sentiment."""

    name: str
    type: str
    salience: float
    sentiment: float | None


@dataclass(frozen=True, slots=True)
class Row:
    """One finished job as the archive keeps it."""

    tenant: str
    job_id: str
    created_at: datetime
    finished_at: datetime | None
    status: str
    ref: str | None
    language: str | None
    title: str | None
    analyses: list[str]
    document: dict[str, Any]  # the job as GET /v1/jobs/{id} renders it
    text: str | None  # the analysed text, None when the job ended before it was prepared
    encoder: str | None = None
    embedding: list[float] | None = None  # the document's unit vector
    sentiment: float | None = None  # the sentiment analysis's score, when it succeeded
    topics: list[str] | None = None  # the topic labels its result lists, best first
    entities: tuple[EntityRow, ...] = ()  # its entities, most salient first

    def values(self) -> tuple[Any, ...]:
        dims = len(self.embedding) if self.embedding is not None else None
        vector = "[" + ",".join(map(repr, self.embedding)) + "]" if self.embedding else None
        return (
            self.tenant, self.job_id, self.created_at, self.finished_at, self.status,
            self.ref, self.language, self.title, self.analyses, Jsonb(self.document),
            self.text, self.encoder if dims else None, dims, self.sentiment, self.topics,
            vector,
        )  # fmt: skip

    def entity_values(self) -> list[tuple[Any, ...]]:
        return [
            (self.tenant, self.job_id, self.created_at, e.name, e.type, e.salience, e.sentiment)
            for e in self.entities
        ]


@dataclass(frozen=True, slots=True)
class Archived:
    """What a read of one archived job returns: its document and its analysed text."""

    document: dict[str, Any]
    text: str | None


def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 time as the job store writes it (``...Z``)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month ``months`` after the one ``moment`` falls in."""
    index = moment.astimezone(UTC).year * 12 + moment.astimezone(UTC).month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


LOCK_TIMEOUT = 2.0  # seconds retention waits for a lock before leaving the month to next time


class PoolTimeout(psycopg.OperationalError):
    """Every connection of the pool stayed busy for the archive's timeout."""


class Archive:
    """The archive database, on a bounded pool of connections opened as needed.

    Each block of work takes a connection of its own (at most ``pool_size`` at once; one more
    waits up to ``timeout`` for a free one, then raises :class:`PoolTimeout`), so one slow
    query holds one connection, not every reader of the process. Under gunicorn's threaded
    workers a read waiting on PostgreSQL holds only its own thread (libpq waits with the GIL
    released) and the process's other threads answer meanwhile. A connection PostgreSQL cut
    (``broken``: PostgreSQL away or restarted) is closed and the next use reconnects; one
    whose statement failed (a timeout, say) rolled back and is kept.
    """

    def __init__(self, url: str, *, timeout: float = 5.0, pool_size: int = 4) -> None:
        self.url = url
        self.timeout = timeout
        self.pool_size = pool_size
        self._idle: list[psycopg.Connection] = []
        self._slots = threading.BoundedSemaphore(pool_size)
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection of the pool, in a transaction that commits when the block ends."""
        if not self._slots.acquire(timeout=self.timeout):
            raise PoolTimeout(f"no archive connection free within {self.timeout:g} s")
        try:
            conn = self._take()
            try:
                with conn.transaction():
                    yield conn
            finally:
                self._give(conn)
        finally:
            self._slots.release()

    def _take(self) -> psycopg.Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
        return psycopg.connect(
            self.url,
            connect_timeout=max(1, int(self.timeout)),
            options=f"-c statement_timeout={int(self.timeout * 1000)}",
        )

    def _give(self, conn: psycopg.Connection) -> None:
        """Keep the connection for the next block, unless PostgreSQL cut it (``broken``) or
        it is left inside a transaction. A statement's own error (a search's timeout, a lock
        wait given up, a row refused) rolled back and left it sound: closing it would make
        every timed-out search cost the next one a new connection."""
        if conn.closed:
            return
        if conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.close()
            return
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def write(self, rows: list[Row]) -> None:
        """Upsert ``rows`` and replace their entities in one transaction, making a missing
        month's partitions on the way."""
        if not rows:
            return
        try:
            self._write(rows)
        except psycopg.errors.CheckViolation as exc:  # no partition holds a row's month
            if "no partition" not in str(exc):
                raise
            for row in rows:
                self.ensure_partition(row.created_at)
            self._write(rows)

    def _write(self, rows: list[Row]) -> None:
        with self.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(UPSERT, [row.values() for row in rows])
            cursor.executemany(
                FORGET_ENTITIES, [(row.tenant, row.created_at, row.job_id) for row in rows]
            )
            added = [values for row in rows for values in row.entity_values()]
            if added:
                cursor.executemany(ADD_ENTITY, added)

    def job(self, job_id: str, *, tenant: str) -> Archived | None:
        """The tenant's archived job (another tenant's is None, as if it did not exist)."""
        with self.connection() as conn:
            found = conn.execute(
                f"SELECT document, text FROM {TABLE} WHERE tenant = %s AND job_id = %s",
                (tenant, job_id),
            ).fetchone()
        return Archived(found[0], found[1]) if found else None

    def ensure_partition(self, moment: datetime) -> str:
        """Make the partitions (jobs and their entities) of the month ``moment`` falls in,
        unless they exist; returns the jobs' partition."""
        with self.connection() as conn:
            return _make_month(conn, moment)

    def partitions(self, table: str = TABLE) -> list[tuple[str, datetime]]:
        """Each partition of ``table`` with the first instant of its month, oldest first."""
        with self.connection() as conn:
            names = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass",
                (table,),
            ).fetchall()
        found = []
        for (name,) in names:
            stamp = name.removeprefix(table + "_p")
            if len(stamp) == 6 and stamp.isdigit():
                found.append((name, datetime(int(stamp[:4]), int(stamp[4:]), 1, tzinfo=UTC)))
        return sorted(found, key=lambda item: item[1])

    def maintain(
        self,
        *,
        retention_days: int,
        ahead: int = 2,
        now: datetime | None = None,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> list[str]:
        """Make this month's partition and ``ahead`` more; detach and drop each month that
        ended before the retention's horizon. Returns the jobs' partitions dropped (each
        month's entities go with its jobs).

        A plain DROP of a partition takes ACCESS EXCLUSIVE on the partitioned table: queued
        behind one long reader, it holds every read and write of the archive behind it. So a
        month is detached CONCURRENTLY (SHARE UPDATE EXCLUSIVE on the parent, which readers
        and writers pass; it then waits for the transactions that still see the month) and
        the detached table dropped alone. Each lock wait gives up after ``lock_timeout``
        (``LockNotAvailable``) and the month waits for the next run: a detach cut short stays
        pending, which that run finishes with FINALIZE. Making a month's partition locks the
        parent too, under the same timeout, but once a month and ``ahead`` months early.
        """
        now = now or datetime.now(UTC)
        horizon = self.horizon(retention_days, now=now)
        dropped = []
        with self._outside_transactions(lock_timeout=lock_timeout) as conn:
            for months in range(ahead + 1):
                _make_month(conn, month_start(now, months))
            for table in PARTITIONED:
                for name, start, state in _months(conn, table):
                    if month_start(start, 1) > horizon:
                        continue
                    if state == "pending":
                        conn.execute(f"ALTER TABLE {table} DETACH PARTITION {name} FINALIZE")
                    elif state == "attached":
                        conn.execute(f"ALTER TABLE {table} DETACH PARTITION {name} CONCURRENTLY")
                    conn.execute(f"DROP TABLE IF EXISTS {name}")
                    dropped += [name] if table == TABLE else []
        return dropped

    @contextmanager
    def _outside_transactions(self, *, lock_timeout: float) -> Iterator[psycopg.Connection]:
        """A connection of its own in autocommit (DETACH ... CONCURRENTLY refuses to run in
        a transaction block), whose lock waits give up after ``lock_timeout`` seconds."""
        with psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=max(1, int(self.timeout)),
            options=f"-c statement_timeout={int(self.timeout * 1000)} "
            f"-c lock_timeout={max(1, int(lock_timeout * 1000))}",
        ) as conn:
            yield conn

    @staticmethod
    def horizon(retention_days: int, *, now: datetime | None = None) -> datetime:
        """Jobs created before this are past the retention."""
        return (now or datetime.now(UTC)) - timedelta(days=retention_days)


def _make_month(conn: psycopg.Connection, moment: datetime) -> str:
    """Make the month's partitions of each partitioned table unless they exist (an existing
    one takes no lock); returns the jobs' partition."""
    start = month_start(moment)
    bounds = f"FROM ('{start.isoformat()}') TO ('{month_start(start, 1).isoformat()}')"
    for table in PARTITIONED:
        name = PARTITION.replace(TABLE, table, 1).format(start.year, start.month)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES {bounds}")
    return PARTITION.format(start.year, start.month)


def _months(conn: psycopg.Connection, table: str) -> list[tuple[str, datetime, str]]:
    """Each monthly table of ``table`` with its month and its state: ``attached``,
    ``pending`` (a detach cut short) or ``detached`` (a drop cut short), pending first:
    a partitioned table holds one pending detach at most and refuses another meanwhile."""
    rows = conn.execute(
        "SELECT c.relname, i.inhdetachpending FROM pg_class c "
        "LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = %s::regclass "
        "WHERE c.relkind = 'r' AND c.relname ~ %s AND pg_table_is_visible(c.oid)",
        (table, f"^{table}_p[0-9]{{6}}$"),
    ).fetchall()
    found = []
    for name, pending in rows:
        stamp = name.removeprefix(table + "_p")
        state = "detached" if pending is None else "pending" if pending else "attached"
        found.append((name, datetime(int(stamp[:4]), int(stamp[4:]), 1, tzinfo=UTC), state))
    return sorted(found, key=lambda item: (item[2] != "pending", item[1]))
