"""Measure throughput through the stack per sentence encoder (COPYDESK_SENTENCE_ENCODER), and
against the code issue 19 started from.

In one run, on the same real BBC News articles (about 400-700 words, the default three
analyses) as bench/throughput.py: a fresh stack (Redis, intake, one analysis worker with N
processes, the dispatcher) per setting, warmed with 12 jobs per process, then timed from the
first accepted submission to the last completion (server timestamps). The settings:
- ``today``: the code as it stood before the encoder mix (commit ``TODAY``, MiniLM for
  every article), checked out into a temporary git worktree and run through its own stack:
  "today's" throughput in the issue's acceptance, which the checks compare with. Its intake
  ran gunicorn's gevent workers; gevent is installed for it alone, under
  ``var/bench-cache/today-packages``;
- ``minilm``: all-MiniLM-L6-v2 for every article, on this checkout's code (the ``x minilm``
  columns compare with it);
- ``minilm+use-m3``: the default, English to MiniLM and the other languages to USE-m3 (on
  English news it runs what ``minilm`` runs: a worker holds both encoders, so the two differ
  only by the machine's noise, and the ``x minilm`` column shows by how much);
- ``use-m3``: USE-m3 for every article;
- ``mpnet``: all-mpnet-base-v2 for every article (English only; the slowest).
Every setting runs ``--rounds`` times, the settings interleaved and their order reversed every
other round (A B C D D C B A), and the best round of each counts, so neither a busy moment of
the shared machine nor a setting's place after another picks the winner; each setting's
median round is printed beside it (one fast round can make the best). So is the CPU time
every process of the stack (Redis included) used in each timed run, per article, as its
median round: when the workers keep both cores busy, today's CPU per article over a
setting's is its capacity against today's, and CPU time moves less than the wall clock with
the shared machine's other work. Also printed: the analysis worker processes' peak RSS,
against the 700 MB bound.
Then the same articles with custom labels (the five BBC sections as the topics' labels), with
today's code, ``minilm`` and the default: there the default's prepare stage also embeds each
English article's headline with USE-m3 and sends USE-m3's label rows (``topics.HEADLINE``),
and its worker holds both encoders.

    .venv/bin/python bench/throughput_encoders.py [--articles 240] [--processes 2] [--rounds 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from copydesk.core.settings import Settings
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from procs import cpu_seconds
from throughput import news, rss_table, through_stack

ROOT = Path(__file__).resolve().parent.parent
TODAY = "aaaf5b7"
"""The parent of issue 19's first commit (6a70e17, USE-m3 as an encoder): the code whose
throughput the issue calls today's."""
TODAY_PACKAGES = ("gevent>=24.10.1",)  # what TODAY requires and this checkout does not
BASELINE = "today"
SETTINGS = ("today", "minilm", "minilm+use-m3", "use-m3", "mpnet")
LABELLED = {"topics": {"labels": ["business", "entertainment", "politics", "sport", "technology"]}}


@contextlib.contextmanager
def todays_code() -> Iterator[dict[str, str]]:
    """Check TODAY out into a temporary worktree; yield the environment that runs a stack
    on it (its packages first on the path; every process a stack starts inherits it)."""
    packages = ROOT / "var" / "bench-cache" / "today-packages"
    if not (packages / "gevent").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(packages),
             *TODAY_PACKAGES],
            check=True,
        )  # fmt: skip
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "today"
        git = ["git", "-C", str(ROOT), "worktree"]
        added = subprocess.run(
            [*git, "add", "--detach", str(tree), TODAY], capture_output=True, text=True
        )
        if added.returncode:
            raise SystemExit(f"cannot check out today's code ({TODAY}): {added.stderr.strip()}")
        try:
            services = [
                tree / "services" / name for name in ("devstack", "dispatcher", "intake", "workers")
            ]
            path = [*services, tree / "shared", packages]
            yield {"PYTHONPATH": os.pathsep.join(map(str, path))}
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=True)


def one_round(
    encoder: str,
    articles: list[dict],
    processes: int,
    options: dict | None = None,
    *,
    today: dict[str, str],
) -> tuple[float, dict, float, float]:
    """Start a stack with ``encoder`` (``today``: TODAY's code, whose environment is
    ``today``); return (articles/min, statuses, peak worker RSS MB, CPU ms per article of
    all the stack's processes, Redis included)."""
    extra_env = today if encoder == BASELINE else {"COPYDESK_SENTENCE_ENCODER": encoder}
    with tempfile.TemporaryDirectory() as var:
        stack = started(Path(var), processes, extra_env)
        try:
            # every process takes several
            through_stack(stack, articles[: 12 * processes], options=options)
            pids = [popen.pid for popen in stack.processes.values()]
            pids += [stack.redis.process.pid] if stack.redis and stack.redis.process else []
            used = cpu_seconds(pids)
            seconds, _, statuses = through_stack(stack, articles, options=options)
            used = cpu_seconds(pids) - used
            rss = rss_table(stack)
        finally:
            stack.stop()
    peak = max((mb for name, mb in rss.items() if name.startswith("analysis-worker")), default=0)
    return len(articles) / seconds * 60, statuses, peak, used / len(articles) * 1000


def started(var: Path, processes: int, extra_env: dict[str, str]) -> Stack:
    """Start a stack under ``var``; a start that fails prints its processes' logs and is
    tried once more, on another port (one run of this bench lost a round to an intake that
    exited while starting)."""
    for attempt in (1, 2):
        (var / str(attempt)).mkdir()
        stack = Stack(
            var_dir=var / str(attempt),
            http_port=free_port(),
            log_dir=var / str(attempt) / "logs",
            analysis_concurrency=processes,
            extra_env=extra_env,
        )
        try:
            return stack.start(timeout=600)
        except RuntimeError as exc:
            print(f"the stack did not start ({exc}); attempt {attempt} of 2", flush=True)
            for log in sorted((var / str(attempt) / "logs").glob("*.log")):
                print(f"--- {log.name}:", *log.read_text().splitlines()[-15:], sep="\n")
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=240)
    parser.add_argument("--processes", type=int, default=2)
    # 8: with 4, whole runs came out 1.03x and 0.98x for the default against MiniLM alone,
    # which run the same path on English news (in-process their CPU per job is the same)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=SETTINGS)
    args = parser.parse_args()
    default = Settings.model_fields["sentence_encoder"].default
    settings = [BASELINE, *(s for s in args.settings if s != BASELINE)]
    labelled_settings = [BASELINE, *(s for s in ("minilm", default) if s in settings)]
    articles = news(args.articles)
    print(f"articles: {len(articles)} BBC News stories, the default three analyses, "
          f"{args.processes} worker processes, best of {args.rounds} interleaved rounds; "
          f"the default setting is {default}; today's code is commit {TODAY}")  # fmt: skip
    with todays_code() as today:
        plain = rounds(settings, articles, args, today=today)
        table(plain)
        labelled = rounds(labelled_settings, articles, args, today=today, options=LABELLED)
    print("\nwith custom labels (the five sections):")
    table(labelled)
    base = plain[BASELINE].best
    ratio = plain[default].best / base if default in plain else float("nan")
    use_m3 = plain["use-m3"].best / base if "use-m3" in plain else float("nan")
    ended = [*plain.values(), *labelled.values()]
    peak = max(max(measured.peaks) for measured in ended)
    checks = [
        (ratio >= 1, f"the default ({default}) >= today's code ({ratio:.2f}x)"),
        (use_m3 >= 1.5, f"use-m3 >= 1.5x today's code ({use_m3:.2f}x)"),
        (peak <= 700, f"analysis worker processes <= 700 MB RSS (peak {peak:.0f})"),
        (
            all(set(s) == {"succeeded"} for measured in ended for s in measured.statuses),
            "every job of every round succeeded",
        ),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


@dataclass
class Measured:
    """One setting's rounds: articles a minute, CPU ms per article, statuses, peak RSS."""

    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statuses: list[dict] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return float(np.median(self.rates))

    @property
    def median_cpu(self) -> float:
        return float(np.median(self.cpu))


def rounds(
    settings: list[str],
    articles: list[dict],
    args: argparse.Namespace,
    *,
    today: dict[str, str],
    options: dict | None = None,
) -> dict[str, Measured]:
    """Run every setting ``args.rounds`` times, interleaved, the order reversed every other
    round."""
    measured = {encoder: Measured() for encoder in settings}
    label = "custom labels, " if options else ""
    for round_no in range(args.rounds):
        for encoder in settings if round_no % 2 == 0 else settings[::-1]:
            rate, statuses, peak, cpu = one_round(
                encoder, articles, args.processes, options, today=today
            )
            runs = measured[encoder]
            runs.rates.append(rate)
            runs.cpu.append(cpu)
            runs.statuses.append(statuses)
            runs.peaks.append(peak)
            print(f"{label}round {round_no + 1} {encoder:14} {rate:7.1f} articles/min  "
                  f"{cpu:5.1f} CPU ms/article  statuses {statuses}  "
                  f"worker peak RSS {peak:.0f} MB", flush=True)  # fmt: skip
    return measured


def table(measured: dict[str, Measured]) -> None:
    """Print each setting's best and median rate, each against today's code and ``minilm``
    alone; its median CPU per article, as capacity against both (their CPU over its own);
    and its peak RSS."""
    today = measured[BASELINE]
    minilm = measured.get("minilm", today)
    print(f"\n{'setting':16} {'articles/min':>12} {'x today':>8} {'x minilm':>9} "
          f"{'median':>8} {'x today':>8} {'x minilm':>9} {'CPU ms/art':>11} {'x today':>8} "
          f"{'x minilm':>9} {'peak RSS MB':>12}")  # fmt: skip
    for encoder, runs in measured.items():
        print(f"{encoder:16} {runs.best:12.1f} {runs.best / today.best:8.2f} "
              f"{runs.best / minilm.best:9.2f} {runs.median:8.1f} "
              f"{runs.median / today.median:8.2f} {runs.median / minilm.median:9.2f} "
              f"{runs.median_cpu:11.1f} {today.median_cpu / runs.median_cpu:8.2f} "
              f"{minilm.median_cpu / runs.median_cpu:9.2f} {max(runs.peaks):12.0f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
