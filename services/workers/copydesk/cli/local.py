"""Analyse articles in this process, without a server: ``copydesk analyze --local FILE...``.

Each FILE is .txt (one article), .html (one page) or .jsonl (one article object per line, or
a whole job request with ``article``, ``analyses`` and ``options``). Every article is
validated like a POST /v1/jobs body, runs through the same prepare stage and analysers as the
workers, and comes out as one JSON job document per line on stdout, in input order, with its
``source`` (``path`` or ``path:line``). An article that cannot be read or is invalid comes
out as ``"status": "rejected"`` with the problem, is named ``path:line: code: detail`` on
stderr, and makes the command exit 1. With ``--processes N`` the articles are spread over N
processes. The summary line on stderr gives the throughput with start-up (model loading)
excluded: the in-process baseline the benchmarks compare the service with.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import time
from typing import Any

from copydesk.cli import sources
from copydesk.cli.output import emit, progress, say

_PIPELINE: Any = None
NO_LABEL_SETS = "label sets live in a running copydesk; give labels inline or with --labels"


def analyze(args: argparse.Namespace) -> int:
    requests: list[tuple[sources.Source, Any]] = []
    for read in sources.read(args.files):
        request, source = sources.check(read, args)
        if request is not None and request.options.topics.label_set is not None:
            problem = {"status": 409, "code": "unknown_label_set", "detail": NO_LABEL_SETS}
            request, source = None, sources.Source(source.where, source.ident, problem=problem)
        if request is None:
            print(sources.describe(source.where, source.problem or {}), file=sys.stderr)
        requests.append((source, request))
    if not requests:
        say("the files hold no articles")
        return 1
    processes = max(1, args.processes)
    context = multiprocessing.get_context("fork")
    loaded = context.Barrier(processes + 1)
    began = time.perf_counter()
    items = [(s.ident, r if r is not None else s.problem) for s, r in requests]
    with context.Pool(processes, initializer=_start, initargs=(loaded,)) as pool:
        loaded.wait()  # every process has loaded its models
        started = time.perf_counter()
        jobs = pool.imap(_run, items, chunksize=1)
        count = 0
        for (source, _), job in progress(
            zip(requests, jobs, strict=True), total=len(requests), show=args.progress
        ):
            emit({"source": source.where, **job})
            count += 1
        seconds = time.perf_counter() - started
    stats = {
        "articles": count,
        "processes": processes,
        "seconds": round(seconds, 3),
        "startup_seconds": round(started - began, 3),
        "articles_per_minute": round(count / seconds * 60, 1) if seconds > 0 else None,
    }
    say(
        f"{count} articles in {seconds:.1f} s on {processes} process(es): "
        f"{stats['articles_per_minute']} articles/min (start-up {stats['startup_seconds']} s "
        "excluded)"
    )
    if args.stats:
        args.stats.write_text(json.dumps(stats) + "\n")
    return 1 if any(request is None for _, request in requests) else 0


def _start(loaded: Any) -> None:
    global _PIPELINE
    from copydesk.core.settings import get_settings
    from copydesk.workers.local import LocalPipeline

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle, once
    _PIPELINE = LocalPipeline(get_settings())
    _PIPELINE.warm_up()
    loaded.wait()


def _run(item: tuple[str, Any]) -> dict[str, Any]:
    ident, request = item
    if isinstance(request, dict):
        return {"id": ident, "status": "rejected", "error": request}
    return _PIPELINE.run(request, job_id=ident)
