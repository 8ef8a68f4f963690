"""Keep the archive's monthly partitions: make the coming months, drop those past retention.

Archived jobs and their entities sit in monthly partitions by the job's creation time (the
schema is in ``migrations/``), so retention detaches and drops whole months and never scans or
bloats a table. Making or dropping a month locks the partitioned table, which every read and
write of the archive passes through: each lock wait here gives up after a bounded
``lock_timeout`` rather than queue the archive behind a long reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta

import psycopg

TABLE = "archived_jobs"
PARTITION = TABLE + "_p{:04d}{:02d}"  # archived_jobs_p202612: jobs created in December 2026
ENTITIES = "archived_entities"  # each job's entities, partitioned like its jobs
PARTITIONED = (TABLE, ENTITIES)
LOCK_TIMEOUT = 2.0  # seconds making or dropping a month waits for a lock before giving up


def month_start(moment: datetime, months: int = 0) -> datetime:
    """The first instant (UTC) of the month ``months`` after the one ``moment`` falls in."""
    index = moment.astimezone(UTC).year * 12 + moment.astimezone(UTC).month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


class PartitionBusy(psycopg.OperationalError):
    """Making a month's partition gave up waiting for the partitioned table's lock.

    Raised without a SQLSTATE, like a pool timeout: it is the database's state, not a row's
    fault, so the archiver holds the batch back and tries it again."""


class Partitions:
    """The partition upkeep of :class:`~copydesk.archive.articles.Archive`: a mixin over its
    ``url``, ``timeout`` and pooled ``connection()``."""

    url: str
    timeout: float
    connection: Callable[[], AbstractContextManager[psycopg.Connection]]

    def ensure_partition(self, moment: datetime, *, lock_timeout: float = LOCK_TIMEOUT) -> str:
        """Make the partitions (jobs and their entities) of the month ``moment`` falls in,
        unless they exist; returns the jobs' partition. Creating one locks the partitioned
        table: a wait past ``lock_timeout`` raises :class:`PartitionBusy`."""
        try:
            with self.connection() as conn:
                conn.execute(f"SET LOCAL lock_timeout = {max(1, int(lock_timeout * 1000))}")
                return _make_month(conn, moment)
        except psycopg.errors.LockNotAvailable as exc:
            raise PartitionBusy(
                f"the archive's month of {moment:%Y-%m} waited {lock_timeout:g} s for a lock"
            ) from exc

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
