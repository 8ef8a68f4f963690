"""Measure search p99 and the archive's write rate at 10,000 and 1,000,000 archived articles.

How the articles are made: real BBC News stories (``bench/topics_data.py`` ``bbc_sample``,
--per-section of each of its five sections) are analysed once in-process by copydesk itself
(``LocalPipeline``: sentiment, topics, entities), and what the archiver keeps of each comes
from the archiver's own ``searched`` (the score, the topic labels, the entities with their
salience and sentiment). Each archived article is then one of those real articles, with its
real title, the first --chars characters of its real text and its real entity set (the
--entities most salient), re-dated uniformly over the 12 months before now and given to one
of --tenants tenants; the probes ask as the open tenant (``public``), one of them. Rows
are inserted with COPY (``cursor.copy``), 50,000 a statement, into the real schema (the
migrations at head: partitioned ``archived_jobs`` with its generated tsvector, and
``archived_entities``), indexes in place as in production; then ANALYZE and VACUUM (so the
entity counts read the visibility map, as autovacuum keeps it). The stored document is the
listing's fields, not every result, to keep the disk in bounds (about 6 GB at 1 M).

In one run, on an embedded PostgreSQL of its own (fsync off, data under a temporary folder):
1. the write rate: --write-rows rows through ``Archive.write`` (the archiver's transaction:
   the upsert and the entities, 100 rows a batch, as ``archiver.BATCH``), rows per second;
2. at each size (10,000 then 1,000,000 archived articles), through the real intake app (its
   WSGI app in-process, a real Redis for the listing's live half), --probes requests of
   each probe, one at a time: GET /v1/articles by an entity and a 30-day range, by text and a
   30-day range, GET /v1/jobs (first page, and a page from a cursor a random month back),
   GET /v1/entities (7 days), in --rounds rounds of --probes requests: p50, the median of
   the rounds' p99s (one busy moment of a shared box cannot decide it) and each round's
   p99, in ms; and the ratio of p99 at 1 M to 10 k;
3. EXPLAIN of each probe's queries at 1 M: no sequential scan.
PASS lines: entity + time p99 < 100 ms at 1 M; every probe's plan index-backed.
No story listing: the stories tables belong to the stories analysis (its own bench).

    .venv/bin/python bench/search.py [--sizes 10000,1000000] [--probes 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from topics_data import bbc_sample

from copydesk.archive import migrate
from copydesk.archive.archiver import searched
from copydesk.archive.articles import Archive, EntityRow, Row, month_start
from copydesk.archive.search import ArchiveSearch, ArticleFilters
from copydesk.core.names import OPEN_TENANT

OPEN = OPEN_TENANT  # the probes' tenant (the bench's intake has no API keys)
CEILING_MS = 100.0
COPY_CHUNK = 50_000
WORDS_SKIPPED = {"the", "and", "for", "with", "from", "that", "this", "over", "into", "after"}


@dataclass(frozen=True, slots=True)
class Source:
    """One real article as the archive keeps it, before it is dated and given a tenant."""

    title: str
    text: str
    sentiment: float | None
    topics: list[str] | None
    entities: tuple[EntityRow, ...]


def analysed(*, per_section: int, chars: int, entities: int) -> list[Source]:
    """The BBC sample, analysed once by copydesk itself."""
    from copydesk.core.schemas import JobRequest
    from copydesk.core.settings import Settings
    from copydesk.workers.local import LocalPipeline

    pipeline = LocalPipeline(Settings())
    pipeline.warm_up()
    sources = []
    for article in bbc_sample(split="all", per_section=per_section):
        request = JobRequest.model_validate(
            {
                "article": {"title": article.title, "text": article.body, "language": "en"},
                "analyses": ["sentiment", "topics", "entities"],
            }
        )
        job = pipeline.run(request, job_id=uuid.uuid4().hex)
        kept = searched(job["results"])
        sources.append(
            Source(
                title=article.title,
                text=article.body[:chars],
                sentiment=kept["sentiment"],
                topics=kept["topics"],
                entities=kept["entities"][:entities],
            )
        )
    return sources


def document(job_id: str, created: datetime, source: Source) -> str:
    import json

    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {
            "id": job_id, "status": "succeeded", "created_at": stamp, "updated_at": stamp,
            "completed_at": stamp,
            "article": {"title": source.title, "ref": None, "language": "en"},
            "links": {"self": f"/v1/jobs/{job_id}", "text": f"/v1/jobs/{job_id}/text"},
        }
    )  # fmt: skip


def fill(url: str, sources: list[Source], *, count: int, tenants: int, rng: random.Random) -> None:
    """COPY ``count`` more archived articles, re-dated over the last 12 months."""
    now = datetime.now(UTC)
    span = 365 * 86_400
    names = [OPEN] + [f"tenant-{i}" for i in range(1, tenants)]
    jobs_sql = (
        "COPY archived_jobs (tenant, job_id, created_at, finished_at, status, language, title, "
        "analyses, document, text, sentiment, topics) FROM STDIN"
    )
    entities_sql = (
        "COPY archived_entities (tenant, job_id, created_at, name, type, salience, sentiment) "
        "FROM STDIN"
    )
    done = 0
    with psycopg.connect(url) as conn:
        while done < count:
            chunk = min(COPY_CHUNK, count - done)
            rows, entity_rows = [], []
            for _ in range(chunk):
                source = rng.choice(sources)
                job_id = uuid.uuid4().hex
                created = now - timedelta(seconds=rng.random() * span)
                tenant = rng.choice(names)
                rows.append(
                    (tenant, job_id, created, created, "succeeded", "en", source.title,
                     ["sentiment", "topics", "entities"], document(job_id, created, source),
                     source.text, source.sentiment, source.topics)
                )  # fmt: skip
                entity_rows += [
                    (tenant, job_id, created, e.name, e.type, e.salience, e.sentiment)
                    for e in source.entities
                ]
            with conn.cursor() as cursor:
                with cursor.copy(jobs_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                with cursor.copy(entities_sql) as copy:
                    for row in entity_rows:
                        copy.write_row(row)
            conn.commit()
            done += chunk
            print(f"  {done:,}/{count:,} rows copied", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE archived_jobs")
        conn.execute("VACUUM ANALYZE archived_entities")


def write_rate(archive: Archive, sources: list[Source], *, rows: int, rng: random.Random) -> float:
    """Rows per second through the archiver's write path (100 a transaction)."""
    now = datetime.now(UTC)
    made = []
    for _ in range(rows):
        source = rng.choice(sources)
        job_id = uuid.uuid4().hex
        created = now - timedelta(seconds=rng.random() * 86_400)
        made.append(
            Row(
                tenant="writer", job_id=job_id, created_at=created, finished_at=created,
                status="succeeded", ref=None, language="en", title=source.title,
                analyses=["sentiment", "topics", "entities"],
                document={"id": job_id, "status": "succeeded"}, text=source.text,
                sentiment=source.sentiment, topics=source.topics, entities=source.entities,
            )
        )  # fmt: skip
    began = time.perf_counter()
    for start in range(0, rows, 100):
        archive.write(made[start : start + 100])
    return rows / (time.perf_counter() - began)


def probes(sources: list[Source], rng: random.Random, *, count: int) -> dict[str, list[str]]:
    """The requests of each probe: random entities (as often as articles name them), random
    title words, random windows of the last 12 months."""
    now = datetime.now(UTC)
    named = [e.name for s in sources for e in s.entities]
    words = [
        w.lower()
        for s in sources
        for w in s.title.split()
        if w.isalpha() and len(w) > 3 and w.lower() not in WORDS_SKIPPED
    ]

    def window(days: int) -> dict[str, str]:
        until = now - timedelta(days=rng.random() * (365 - days))
        since = until - timedelta(days=days)
        return {"since": _stamp(since), "until": _stamp(until)}

    def back() -> str:
        moment = now - timedelta(days=rng.random() * 330)
        return f"{int(moment.timestamp() * 1_000_000)}-{'f' * 32}"

    return {
        "entity + 30 days": [
            "/v1/articles?" + urlencode({"entity": rng.choice(named), **window(30)})
            for _ in range(count)
        ],
        "text + 30 days": [
            "/v1/articles?" + urlencode({"text": rng.choice(words), **window(30)})
            for _ in range(count)
        ],
        "jobs first page": ["/v1/jobs?limit=20"] * count,
        "jobs page by cursor": [
            "/v1/jobs?" + urlencode({"limit": 20, "cursor": back()}) for _ in range(count)
        ],
        "entities 7 days": [
            "/v1/entities?" + urlencode({"until": window(7)["until"]}) for _ in range(count)
        ],
    }


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def measure(client: Any, paths: list[str]) -> tuple[float, float]:
    """p50 and p99 in ms of ``paths``, one request at a time."""
    times = []
    for path in paths:
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.get_json())
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


def plans(url: str, sources: list[Source], rng: random.Random) -> dict[str, str]:
    """EXPLAIN of what each probe's search runs, with the same SQL the routes build."""
    now = datetime.now(UTC)
    since, until = now - timedelta(days=60), now - timedelta(days=30)
    named = rng.choice([e.name for s in sources for e in s.entities])
    word = rng.choice([w for s in sources for w in s.title.split() if len(w) > 4])
    captured: dict[str, str] = {}

    class Explaining(ArchiveSearch):
        label = ""

        def _rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
            with self.archive.connection() as conn:
                plan = conn.execute("EXPLAIN " + sql, params).fetchall()
                captured[f"{self.label} #{len(captured) + 1}"] = "\n".join(r[0] for r in plan)
                return conn.execute(sql, params).fetchall()

    archive = Archive(url)
    search = Explaining(archive, timeout_ms=10_000)
    cursor = (int((now - timedelta(days=100)).timestamp() * 1_000_000), "f" * 32)
    for label, run in (
        ("entity + time", lambda: search.articles(tenant=OPEN, filters=ArticleFilters(
            entity=named, since=since, until=until), limit=20, before=None)),
        ("text + time", lambda: search.articles(tenant=OPEN, filters=ArticleFilters(
            text=word, since=since, until=until), limit=20, before=None)),
        ("jobs page", lambda: search.listing(tenant=OPEN, limit=21, before=cursor)),
        ("entities", lambda: search.top_entities(
            tenant=OPEN, since=now - timedelta(days=7), until=now, entity_type=None, limit=20)),
    ):  # fmt: skip
        search.label = label
        run()
    archive.close()
    return captured


def scans(plan: str) -> list[str]:
    """The plan's sequential scans of a table with rows (an empty partition, a month still
    to come, costs 0.00..0.00 and is read whole by any plan)."""
    return [line for line in plan.splitlines() if "Seq Scan" in line and "0.00..0.00" not in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--probes", type=int, default=200, help="requests a probe a round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-section", type=int, default=60, help="BBC stories a section")
    parser.add_argument("--chars", type=int, default=1000, help="characters of text kept")
    parser.add_argument("--entities", type=int, default=8, help="entities kept an article")
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--write-rows", type=int, default=5000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    rng = random.Random(20)

    from copydesk.core.settings import Settings
    from copydesk.devstack.postgres_server import PostgresServer
    from copydesk.devstack.redis_server import RedisServer
    from copydesk.intake import create_app

    began = time.perf_counter()
    sources = analysed(per_section=args.per_section, chars=args.chars, entities=args.entities)
    print(f"{len(sources)} BBC articles analysed in {time.perf_counter() - began:.0f} s; "
          f"{statistics.mean(len(s.entities) for s in sources):.1f} entities each kept")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="copydesk-search-bench-"))
    postgres = PostgresServer(data_dir=folder / "postgres", fsync=False).start()
    redis_server = RedisServer(data_dir=folder / "redis", appendonly=False).start()
    failed = False
    try:
        url = postgres.url
        migrate.upgrade(url)
        archive = Archive(url)
        now = datetime.now(UTC)
        for months in range(-13, 2):
            archive.ensure_partition(month_start(now, months))
        rate = write_rate(archive, sources, rows=args.write_rows, rng=rng)
        print(f"archive write rate: {rate:,.0f} rows/s through Archive.write "
              f"({args.write_rows:,} rows, 100 a transaction, with their entities)")  # fmt: skip
        app = create_app(Settings(redis_url=redis_server.url, database_url=url))
        client = app.test_client()
        results: dict[int, dict[str, tuple[float, float]]] = {}
        have = args.write_rows
        for size in sizes:
            step = time.perf_counter()
            fill(url, sources, count=size - have, tenants=args.tenants, rng=rng)
            have = size
            print(f"{size:,} archived articles: filled in {time.perf_counter() - step:.0f} s")
            results[size] = {}
            for name, paths in probes(sources, rng, count=args.probes * args.rounds).items():
                measure(client, paths[:10])  # warm the caches of this size first
                rounds = [
                    measure(client, paths[r * args.probes : (r + 1) * args.probes])
                    for r in range(args.rounds)
                ]
                p50 = statistics.median(r[0] for r in rounds)
                p99 = statistics.median(r[1] for r in rounds)
                results[size][name] = (p50, p99)
                each = " ".join(f"{r[1]:.0f}" for r in rounds)
                print(f"  {name:22s} p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  (rounds' p99: {each})")
        small, large = sizes[0], sizes[-1]
        print(f"\np99 at {large:,} against {small:,} (same run):")
        for name, (_, p99) in results[large].items():
            print(f"  {name:22s} {p99:7.1f} ms / {results[small][name][1]:6.1f} ms = "
                  f"{p99 / results[small][name][1]:.2f}x")  # fmt: skip
        entity_p99 = results[large]["entity + 30 days"][1]
        verdict = "PASS" if entity_p99 < CEILING_MS else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{verdict}: entity + time range p99 {entity_p99:.1f} ms at {large:,} "
              f"(target < {CEILING_MS:.0f} ms)")  # fmt: skip
        for name, (_, p99) in results[large].items():
            print(f"  {'under' if p99 < CEILING_MS else 'OVER'} {CEILING_MS:.0f} ms: {name}")
        seq = {label: plan for label, plan in plans(url, sources, rng).items() if scans(plan)}
        verdict = "PASS" if not seq else "FAIL"
        failed |= bool(seq)
        print(f"{verdict}: every probe's plan reads indexes (no Seq Scan) at {large:,}")
        for label, plan in seq.items():
            print(f"  {label}: " + "; ".join(scans(plan)))
        with psycopg.connect(url) as conn:
            (size_bytes,) = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        print(f"database size: {size_bytes / 2**30:.1f} GiB")
        app.extensions["copydesk"].archive.close()
        archive.close()
    finally:
        redis_server.stop()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
