"""Join an article to its story: the open story holding a duplicate, else the nearest one.

Online clustering, one article at a time under its tenant's lock (``stories.py``): a story
that holds one of the article's duplicates wins; else the open story (seen within the
window) of a candidate whose centroid is at cosine ``STORY`` or closer; else the article
opens a story named after itself. Joining updates the story's size, times, centroid,
representative (the member nearest the centroid), names, topics and sentiment by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from copydesk.analyse.duplicates import Match, Signature
from copydesk.archive.stories import Candidate, Session, Story

STORY = 0.85  # the least cosine of an article to a story's centroid to join it (no duplicate)
TOP = 5  # entities and topics a story result lists


@dataclass(frozen=True, slots=True)
class Article:
    """What the analysis knows of this article before it looks at others."""

    tenant: str
    job_id: str
    created_at: datetime
    title: str | None
    signature: Signature
    names: list[str]  # its names as written, most mentioned first
    encoder: str | None
    embedding: np.ndarray | None  # unit document vector
    sentiment: float | None
    topics: list[str]


def choose(
    session: Session,
    article: Article,
    candidates: list[Candidate],
    matches: list[Match],
    *,
    since: datetime,
) -> Story:
    """Join the best open story (one holding a duplicate first, else the nearest
    centroid at ``STORY`` or closer) or open a new one; saves it."""
    duplicates = {m.job_id: m for m in matches}
    by_id = {hexid(c.job_id): c for c in candidates}
    stories = {
        s.id: s for s in session.stories(list({hexid(c.story_id) for c in candidates}), since=since)
    }
    best, score = None, STORY
    for story_id, story in stories.items():
        held = [m for j, m in duplicates.items() if hexid(by_id[j].story_id) == story_id]
        value = 1.0 + max((m.similarity for m in held), default=0.0) if held else 0.0
        if not held and story.centroid is not None and article.embedding is not None:
            if len(story.centroid) == len(article.embedding):
                value = float(np.dot(article.embedding, np.asarray(story.centroid)))
        if value >= score:
            best, score = story, value
    if best is None:
        best = Story(
            id=article.job_id, first_seen=article.created_at, last_seen=article.created_at,
            size=0, representative=article.job_id, title=article.title, centroid=None,
            encoder=article.encoder,
        )  # fmt: skip
    join(session, best, article)
    dims = len(best.centroid) if best.centroid is not None else None
    session.save_story(best, dims=dims)
    return best


def join(session: Session, story: Story, article: Article) -> None:
    """Count the article in ``story``: size, times, centroid, representative, entities,
    topics and the day's sentiment."""
    story.id = hexid(story.id)
    story.size += 1
    story.first_seen = min(story.first_seen, article.created_at)
    story.last_seen = max(story.last_seen, article.created_at)
    if article.embedding is not None:
        if story.centroid is None or len(story.centroid) != len(article.embedding):
            centroid = article.embedding
        else:
            total = np.asarray(story.centroid) * (story.size - 1) + article.embedding
            centroid = total / (np.linalg.norm(total) or 1.0)
        story.centroid = [float(x) for x in centroid]
        story.encoder = article.encoder
        # the representative is the member nearest the centroid: the old one or this one
        old = session.candidates([story.representative], embedding=story.centroid)
        mine = float(np.dot(article.embedding, centroid))
        if not old or old[0].cosine is None or mine > old[0].cosine:
            story.representative, story.title = article.job_id, article.title
    story.representative = hexid(story.representative)
    for name in article.names[:TOP]:
        entry = story.entities.get(name) or {"count": 0}
        story.entities[name] = {"count": entry["count"] + 1}
    story.entities = dict(sorted(story.entities.items(), key=lambda kv: -kv[1]["count"])[: 4 * TOP])
    for label in article.topics:
        story.topics[label] = story.topics.get(label, 0) + 1
    if article.sentiment is not None:
        day = article.created_at.date().isoformat()
        trend = {entry["day"]: entry for entry in story.sentiment}
        entry = trend.get(day) or {"day": day, "count": 0, "mean": 0.0}
        count = entry["count"] + 1
        mean = (entry["mean"] * entry["count"] + article.sentiment) / count
        trend[day] = {"day": day, "count": count, "mean": round(mean, 4)}
        story.sentiment = [trend[d] for d in sorted(trend)][-31:]


def first(article: Article, candidates: list[Candidate], matches: list[Match]) -> str | None:
    """The earliest of the article and its duplicates (by creation time, then id), or None
    when it duplicates nothing."""
    if not matches:
        return None
    when = {hexid(c.job_id): c.created_at for c in candidates}
    group = [(article.created_at, article.job_id)] + [(when[m.job_id], m.job_id) for m in matches]
    return min(group)[1]


def view(story: Story, *, new: bool) -> dict[str, Any]:
    entities = sorted(story.entities.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    topics = sorted(story.topics.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "id": story.id,
        "new": new,
        "size": story.size,
        "first_seen": _time(story.first_seen),
        "last_seen": _time(story.last_seen),
        "representative": story.representative,
        "title": story.title,
        "entities": [{"name": n, "count": e["count"]} for n, e in entities[:TOP]],
        "topics": [{"label": label, "count": count} for label, count in topics[:TOP]],
        "sentiment": story.sentiment,
    }


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hexid(job_id: str) -> str:
    """A job id as copydesk writes it (32 hex digits), from PostgreSQL's uuid text."""
    return job_id.replace("-", "")
