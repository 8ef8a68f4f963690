"""The stories analysis's tables: find an article's candidates, register it, keep its story.

The schema is in ``migrations/versions/0002_duplicates.py``. Every lookup is an index read
with a LIMIT from the settings: exact copies by (tenant, text hash), near-copies by (tenant,
band, hash) per LSH band, rewrites and story neighbours by the hnsw index's nearest vectors
(pgvector's iterative scan, bounded by ``max_scan``). Nothing scans the tables.

One transaction per article, under an advisory lock of its tenant: two near-copies that
arrive together are decided one after the other, so the second always finds the first and
both name the same original (the earliest by creation time). The lock is per tenant rather
than per band because a story is joined through rewrites and vectors too, which no band
names; the transaction is a few index reads and writes, so a tenant's articles still pass
hundreds a second.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from copydesk.archive.articles import Archive

LOCK = 7_240_021  # the advisory lock class of the stories analysis (one key per tenant)
DIMS = 384  # the dimension the vector index covers (MiniLM's); others are found by bands only
TRIM = 200  # expired rows each registration deletes at most (bands: 32 an article)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An earlier-registered article that may duplicate the one being analysed."""

    job_id: str
    created_at: datetime
    text_hash: bytes
    signature: bytes
    shingles: int
    words: int
    entities: list[str]
    story_id: str
    cosine: float | None = None


@dataclass(slots=True)
class Story:
    """A story as its row holds it (``centroid`` a unit vector, or None)."""

    id: str
    first_seen: datetime
    last_seen: datetime
    size: int
    representative: str
    title: str | None
    centroid: list[float] | None
    entities: dict[str, Any] = field(default_factory=dict)
    topics: dict[str, int] = field(default_factory=dict)
    sentiment: list[dict[str, Any]] = field(default_factory=list)
    encoder: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    """The article's row in ``story_articles``."""

    tenant: str
    job_id: str
    created_at: datetime
    text_hash: bytes
    signature: bytes
    shingles: int
    words: int
    entities: list[str]
    encoder: str | None
    embedding: list[float] | None
    story_id: str
    original_id: str | None
    sentiment: float | None
    title: str | None
    result: dict[str, Any]


def vector(values: Sequence[float] | None) -> str | None:
    return "[" + ",".join(f"{x:.6f}" for x in values) + "]" if values is not None else None


class Session:
    """The reads and writes of one article, inside its tenant's locked transaction."""

    def __init__(self, conn: psycopg.Connection, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    def registered(self, job_id: str) -> dict[str, Any] | None:
        """The result given when this job was registered before (a second delivery)."""
        row = self.conn.execute(
            "SELECT result FROM story_articles WHERE tenant = %s AND job_id = %s",
            (self.tenant, job_id),
        ).fetchone()
        return row[0] if row else None

    def exact(self, text_hash: bytes, *, since: datetime, limit: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT job_id FROM story_articles WHERE tenant = %s AND text_hash = %s "
            "AND created_at >= %s ORDER BY created_at LIMIT %s",
            (self.tenant, text_hash, since, limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def banded(
        self, hashes: Sequence[int], *, since: datetime, per_band: int, limit: int
    ) -> list[str]:
        """Articles sharing a band hash, most bands shared first; each band reads at most
        ``per_band`` rows (the earliest), so a hash many articles share costs no more."""
        rows = self.conn.execute(
            """
            SELECT m.job_id, count(*) AS shared, min(m.created_at) AS created
            FROM unnest(%s::smallint[], %s::bigint[]) AS q(band, hash)
            CROSS JOIN LATERAL (
              SELECT b.job_id, b.created_at FROM duplicate_bands b
              WHERE b.tenant = %s AND b.band = q.band AND b.hash = q.hash
                AND b.created_at >= %s
              ORDER BY b.created_at LIMIT %s
            ) m
            GROUP BY m.job_id ORDER BY shared DESC, created LIMIT %s
            """,
            (list(range(len(hashes))), list(hashes), self.tenant, since, per_band, limit),
        ).fetchall()
        return [str(row[0]) for row in rows]

    def nearest(
        self, embedding: Sequence[float], *, since: datetime, limit: int, max_scan: int
    ) -> list[tuple[str, float]]:
        """The ``limit`` nearest articles of the window by document vector, with cosines."""
        if len(embedding) != DIMS:
            return []
        self.conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        self.conn.execute(f"SET LOCAL hnsw.max_scan_tuples = {int(max_scan)}")
        self.conn.execute(f"SET LOCAL hnsw.ef_search = {max(40, int(limit))}")
        rows = self.conn.execute(
            f"""
            SELECT job_id, 1 - (embedding::halfvec({DIMS}) <=> %s::halfvec({DIMS})) AS cosine
            FROM story_articles
            WHERE tenant = %s AND dims = {DIMS} AND created_at >= %s
            ORDER BY embedding::halfvec({DIMS}) <=> %s::halfvec({DIMS}) LIMIT %s
            """,
            (vector(embedding), self.tenant, since, vector(embedding), limit),
        ).fetchall()
        return [(str(row[0]), float(row[1])) for row in rows]

    def candidates(
        self, job_ids: Sequence[str], *, embedding: Sequence[float] | None
    ) -> list[Candidate]:
        """The rows of ``job_ids``, with their cosine to ``embedding`` when both have one."""
        if not job_ids:
            return []
        query = vector(embedding)
        rows = self.conn.execute(
            """
            SELECT job_id, created_at, text_hash, signature, shingles, words, entities,
                   story_id,
                   CASE WHEN %s::vector IS NOT NULL AND dims = vector_dims(%s::vector)
                        THEN 1 - (embedding <=> %s::vector) END
            FROM story_articles WHERE tenant = %s AND job_id = ANY(%s::uuid[])
            """,
            (query, query, query, self.tenant, list(job_ids)),
        ).fetchall()
        return [
            Candidate(
                str(r[0]),
                r[1],
                bytes(r[2]),
                bytes(r[3]),
                r[4],
                r[5],
                list(r[6]),
                str(r[7]),
                float(r[8]) if r[8] is not None else None,
            )  # fmt: skip
            for r in rows
        ]

    def stories(self, ids: Sequence[str], *, since: datetime) -> list[Story]:
        """The open stories among ``ids``: seen within the window."""
        if not ids:
            return []
        rows = self.conn.execute(
            """
            SELECT id, first_seen, last_seen, size, representative, title, centroid::text,
                   entities, topics, sentiment, encoder
            FROM stories WHERE tenant = %s AND id = ANY(%s::uuid[]) AND last_seen >= %s
            """,
            (self.tenant, list(ids), since),
        ).fetchall()
        return [
            Story(
                str(r[0]),
                r[1],
                r[2],
                r[3],
                str(r[4]),
                r[5],
                [float(x) for x in r[6].strip("[]").split(",")] if r[6] else None,
                r[7],
                r[8],
                r[9],
                r[10],
            )  # fmt: skip
            for r in rows
        ]

    def save_story(self, story: Story, *, dims: int | None) -> None:
        self.conn.execute(
            """
            INSERT INTO stories (tenant, id, first_seen, last_seen, size, representative,
                                 title, encoder, dims, centroid, entities, topics, sentiment)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector, %s, %s, %s)
            ON CONFLICT (tenant, id) DO UPDATE SET
              first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen,
              size = EXCLUDED.size, representative = EXCLUDED.representative,
              title = EXCLUDED.title, encoder = EXCLUDED.encoder, dims = EXCLUDED.dims,
              centroid = EXCLUDED.centroid, entities = EXCLUDED.entities,
              topics = EXCLUDED.topics, sentiment = EXCLUDED.sentiment, updated_at = now()
            """,
            (
                self.tenant,
                story.id,
                story.first_seen,
                story.last_seen,
                story.size,
                story.representative,
                story.title,
                story.encoder if dims else None,
                dims,
                vector(story.centroid),
                Jsonb(story.entities),
                Jsonb(story.topics),
                Jsonb(story.sentiment),
            ),  # fmt: skip
        )

    def register(self, row: Registration, *, bands: Sequence[int]) -> None:
        """Add the article and its bands (a second delivery finds it and changes nothing)."""
        dims = len(row.embedding) if row.embedding is not None else None
        self.conn.execute(
            """
            INSERT INTO story_articles (tenant, job_id, created_at, text_hash, signature,
              shingles, words, entities, encoder, dims, embedding, story_id, original_id,
              sentiment, title, result)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::vector, %s, %s, %s, %s, %s)
            ON CONFLICT (tenant, job_id) DO NOTHING
            """,
            (
                row.tenant,
                row.job_id,
                row.created_at,
                row.text_hash,
                row.signature,
                row.shingles,
                row.words,
                row.entities,
                row.encoder if dims else None,
                dims,
                vector(row.embedding),
                row.story_id,
                row.original_id,
                row.sentiment,
                row.title,
                Jsonb(row.result),
            ),  # fmt: skip
        )
        with self.conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO duplicate_bands (tenant, band, hash, created_at, job_id) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(row.tenant, b, h, row.created_at, row.job_id) for b, h in enumerate(bands)],
            )

    def trim(self, *, bands_before: datetime, articles_before: datetime) -> None:
        """Delete a few rows past their time (bands: the window; articles: the retention),
        oldest first through the time indexes: each registration pays for its own.

        The rows are any tenant's, deleted inside this tenant's locked transaction, so a
        row another registration is deleting (or a story it is saving) is skipped (``SKIP
        LOCKED``), not waited for: two tenants' registrations never queue on each other's
        rows nor deadlock, and the second deletes the next expired rows instead. Trimming
        here rather than in the archiver's hourly upkeep keeps each table bounded at the
        rate it grows (a registration adds 32 bands, an article and at most a story, and
        deletes up to 200 bands, 10 articles and 10 stories), at a cost bounded per
        registration.
        """
        for table, column, before, most in (
            ("duplicate_bands", "created_at", bands_before, TRIM),
            ("story_articles", "created_at", articles_before, TRIM // 20),
            ("stories", "last_seen", articles_before, TRIM // 20),
        ):
            self.conn.execute(
                f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} "
                f"WHERE {column} < %s ORDER BY {column} LIMIT %s FOR UPDATE SKIP LOCKED))",
                (before, most),
            )


class StoryIndex:
    """The stories tables on the archive's database (one connection per process)."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.archive = Archive(url, timeout=timeout)

    @contextmanager
    def session(self, tenant: str) -> Iterator[Session]:
        """A transaction holding ``tenant``'s lock until it commits or rolls back."""
        with self.archive.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK, tenant))
            yield Session(conn, tenant)

    def close(self) -> None:
        self.archive.close()
