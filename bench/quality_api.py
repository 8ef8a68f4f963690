"""Measure topic and sentiment quality through the HTTP API, beside the same analysers in-process.

The acceptance checks quality "through the HTTP API with the default configuration", while
bench/quality_topics.py and bench/quality_sentiment.py call the analysers in-process. This one
starts the stack as the e2e tests do (or drives ``--url``), sends every item as its own job
and prints each figure next to the in-process figure for the same items (text prepared by
``copydesk.prepare.text.prepare``, options as the intake stores them), so anything the service
layer changes shows up as a mismatch instead of hiding inside a number. Data and figure
definitions follow those benches: BBC News test split; NYT editorial sentences (a score of
exactly 0 has no polarity and counts as wrong) and whole editorials. Defaults send 6,488
jobs and take 8-11 minutes on two shared cores; --sentences/--editorials take every k-th.

    .venv/bin/python bench/quality_api.py [--url URL] [--per-section 80] [--sentences N]
        [--editorials N] [--threads 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

import quality_topics as qt
import topics_data
import vader_data

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


class MemoEmbedder:
    """Embed each distinct text once, so in-process runs share one batched encode pass."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim, self.table = inner, inner.name, inner.dim, {}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted(set(texts) - self.table.keys())
        if missing:
            self.table.update(zip(missing, self.inner.encode(missing), strict=True))
        return np.stack([self.table[t] for t in texts]) if texts else self.inner.encode([])


def in_process(analyser, bodies: list[dict]) -> list[dict]:
    """Prepare and analyse each job body as the intake and a worker would, in this process."""
    from copydesk.core.errors import CopydeskError
    from copydesk.core.schemas import JobRequest
    from copydesk.prepare.text import prepare

    work, texts = [], []
    for request in map(JobRequest.model_validate, bodies):
        a = request.article
        work.append(
            (
                prepare(text=a.text, title=a.title, language=a.language),
                request.options_for(analyser.name),
            )
        )
        with contextlib.suppress(CopydeskError):
            texts += analyser.preprocess(*work[-1]).texts
    analyser.embedder.encode(texts)  # one batched pass; the calls below hit the memo
    out = []
    for doc, options in work:
        try:
            out.append({"status": "succeeded", **analyser(doc, options)})
        except CopydeskError as exc:
            out.append({"status": "failed", "error": exc.to_problem()})
    return out


class Runner:
    """Send one batch of job bodies through the API and through the analysers in-process."""

    def __init__(self, base: str, *, threads: int, timeout: float) -> None:
        self.base, self.threads, self.timeout = base, threads, timeout
        self.jobs, self.wall = 0, 0.0

    def both(self, analyser, bodies: list[dict], *, label: str):
        """Return (API results, in-process results, indices where both succeeded)."""
        began = time.perf_counter()
        mine = in_process(analyser, bodies)
        local_secs, began = time.perf_counter() - began, time.perf_counter()
        api = self.api(bodies, name=analyser.name)
        secs = time.perf_counter() - began
        self.jobs, self.wall = self.jobs + len(bodies), self.wall + secs
        bad = [(i, r) for i, r in enumerate(api) if r.get("status") != "succeeded"]
        print(
            f"  {label}: {len(bodies)} jobs in {secs:.0f} s ({len(bodies) / secs:.1f} jobs/s; "
            f"in-process {local_secs:.0f} s); failed: API {len(bad)}, in-process "
            f"{sum(r['status'] != 'succeeded' for r in mine)}"
        )
        for i, r in bad[:3]:
            print(f"    item {i}: {r.get('job_status', r['status'])} {r.get('error')}")
        return api, mine, [i for i in range(len(bodies)) if ok(api[i], mine[i])]

    def api(self, bodies: list[dict], *, name: str, threads: int | None = None) -> list[dict]:
        """Submit every body, then poll each job to a terminal status (all within the timeout)."""
        local, deadline = threading.local(), time.monotonic() + self.timeout

        def session() -> requests.Session:
            if not hasattr(local, "s"):
                local.s = requests.Session()
            return local.s

        def submit(body: dict) -> str | dict:
            while time.monotonic() < deadline:
                r = session().post(self.base + "/v1/jobs", json=body, timeout=30)
                if r.status_code == 202:
                    return r.json()["id"]
                if r.status_code not in (429, 503):
                    return {"status": r.status_code, "error": r.text[:300]}
                time.sleep(float(r.headers.get("Retry-After", 1)))
            return {"status": "timeout", "error": "not accepted in time"}

        def wait(job_id: str | dict) -> dict:
            while isinstance(job_id, str) and time.monotonic() < deadline:
                job = session().get(f"{self.base}/v1/jobs/{job_id}", timeout=30).json()
                if job["status"] in TERMINAL:
                    return {**job["results"].get(name, {}), "job_status": job["status"]}
                time.sleep(0.1)
            return job_id if isinstance(job_id, dict) else {"status": "timeout", "job": job_id}

        with ThreadPoolExecutor(threads or self.threads) as pool:
            return list(pool.map(wait, list(pool.map(submit, bodies))))


def ok(*results: dict) -> bool:
    return all(r.get("status") == "succeeded" for r in results)


def acc(picks: list[str], truth: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(picks, truth, strict=True)])) if truth else 0.0


def by(sections: list[str], section: str, *columns: list) -> list[list]:
    return [
        [c for c, s in zip(column, sections, strict=True) if s == section] for column in columns
    ]


def topics(runner: Runner, args) -> None:
    from copydesk.analyse.topics import EmbeddingTopicClassifier

    articles = topics_data.bbc_sample(split="test", per_section=args.per_section or None)
    classifier = EmbeddingTopicClassifier(embedder=args.embedder)
    print(
        f"\nBBC News test split: {len(articles)} articles "
        f"({args.per_section or 'all'} per section), {2 * len(articles)} topic jobs"
    )
    custom = {"options": {"topics": {"labels": qt.CUSTOM, "top_k": 1}}}
    for task, extra, mapping in (("custom", custom, qt.TO_CUSTOM), ("iptc", {}, qt.TO_IPTC)):
        bodies = [
            {"article": {"title": a.title, "text": a.body}, "analyses": ["topics"], **extra}
            for a in articles
        ]
        api, mine, keep = runner.both(classifier, bodies, label=task)
        top = {w: [r[i]["labels"][0] for i in keep] for w, r in (("API", api), ("in", mine))}
        picks = {w: [t["label"] for t in tops] for w, tops in top.items()}
        truth = [mapping[articles[i].section] for i in keep]
        sections = [articles[i].section for i in keep]
        per = {
            w: {s: acc(*by(sections, s, p, truth)) for s in qt.SECTIONS} for w, p in picks.items()
        }
        print(
            f"  {task:6s} top-1 API {acc(picks['API'], truth):.3f}  in-process "
            f"{acc(picks['in'], truth):.3f}   per section (API/in-process) "
            + " ".join(f"{s[:5]}={per['API'][s]:.3f}/{per['in'][s]:.3f}" for s in qt.SECTIONS)
        )
        differ = [j for j, (a, b) in enumerate(zip(*picks.values(), strict=True)) if a != b]
        gap = max((abs(a["score"] - b["score"]) for a, b in zip(*top.values())), default=0.0)
        print(
            f"  {task:6s} agreement: top-1 differs on {len(differ)}/{len(keep)}, "
            f"max |top-1 score diff| {gap:.4f}"
        )
        for j in differ[:3]:
            a = articles[keep[j]]
            print(f"    {a.folder}/{a.file}: API {top['API'][j]} vs in-process {top['in'][j]}")


def every(items: list, n: int | None) -> list:
    return items[:: max(1, len(items) // n)][:n] if n else items


def sentiment(runner: Runner, args) -> None:
    from copydesk.analyse.sentiment import EmbeddingSentimentAnalyser

    nyt = vader_data.load_corpora(corpora=["nyt"])["nyt"]
    sents = every(nyt, args.sentences)
    groups = every(list(vader_data.documents(nyt).values()), args.editorials)
    analyser = EmbeddingSentimentAnalyser(embedder=args.embedder)
    print(f"\nNYT editorials: {len(sents)} sentence jobs, {len(groups)} editorial jobs")
    for kind, rated in (("sentence", [[s] for s in sents]), ("editorial", groups)):
        texts = [" ".join(s.text for s in group) for group in rated]
        bodies = [{"article": {"text": t}, "analyses": ["sentiment"]} for t in texts]
        api, mine, keep = runner.both(analyser, bodies, label=kind + "s")
        gold = np.array([np.mean([s.rating for s in group]) for group in rated]) / 4
        scores = {
            w: np.array([r[i]["score"] for i in keep]) for w, r in (("API", api), ("in", mine))
        }
        truth = gold[keep]
        figures = {f"{kind} pearson": lambda p: np.corrcoef(p, truth)[0, 1]}
        for cut in (0.5, 1.0) if kind == "sentence" else ():
            clear = np.abs(truth) >= cut / 4
            figures[f"polarity acc |r|>={cut} (n={int(clear.sum())})"] = lambda p, c=clear: np.mean(
                np.sign(p[c]) == np.sign(truth[c])
            )
        for name, f in figures.items():
            print(f"  {name:32s} API {f(scores['API']):.3f}  in-process {f(scores['in']):.3f}")
        if kind == "sentence" and len(keep) < len(bodies):
            right = np.zeros(len(gold), dtype=bool)
            right[keep] = np.sign(scores["API"]) == np.sign(truth)
            print(
                "  API counting its failed jobs as wrong: "
                + ", ".join(
                    f"acc |r|>={cut} {right[np.abs(gold) >= cut / 4].mean():.3f}"
                    for cut in (0.5, 1)
                )
            )
        diff = np.abs(scores["API"] - scores["in"])
        print(
            f"  {kind}s agreement: max |score diff| {diff.max(initial=0):.4f}, "
            f"> 1e-3 on {int((diff > 1e-3).sum())}/{len(keep)}"
        )
        for j in [j for j in np.argsort(-diff)[:3] if diff[j] > 1e-3]:
            print(
                f"    {texts[keep[j]][:70]!r}: API {scores['API'][j]:+.4f} "
                f"in-process {scores['in'][j]:+.4f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="use this running stack instead of starting one")
    parser.add_argument("--per-section", type=int, default=80, help="0 = every article")
    parser.add_argument("--sentences", type=int, default=None, help="every k-th; default all")
    parser.add_argument("--editorials", type=int, default=None, help="every k-th; default all")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per batch of jobs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    from copydesk.analyse.embedder import get_embedder
    from copydesk.devstack.redis_server import free_port
    from copydesk.devstack.stack import Stack

    torch.set_num_threads(1)
    args.embedder = MemoEmbedder(get_embedder())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as var:
        stack = (
            None
            if args.url
            else Stack(var_dir=Path(var), http_port=free_port(), log_dir=Path(var) / "logs")
        )
        try:
            base = (args.url or stack.start(timeout=120).base_url).rstrip("/")
            print(
                f"stack: {base} ({'given' if args.url else 'started, default configuration'})"
                f"; {args.threads} client threads"
            )
            runner = Runner(base, threads=args.threads, timeout=args.timeout)
            warm = {"article": {"text": "Shares rose. The team won the final."}}
            runner.api([warm] * 4, name="topics", threads=4)  # workers load their models
            topics(runner, args)
            sentiment(runner, args)
        finally:
            if stack is not None:
                stack.stop()
    print(
        f"\n{runner.jobs} jobs through the API in {runner.wall:.0f} s "
        f"({runner.jobs / runner.wall:.1f} jobs/s); total run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
