"""Find an article's duplicates among the tenant's recent articles and the story it belongs to.

The one analysis that looks across jobs. In one transaction under the tenant's lock
(:mod:`copydesk.archive.stories`) it gathers candidates from the indexes (same text hash, a
shared LSH band, the nearest document vectors), classifies each (:mod:`.duplicates`),
chooses the story (online clustering: the open story that holds a duplicate, else the one
whose centroid is nearest, if near enough, else a new one), and registers the article, so the
next article finds this one before this job is even archived. A second delivery of the same
job finds its row and answers what it answered the first time.

The article's own job is not archived when this runs, so its tenant, id and creation time
come from the job (``job``). PostgreSQL away: the analysis retries for
``COPYDESK_STORIES_WAIT_SECONDS``, then fails alone with ``stories_unavailable``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from copydesk.analyse.base import Result
from copydesk.analyse.duplicates import (
    VERSION,
    Match,
    Signature,
    band_hashes,
    classify,
    entity_keys,
    minhash_similarity,
    signature,
)
from copydesk.analyse.embedded import EmbeddingAnalyser
from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser
from copydesk.analyse.topics import EmbeddingTopicClassifier
from copydesk.archive.articles import parse_time
from copydesk.analyse.stories_join import Article, choose, first, hexid, view
from copydesk.archive.stories import Candidate, Registration, Session, StoryIndex
from copydesk.core.document import Document
from copydesk.core.errors import AnalysisError, AnalysisUnavailable, StoriesUnavailable
from copydesk.core.names import OPEN_TENANT
from copydesk.core.options import StoriesOptions, checked
from copydesk.core.settings import Settings
from copydesk.prepare.language import is_english
from copydesk.prepare.vectors import DocVectors, embedded_texts

KINDS = {"exact": 0, "near": 1, "rewrite": 2}
# a name: capitalised words (and "of", "de", ... between them), not the sentence's first word
_NAME = re.compile(
    r"(?<![.!?]\s)(?<!^)\b([A-Z][\w'’-]+(?:\s+(?:of|de|la|van|von|al)?\s*[A-Z][\w'’-]+)*)"
)
_NOT_NAMES = frozenset(
    "The A An In On At But And Or It He She They We I Mr Mrs Ms Dr This That "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
)


@dataclass(frozen=True, slots=True)
class Inputs:
    """The texts whose vectors make the document vector (sentences, then the title)."""

    texts: tuple[str, ...]


def names(text: str) -> list[str]:
    """Capitalised names in ``text`` (not opening a sentence), most frequent first.

    A cheap stand-in for entities that needs no parse, so any job and any Latin-script
    language yields the same kind of keys for comparison across articles.
    """
    counts: dict[str, int] = {}
    for match in _NAME.finditer(text):
        name = match.group(1)
        if name not in _NOT_NAMES:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: (-counts[n], n))


def document_vector(rows: np.ndarray) -> np.ndarray | None:
    """The unit mean of the rows (as the archive's ``embedding``), or None."""
    if not len(rows):
        return None
    mean = rows.astype(np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm and np.isfinite(mean).all() else None


class StoryAnalyser(EmbeddingAnalyser):
    """Duplicates and story of one article, against the tenant's articles in the window."""

    name = "stories"
    reads_settings = True  # the registry builds it with the deployment's settings

    def __init__(self, *, embedder: Any = None, settings: Settings | None = None) -> None:
        super().__init__(embedder=embedder)
        self.settings = settings or Settings()
        self.sentiment = EmbeddingSentimentAnalyser(embedder=embedder)
        self.topics = EmbeddingTopicClassifier(embedder=embedder)
        url = self.settings.database_url
        self.index = (
            StoryIndex(url, timeout=self.settings.stories_statement_seconds) if url else None
        )

    @property
    def model_name(self) -> str:
        return VERSION

    def close(self) -> None:
        if self.index is not None:
            self.index.close()

    def preprocess(self, doc: Document, options: Mapping[str, Any]) -> Inputs:
        checked(StoriesOptions, options)
        if self.index is None:
            raise AnalysisUnavailable(
                "stories compares articles in the archive: set COPYDESK_DATABASE_URL"
            )
        return Inputs(embedded_texts(doc))

    def _from_vectors(self, inputs: Inputs, found: np.ndarray, vectors: DocVectors) -> Any:
        return inputs, found, vectors.model

    def _forward(self, inputs: Inputs) -> Any:
        found = self.embedder.encode(list(inputs.texts)) if inputs.texts else np.zeros((0, 1))
        return inputs, found, self.embedder.name

    def __call__(
        self,
        doc: Document,
        options: Any = None,
        *,
        vectors: DocVectors | None = None,
        job: Mapping[str, Any] | None = None,
    ) -> Result:
        if job is None:
            raise AnalysisUnavailable("stories needs its job (tenant, id, creation time)")
        opts = options or {}
        inputs = self.preprocess(doc, opts)
        found = vectors.lookup(inputs.texts) if vectors is not None else None
        _, rows, encoder = (
            self._forward(inputs) if found is None else self._from_vectors(inputs, found, vectors)  # type: ignore[arg-type]
        )
        article = self.article(doc, job, rows=rows, encoder=encoder, vectors=vectors)
        return self.postprocess(doc, self.decide(article), opts)

    def postprocess(self, doc: Document, outputs: Any, options: Mapping[str, Any]) -> Result:
        return {**outputs, "model": self.model_name}

    def article(
        self,
        doc: Document,
        job: Mapping[str, Any],
        *,
        rows: np.ndarray,
        encoder: str | None,
        vectors: DocVectors | None = None,
    ) -> Article:
        """Everything about this article the lookup needs, computed before the transaction."""
        english = is_english(doc.language)
        embedding = document_vector(rows) if english else None
        try:
            sentiment = self.sentiment(doc, {}, vectors=vectors)["score"] if english else None
        except AnalysisError:
            sentiment = None
        topics = (job.get("results") or {}).get("topics") or {}
        if topics.get("status") != "succeeded":
            topics = self._topics(doc, job, vectors=vectors)
        labels = [item["label"] for item in topics.get("labels") or []][:3]
        return Article(
            tenant=job.get("tenant") or OPEN_TENANT,
            job_id=job["id"],
            created_at=parse_time(job["created_at"]),  # type: ignore[arg-type]
            title=doc.title,
            signature=signature(doc.text),
            names=names(doc.text),
            encoder=encoder if embedding is not None else None,
            embedding=embedding,
            sentiment=sentiment,
            topics=labels if topics.get("status") == "succeeded" else [],
        )

    def _topics(
        self, doc: Document, job: Mapping[str, Any], *, vectors: DocVectors | None
    ) -> dict[str, Any]:
        """The job's topics when its own topics analysis has not finished yet: this analysis
        runs beside it, and a story's topics would otherwise miss every article that won the
        race. The same classifier and options; a stored label set (which only the store
        resolves) or a job without topics gives none."""
        if "topics" not in (job.get("analyses") or []):
            return {}
        options = dict((job.get("options") or {}).get("topics") or {})
        if options.get("label_set"):
            return {}
        try:
            return {"status": "succeeded", **self.topics(doc, options, vectors=vectors)}
        except AnalysisError:
            return {}

    def decide(self, article: Article) -> dict[str, Any]:
        """Look up, decide and register in one transaction, waiting out PostgreSQL's faults
        for COPYDESK_STORIES_WAIT_SECONDS."""
        import psycopg

        assert self.index is not None
        deadline = time.monotonic() + self.settings.stories_wait_seconds
        pause = 0.2
        while True:
            try:
                with self.index.session(article.tenant) as session:
                    return self._decide(session, article)
            except psycopg.OperationalError as exc:
                if time.monotonic() + pause > deadline:
                    raise StoriesUnavailable(
                        "the story index (PostgreSQL) did not answer within "
                        f"{self.settings.stories_wait_seconds} s (COPYDESK_STORIES_WAIT_SECONDS): "
                        + str(exc).strip().splitlines()[0]
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _decide(self, session: Session, article: Article) -> dict[str, Any]:
        settings = self.settings
        before = session.registered(article.job_id)
        if before is not None:
            return before
        since = article.created_at - timedelta(days=settings.stories_window_days)
        limit = settings.stories_max_candidates
        sig = article.signature
        bands = band_hashes(sig.minhash)
        embedding = article.embedding.tolist() if article.embedding is not None else None
        ids = session.exact(sig.text_hash, since=since, limit=limit)
        ids += session.banded(bands, since=since, per_band=limit, limit=limit)
        if embedding is not None:
            nearest = session.nearest(
                embedding,
                since=since,
                limit=settings.stories_neighbours,
                max_scan=settings.stories_max_scan,
            )
            ids += [job_id for job_id, _ in nearest]
        ids = [i for i in dict.fromkeys(hexid(i) for i in ids) if i != article.job_id]
        candidates = session.candidates(ids, embedding=embedding)
        matches = self.matches(article, candidates)
        story = choose(session, article, candidates, matches, since=since)
        original = first(article, candidates, matches)
        result = {
            "duplicates": [
                {"job_id": m.job_id, "kind": m.kind, "similarity": m.similarity} for m in matches
            ],
            "original": original,
            "story": view(story, new=story.id == article.job_id),
            "window_days": settings.stories_window_days,
        }
        session.register(
            Registration(
                tenant=article.tenant,
                job_id=article.job_id,
                created_at=article.created_at,
                text_hash=sig.text_hash,
                signature=sig.to_bytes(),
                shingles=sig.shingles,
                words=sig.words,
                entities=entity_keys(article.names),
                encoder=article.encoder,
                embedding=embedding,
                story_id=story.id,
                original_id=original,
                sentiment=article.sentiment,
                title=article.title,
                result=result,
            ),  # fmt: skip
            bands=bands,
        )
        session.trim(
            bands_before=article.created_at - timedelta(days=settings.stories_window_days + 1),
            articles_before=article.created_at - timedelta(days=settings.archive_retention_days),
        )
        return result

    @staticmethod
    def matches(article: Article, candidates: list[Candidate]) -> list[Match]:
        """The candidates that duplicate the article, strongest kind first, then closest."""
        sig, mine = article.signature, set(entity_keys(article.names))
        found = []
        for c in candidates:
            near = minhash_similarity(
                sig.minhash, Signature.values(c.signature), size_a=sig.shingles, size_b=c.shingles
            )
            kind = classify(
                same_text=c.text_hash == sig.text_hash,
                near=near,
                cosine=c.cosine,
                shared_entities=len(mine & set(c.entities)),
                words=min(sig.words, c.words),
            )
            if kind is not None:
                found.append(Match(hexid(c.job_id), *kind))
        return sorted(found, key=lambda m: (KINDS[m.kind], -m.similarity, m.job_id))
