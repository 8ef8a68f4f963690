"""Measure end-to-end throughput and latency of the running stack against in-process analysis.

Baseline: the same analysers called in this process, one article after another (no HTTP, no
Redis, no Celery). The stack figure is what a client sees: POST, then poll until done. The
ratio shows what the service layer costs or gains (two worker processes on two cores).

    .venv/bin/python bench/speed.py [--articles 24] [--words 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests

from copydesk.analysis.registry import AnalyserRegistry
from copydesk.core.names import ANALYSES
from copydesk.core.settings import Settings
from copydesk.core.text import prepare
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

SENTENCES = [
    "The central bank raised interest rates by a quarter point on Wednesday.",
    "Officials said inflation had proved more stubborn than expected this year.",
    "Opposition leaders criticised the decision as a blow to struggling households.",
    "Shares in regional lenders fell sharply after the announcement.",
    "Analysts expect at least one further increase before the end of the year.",
    "The governor told reporters that the labour market remained remarkably tight.",
    "Retailers warned that higher borrowing costs would weigh on holiday spending.",
    "Economists were divided over whether the economy could avoid a recession.",
]


def make_article(index: int, words: int) -> str:
    sentences, count = [], 0
    while count < words:
        sentence = SENTENCES[(index + len(sentences)) % len(SENTENCES)]
        sentences.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return f"Story {index}\n\n" + "\n\n".join(paragraphs)


def in_process(articles: list[str]) -> float:
    registry = AnalyserRegistry(Settings())
    analysers = {name: registry.for_request(name, {}) for name in ANALYSES}
    analysers["summary"](prepare(text=articles[0]), {})  # warm-up, as workers preload
    began = time.perf_counter()
    for text in articles:
        doc = prepare(text=text)
        for name, analyser in analysers.items():
            analyser(doc, {})
    return time.perf_counter() - began


def through_stack(articles: list[str]) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as var:
        stack = Stack(var_dir=Path(var), http_port=free_port(), log_dir=Path(var) / "logs")
        stack.start(timeout=120)
        try:
            session = requests.Session()
            warm = session.post(
                stack.base_url + "/v1/jobs", json={"article": {"text": articles[0]}}
            )
            _wait(session, stack.base_url, warm.json()["id"])
            began = time.perf_counter()
            submitted = []
            for text in articles:
                response = session.post(
                    stack.base_url + "/v1/jobs", json={"article": {"text": text}}
                )
                submitted.append((response.json()["id"], time.perf_counter()))
            latencies = [_wait(session, stack.base_url, job_id) - at for job_id, at in submitted]
            return time.perf_counter() - began, latencies
        finally:
            stack.stop()


def _wait(session: requests.Session, base: str, job_id: str) -> float:
    def done() -> bool:
        return session.get(f"{base}/v1/jobs/{job_id}").json()["status"] == "succeeded"

    wait_for(done, timeout=600, every=0.05)
    return time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=24)
    parser.add_argument("--words", type=int, default=600)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    articles = [make_article(i, args.words) for i in range(args.articles)]
    baseline = in_process(articles)
    elapsed, latencies = through_stack(articles)
    n = len(articles)
    print(f"articles: {n} x ~{args.words} words, analyses: {', '.join(ANALYSES)}")
    print(f"in-process baseline (1 process): {n / baseline * 60:7.1f} articles/min")
    print(
        f"through the stack (2 workers):   {n / elapsed * 60:7.1f} articles/min"
        f"  ratio {baseline / elapsed:.2f}x"
    )
    print(
        f"latency submit->succeeded: p50 {statistics.median(latencies):.2f} s,"
        f" p95 {statistics.quantiles(latencies, n=20)[-1]:.2f} s (all submitted at once)"
    )


if __name__ == "__main__":
    main()
