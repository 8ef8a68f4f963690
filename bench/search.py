"""Measure search and story p99 and the archive's write rate at 10,000 and 1,000,000 articles.

How the articles are made: real BBC News stories (``bench/topics_data.py`` ``bbc_sample``,
--per-section of each of its five sections) are analysed once in-process by copydesk itself
(``LocalPipeline``: sentiment, topics, entities), and what the archiver keeps of each comes
from the archiver's own ``searched`` (the score, the topic labels, the entities with their
salience and sentiment). Each archived article is then one of those real articles, with its
real title, the first --chars characters of its real text and its real entity set (the
--entities most salient), dated as its story says (below) and given to its story's tenant,
one of --tenants; the probes ask as the open tenant (``public``), one of them. The stored
document is the listing's fields, not every result, to keep the disk in bounds.

How the stories are made: every archived article belongs to one story of its tenant, whose
articles are real articles of one BBC section. Sizes are heavy-tailed: P(size = k) is
proportional to k^-2.4 up to 500 articles, so about 72 % of stories are one article, one in
45 has ten or more, and at 1 M (about 480,000 stories) some 350 have a hundred or more. A
story starts at a moment uniform over the last 12 months; each next article comes an
exponential gap later, 6 h / sqrt(size) on average (a big story is a burst: 500 articles in
under 6 days), never more than the stories window (7 days) after the one before, since the
analysis joins open stories only; a story that would run past now is moved back. Its rows
are what the stories analysis writes for an article without a document vector: the story is
folded article by article, oldest first, by the analysis's own ``join`` (size, first and
last seen; representative and title: its first article; the names of the full text by the
analysis's ``names``, top 5 an article; its first 3 topic labels; sentiment a day, here from
the archived score); each ``story_articles`` row holds the article's real MinHash signature,
text hash, words, entity keys and the result the analysis answers (``view`` of the story as
it then stood). Vectors, centroid, encoder and dims are NULL (the columns allow it: the
analysis writes that for a text it cannot embed; no read measured here touches a vector);
membership is drawn, not found, so no article names an original or duplicates, and no
``duplicate_bands`` rows are written (kept for the 7-day window only; no read uses them).

The fill: four COPY statements at once (``cursor.copy``, one connection a table:
``archived_jobs``, ``archived_entities``, ``story_articles``, ``stories``), each row made as
it is sent, so Python and PostgreSQL work side by side. The four tables' indexes and primary
keys are dropped before the COPY and built after it from their own definitions, in their
order of creation (maintenance_work_mem 1 GB), then VACUUM ANALYZE (the counts and the
size listing read the visibility map, as autovacuum keeps it). After each fill the indexes
and constraints (``pg_indexes``, ``pg_constraint``) must equal those of a database migrated
from empty with the same months: the probes read production's schema (the migrations at
head: partitioned ``archived_jobs`` with its generated tsvector, ``archived_entities``, the
stories tables). Copied into built indexes, the articles alone took 909 s at 1 M.

In one run, on an embedded PostgreSQL of its own (fsync off, data under a temporary folder):
1. the write rate: --write-rows rows through ``Archive.write`` (the archiver's transaction:
   the upsert and the entities, 100 rows a batch, as ``archiver.BATCH``), rows per second
   (tenant ``writer``, the last day; their stories are copied with the first fill);
2. at each size (10,000 then 1,000,000 archived articles), through the real intake app (its
   WSGI app in-process, a real Redis for the listing's live half), --probes requests of
   each probe, one at a time: GET /v1/articles by an entity and a 30-day range, by text and a
   30-day range, GET /v1/jobs (first page, and a page from a cursor a random month back),
   GET /v1/entities (7 days), GET /v1/stories by sort=recent, sort=size, sort=growth (the
   last 24 hours), a recent page from a cursor a random month back and a size page from a
   random story's place, and GET /v1/stories/{id} of a random article's story (its fields
   and first page of articles); in --rounds rounds of --probes requests: p50, the median of
   the rounds' p99s (one busy moment of a shared box cannot decide it) and each round's
   p99, in ms; and the ratio of p99 at 1 M to 10 k;
3. EXPLAIN of each probe's queries at 1 M: no sequential scan.
PASS lines: entity + time p99 < 100 ms at 1 M; story listing p99 < 100 ms at 1 M (every
sort and cursor page); every probe's plan index-backed; the schema equals production's.

    .venv/bin/python bench/search.py [--sizes 10000,1000000] [--probes 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg
from topics_data import bbc_sample

from copydesk.analyse.duplicates import Signature, entity_keys, signature
from copydesk.analyse.stories import names
from copydesk.analyse.stories_join import Article, join, view
from copydesk.archive import migrate
from copydesk.archive.archiver import searched
from copydesk.archive.articles import Archive, EntityRow, Row, month_start
from copydesk.archive.search import ArticleFilters, micros
from copydesk.archive.stories import Story
from copydesk.archive.stories_read import StoryRange, StoryReads
from copydesk.core.names import OPEN_TENANT

OPEN = OPEN_TENANT  # the probes' tenant (the bench's intake has no API keys)
CEILING_MS = 100.0
WORDS_SKIPPED = {"the", "and", "for", "with", "from", "that", "this", "over", "into", "after"}
TABLES = ("archived_jobs", "archived_entities", "story_articles", "stories")
ANALYSES = ["sentiment", "topics", "entities", "stories"]
SIZE_POWER, MOST = 2.4, 500  # story sizes: P(k) ~ k^-2.4, k <= 500
GAP_HOURS = 6.0  # mean hours between a story's articles, over sqrt(size)
WINDOW = timedelta(days=7)  # the stories analysis's default window (open stories)
YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Source:
    """One real article as the archive and the stories analysis keep it, before it is dated
    and given a tenant."""

    title: str
    text: str
    sentiment: float | None
    topics: list[str] | None
    entities: tuple[EntityRow, ...]
    section: str
    names: list[str]  # the stories analysis's names of the full text
    keys: list[str]  # their entity keys, as story_articles keeps them
    signature: Signature
    signature_bytes: bytes


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
        found = names(article.body)
        sig = signature(article.body)
        sources.append(
            Source(
                title=article.title,
                text=article.body[:chars],
                sentiment=kept["sentiment"],
                topics=kept["topics"],
                entities=kept["entities"][:entities],
                section=article.section,
                names=found,
                keys=entity_keys(found),
                signature=sig,
                signature_bytes=sig.to_bytes(),
            )
        )
    return sources


@dataclass(slots=True)
class Planned:
    """One story to copy: its tenant and its articles (source, job id, created), oldest
    first; the first names the story."""

    tenant: str
    members: list[tuple[Source, str, datetime]] = field(default_factory=list)


class Planner:
    """Stories of heavy-tailed sizes over the sources, dated within a span before now."""

    def __init__(self, sources: list[Source], rng: random.Random) -> None:
        self.rng = rng
        sections: dict[str, list[Source]] = {}
        for source in sources:
            sections.setdefault(source.section, []).append(source)
        self.sections = [sections[name] for name in sorted(sections)]
        weights = [k**-SIZE_POWER for k in range(1, MOST + 1)]
        self.cumulative = [sum(weights[: k + 1]) for k in range(MOST)]
        self.told: dict[str, list[tuple[str, int]]] = {}  # tenant: its stories (id, size)

    def stories(self, *, count: int, tenants: list[str], span: timedelta) -> Iterator[Planned]:
        """Stories of ``count`` articles in all, dated over ``span`` before now."""
        rng, now, done = self.rng, datetime.now(UTC), 0
        while done < count:
            size = min(rng.choices(range(1, MOST + 1), cum_weights=self.cumulative)[0],
                       count - done)  # fmt: skip
            section = rng.choice(self.sections)
            mean_gap = GAP_HOURS * 3600 / size**0.5
            times = [now - span * rng.random()]
            for _ in range(size - 1):
                gap = min(rng.expovariate(1 / mean_gap), WINDOW.total_seconds())
                times.append(times[-1] + timedelta(seconds=gap))
            late = times[-1] - now
            if late > timedelta(0):
                times = [t - late for t in times]
            planned = Planned(tenant=rng.choice(tenants))
            planned.members = [(rng.choice(section), uuid.uuid4().hex, t) for t in times]
            self.told.setdefault(planned.tenant, []).append((planned.members[0][1], size))
            done += size
            yield planned


def document(job_id: str, created: datetime, source: Source) -> str:
    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {
            "id": job_id, "status": "succeeded", "created_at": stamp, "updated_at": stamp,
            "completed_at": stamp,
            "article": {"title": source.title, "ref": None, "language": "en"},
            "links": {"self": f"/v1/jobs/{job_id}", "text": f"/v1/jobs/{job_id}/text"},
        }
    )  # fmt: skip


def story_rows(planned: Planned) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The story's ``story_articles`` rows and its ``stories`` row, folded by the stories
    analysis's own ``join`` article by article, as it registers them."""
    tenant, story, rows = planned.tenant, None, []
    for source, job_id, created in planned.members:
        if story is None:  # the first article opens the story, named after itself
            story = Story(id=job_id, first_seen=created, last_seen=created, size=0,
                          representative=job_id, title=source.title, centroid=None)  # fmt: skip
        article = Article(
            tenant=tenant, job_id=job_id, created_at=created, title=source.title,
            signature=source.signature, names=source.names, encoder=None, embedding=None,
            sentiment=source.sentiment, topics=(source.topics or [])[:3],
        )  # fmt: skip
        join(None, story, article)  # type: ignore[arg-type]  # no vector: no session read
        result = {"duplicates": [], "original": None, "story": view(story, new=not rows),
                  "window_days": WINDOW.days}  # fmt: skip
        sig = source.signature
        rows.append(
            (tenant, job_id, created, created, sig.text_hash, source.signature_bytes,
             sig.shingles, sig.words, source.keys, story.id, source.sentiment, source.title,
             json.dumps(result))
        )  # fmt: skip
    assert story is not None
    return rows, (
        tenant, story.id, story.first_seen, story.last_seen, story.size, story.representative,
        story.title, json.dumps(story.entities), json.dumps(story.topics),
        json.dumps(story.sentiment), story.last_seen,
    )  # fmt: skip


COPIES = {
    "archived_jobs": "COPY archived_jobs (tenant, job_id, created_at, finished_at, status, "
    "language, title, analyses, document, text, sentiment, topics) FROM STDIN",
    "archived_entities": "COPY archived_entities (tenant, job_id, created_at, name, type, "
    "salience, sentiment) FROM STDIN",
    # encoder, dims, embedding, original_id (story_articles) and encoder, dims, centroid
    # (stories) stay NULL: what register and save_story write for an article without a vector
    "story_articles": "COPY story_articles (tenant, job_id, created_at, registered_at, "
    "text_hash, signature, shingles, words, entities, story_id, sentiment, title, result) "
    "FROM STDIN",
    "stories": "COPY stories (tenant, id, first_seen, last_seen, size, representative, title, "
    "entities, topics, sentiment, updated_at) FROM STDIN",
}


def fill(url: str, stories: Iterator[Planned], *, count: int, archived: bool = True) -> None:
    """COPY the stories' rows (and their articles' unless ``archived`` is False: the
    writer's, already archived), the tables' indexes dropped first and built after."""
    began = time.perf_counter()
    rebuild = drop_indexes(url)
    tables = TABLES if archived else TABLES[2:]
    done, shown = 0, 0
    with ExitStack() as stack:  # on leaving, each COPY ends, then each connection commits
        conns = {t: stack.enter_context(psycopg.connect(url)) for t in tables}
        copy = {t: stack.enter_context(conns[t].cursor().copy(COPIES[t])) for t in tables}
        for planned in stories:
            members, story = story_rows(planned)
            for row in members:
                copy["story_articles"].write_row(row)
            copy["stories"].write_row(story)
            if archived:
                tenant = planned.tenant
                for source, job_id, created in planned.members:
                    copy["archived_jobs"].write_row(
                        (tenant, job_id, created, created, "succeeded", "en", source.title,
                         ANALYSES, document(job_id, created, source), source.text,
                         source.sentiment, source.topics)
                    )  # fmt: skip
                    for e in source.entities:
                        copy["archived_entities"].write_row(
                            (tenant, job_id, created, e.name, e.type, e.salience, e.sentiment)
                        )
            done += len(members)
            if done - shown >= 100_000 or done == count:
                shown = done
                print(f"  {done:,}/{count:,} articles copied with their stories", flush=True)
    copied = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        for statement in rebuild:
            conn.execute(statement)
        built = time.perf_counter()
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
    print(f"  COPY {copied - began:.0f} s, indexes {built - copied:.0f} s, "
          f"VACUUM ANALYZE {time.perf_counter() - built:.0f} s")  # fmt: skip


def drop_indexes(url: str) -> list[str]:
    """Drop the tables' indexes and primary keys; return the statements that make them again,
    in their order of creation (a partition's index takes its name from the order)."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            """
            SELECT t.relname, x.relname, pg_get_indexdef(i.indexrelid), k.conname,
                   pg_get_constraintdef(k.oid)
            FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
            JOIN pg_class t ON t.oid = i.indrelid
            LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = t.oid
            WHERE t.relname = ANY(%s) ORDER BY i.indexrelid
            """,
            (list(TABLES),),
        ).fetchall()
        rebuild = []
        for table, index, definition, constraint, constraint_def in found:
            if constraint is not None:
                conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
                rebuild.append(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {constraint_def}")
            else:
                conn.execute(f"DROP INDEX {index}")
                # a partitioned table's index reads ON ONLY: built again, it covers each month
                rebuild.append(definition.replace(" ON ONLY ", " ON ", 1))
    return rebuild


def schema(url: str) -> set[tuple[str, ...]]:
    """Every index and constraint of the database, as its definition reads."""
    with psycopg.connect(url) as conn:
        indexes = conn.execute(
            "SELECT 'index', tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public'"
        ).fetchall()
        constraints = conn.execute(
            "SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    return {tuple(row) for row in indexes + constraints}


def reference(admin_url: str, url: str, now: datetime) -> str:
    """A second database, migrated from empty with the bench's months: production's schema."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE reference")
    target = url.rsplit("/", 1)[0] + "/reference"
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    migrate.upgrade(target)
    archive = Archive(target)
    for months in range(-13, 2):
        archive.ensure_partition(month_start(now, months))
    archive.close()
    return target


def write_rate(archive: Archive, stories: list[Planned]) -> float:
    """Rows per second through the archiver's write path (100 a transaction)."""
    made = [
        Row(
            tenant=planned.tenant,
            job_id=job_id,
            created_at=created,
            finished_at=created,
            status="succeeded",
            ref=None,
            language="en",
            title=source.title,
            analyses=ANALYSES,
            document={"id": job_id, "status": "succeeded"},
            text=source.text,
            sentiment=source.sentiment,
            topics=source.topics,
            entities=source.entities,
        )  # fmt: skip
        for planned in stories
        for source, job_id, created in planned.members
    ]
    began = time.perf_counter()
    for start in range(0, len(made), 100):
        archive.write(made[start : start + 100])
    return len(made) / (time.perf_counter() - began)


def probes(
    sources: list[Source], told: list[tuple[str, int]], rng: random.Random, *, count: int
) -> dict[str, list[str]]:
    """The requests of each probe: random entities (as often as articles name them), random
    title words, random windows of the last 12 months, random stories of the tenant."""
    now = datetime.now(UTC)
    named = [e.name for s in sources for e in s.entities]
    words = [
        w.lower()
        for s in sources
        for w in s.title.split()
        if w.isalpha() and len(w) > 3 and w.lower() not in WORDS_SKIPPED
    ]
    story_ids = [story_id for story_id, _ in told]
    sizes = [size for _, size in told]

    def window(days: int) -> dict[str, str]:
        until = now - timedelta(days=rng.random() * (365 - days))
        since = until - timedelta(days=days)
        return {"since": _stamp(since), "until": _stamp(until)}

    def back() -> str:
        moment = now - timedelta(days=rng.random() * 330)
        return f"{micros(moment)}-{'f' * 32}"

    def place() -> str:
        story_id, size = rng.choice(told)
        return f"{size}-{story_id}"

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
        "stories recent": ["/v1/stories?sort=recent&limit=20"] * count,
        "stories size": ["/v1/stories?sort=size&limit=20"] * count,
        "stories growth 24 h": ["/v1/stories?sort=growth&hours=24&limit=20"] * count,
        "stories recent cursor": [
            "/v1/stories?" + urlencode({"sort": "recent", "limit": 20, "cursor": back()})
            for _ in range(count)
        ],
        "stories size cursor": [
            "/v1/stories?" + urlencode({"sort": "size", "limit": 20, "cursor": place()})
            for _ in range(count)
        ],
        "story by id": [  # the story of a random article: a story as often as its size
            f"/v1/stories/{story_id}" for story_id in rng.choices(story_ids, sizes, k=count)
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


def plans(
    url: str, sources: list[Source], told: list[tuple[str, int]], rng: random.Random
) -> dict[str, str]:
    """EXPLAIN of what each probe's reads run, with the same SQL the routes build."""
    now = datetime.now(UTC)
    since, until = now - timedelta(days=60), now - timedelta(days=30)
    named = rng.choice([e.name for s in sources for e in s.entities])
    word = rng.choice([w for s in sources for w in s.title.split() if len(w) > 4])
    story_id, size = max(told, key=lambda story: story[1])  # the most articles to page
    captured: dict[str, str] = {}

    class Explaining(StoryReads):
        label = ""

        def _rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
            with self.archive.connection() as conn:
                plan = conn.execute("EXPLAIN " + sql, params).fetchall()
                captured[f"{self.label} #{len(captured) + 1}"] = "\n".join(r[0] for r in plan)
                return conn.execute(sql, params).fetchall()

    archive = Archive(url)
    reads = Explaining(archive, timeout_ms=10_000)
    cursor = (micros(now - timedelta(days=100)), "f" * 32)
    span = StoryRange(growth_since=now - timedelta(hours=24))
    for label, run in (
        ("entity + time", lambda: reads.articles(tenant=OPEN, filters=ArticleFilters(
            entity=named, since=since, until=until), limit=20, before=None)),
        ("text + time", lambda: reads.articles(tenant=OPEN, filters=ArticleFilters(
            text=word, since=since, until=until), limit=20, before=None)),
        ("jobs page", lambda: reads.listing(tenant=OPEN, limit=21, before=cursor)),
        ("entities", lambda: reads.top_entities(
            tenant=OPEN, since=now - timedelta(days=7), until=now, entity_type=None, limit=20)),
        ("stories recent", lambda: reads.stories(
            tenant=OPEN, sort="recent", span=span, limit=20, after=None)),
        ("stories size", lambda: reads.stories(
            tenant=OPEN, sort="size", span=span, limit=20, after=None)),
        ("stories growth", lambda: reads.stories(
            tenant=OPEN, sort="growth", span=span, limit=20, after=None)),
        ("stories recent cursor", lambda: reads.stories(
            tenant=OPEN, sort="recent", span=span, limit=20, after=cursor)),
        ("stories size cursor", lambda: reads.stories(
            tenant=OPEN, sort="size", span=span, limit=20, after=(1, "f" * 32))),
        ("story", lambda: reads.story(tenant=OPEN, story_id=story_id)),
        ("story articles", lambda: reads.story_articles(
            tenant=OPEN, story_id=story_id, limit=20, before=None)),
    ):  # fmt: skip
        reads.label = label
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
    assert WINDOW.days == Settings().stories_window_days, "the window the stories are drawn in"
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
        production = schema(reference(postgres.admin_url, url, now))
        planner = Planner(sources, rng)
        writers = list(planner.stories(count=args.write_rows, tenants=["writer"],
                                       span=timedelta(days=1)))  # fmt: skip
        rate = write_rate(archive, writers)
        print(f"archive write rate: {rate:,.0f} rows/s through Archive.write "
              f"({args.write_rows:,} rows, 100 a transaction, with their entities)")  # fmt: skip
        app = create_app(Settings(redis_url=redis_server.url, database_url=url))
        client = app.test_client()
        results: dict[int, dict[str, tuple[float, float]]] = {}
        have = 0
        tenants = [OPEN] + [f"tenant-{i}" for i in range(1, args.tenants)]
        for size in sizes:
            step = time.perf_counter()
            if have == 0:  # the writer's articles are archived: their stories only
                fill(url, iter(writers), count=args.write_rows, archived=False)
                have = args.write_rows
            count = size - have
            fill(url, planner.stories(count=count, tenants=tenants, span=YEAR), count=count)
            have = size
            every = [s for stories in planner.told.values() for s in stories]
            print(f"{size:,} archived articles in {len(every):,} stories "
                  f"({sum(s == 1 for _, s in every) / len(every):.0%} of one article, "
                  f"{sum(s >= 10 for _, s in every):,} of 10 or more, "
                  f"{sum(s >= 100 for _, s in every):,} of 100 or more, "
                  f"the biggest {max(s for _, s in every)}): "
                  f"filled in {time.perf_counter() - step:.0f} s")  # fmt: skip
            drift = schema(url) ^ production
            failed |= bool(drift)
            print(f"{'PASS' if not drift else 'FAIL'}: indexes and constraints equal a database "
                  f"migrated from empty ({len(production)} of them)")  # fmt: skip
            for item in sorted(drift):
                print(f"  {'missing' if item in production else 'extra'}: {item}")
            results[size] = {}
            told = planner.told[OPEN]
            for name, paths in probes(sources, told, rng, count=args.probes * args.rounds).items():
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
        listing = {n: p99 for n, (_, p99) in results[large].items() if n.startswith("stories ")}
        worst = max(listing, key=listing.__getitem__)
        verdict = "PASS" if listing[worst] < CEILING_MS else "FAIL"
        failed |= verdict == "FAIL"
        print(f"{verdict}: story listing p99 < {CEILING_MS:.0f} ms at {large:,} (every sort and "
              f"cursor page; the most: {listing[worst]:.1f} ms, {worst})")  # fmt: skip
        for name, (_, p99) in results[large].items():
            print(f"  {'under' if p99 < CEILING_MS else 'OVER'} {CEILING_MS:.0f} ms: {name}")
        seq = {
            label: plan
            for label, plan in plans(url, sources, planner.told[OPEN], rng).items()
            if scans(plan)
        }
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
