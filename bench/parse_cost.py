"""What the parse-based analyses cost a story, step by step, in one process on one thread.

The same BBC stories as bench/throughput.py (400-700 words, about 600 tokens), through the
same in-process pipeline as ``copydesk analyze --local`` (``LocalPipeline``), timed per step
by wrapping the prepare stage's and the analyses' own functions: the text stage
(extraction, cleaning, sentences), the parse, the sentence embedding, and each analysis. Three
runs in one invocation, after a warm-up of each:

1. the default three analyses (summary, sentiment, topics): the baseline;
2. all six, entities from the head on the shared token vectors (the default);
3. all six with spaCy's own recogniser (``COPYDESK_PARSER_RECOGNISER=spacy``): the ablation.

Prints ms per story for each step and the ratios of the three's time to the six's. Through
the stack (with Redis, Celery and two worker processes) the figure that counts is
bench/throughput.py's; this one says where a story's time goes.

    OMP_NUM_THREADS=1 .venv/bin/python bench/parse_cost.py [--articles 60]
"""

from __future__ import annotations

import argparse
import collections
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

from throughput import news  # noqa: E402

from copydesk.core.schemas import JobRequest  # noqa: E402
from copydesk.core.settings import Settings  # noqa: E402
from copydesk.prepare import stage as prepare_stage  # noqa: E402
from copydesk.workers import local  # noqa: E402

SIX = ["summary", "sentiment", "topics", "entities", "keyphrases", "quotes"]
SPENT: dict[str, float] = collections.defaultdict(float)


def timed(owner: Any, name: str, step: str) -> None:
    """Replace ``owner.name`` with a wrapper adding its time to ``SPENT[step]``."""
    inner: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            SPENT[step] += time.perf_counter() - began

    setattr(owner, name, wrapper)


def analysed(**kwargs: Any) -> Any:
    began = time.perf_counter()
    try:
        return ANALYSE(**kwargs)
    finally:
        SPENT[kwargs["analysis"]] += time.perf_counter() - began


ANALYSE = local.analyse
local.analyse = analysed
timed(prepare_stage, "prepare", "text stage")
timed(prepare_stage.PrepareStage, "_parse", "parse")
timed(prepare_stage.PrepareStage, "embed", "embedding")


def run(articles: list[dict], analyses: list[str] | None, settings: Settings) -> dict[str, float]:
    """ms per story of each step and in all, for ``analyses`` (None: the default three)."""
    pipeline = local.LocalPipeline(settings)
    pipeline.warm_up()
    body = {"analyses": analyses} if analyses else {}
    requests = [JobRequest.model_validate({"article": a} | body) for a in articles]
    for request in requests[:5]:  # the parser loads on its first job
        pipeline.run(request, job_id="warm")
    SPENT.clear()
    began = time.perf_counter()
    for request in requests:
        pipeline.run(request, job_id="bench")
    total = time.perf_counter() - began
    steps = {step: seconds * 1000 / len(requests) for step, seconds in SPENT.items()}
    return {**steps, "in all": total * 1000 / len(requests)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    args = parser.parse_args()
    articles = news(args.articles)
    print(f"{len(articles)} BBC stories, one process, one thread; ms per story")
    runs = {
        "the default three": run(articles, None, Settings()),
        "all six (entities by the head)": run(articles, SIX, Settings()),
        "all six, spaCy's recogniser": run(articles, SIX, Settings(parser_recogniser="spacy")),
    }
    steps = ["text stage", "parse", "embedding", *SIX, "in all"]
    print(f"{'step':<14}" + "".join(f"{name:>34}" for name in runs))
    for step in steps:
        cells = "".join(f"{run.get(step, 0.0):>34.1f}" for run in runs.values())
        print(f"{step:<14}{cells}")
    three = runs["the default three"]["in all"]
    for name, figures in list(runs.items())[1:]:
        print(f"three / six ({name}): {three / figures['in all']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
