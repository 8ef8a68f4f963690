"""The ``copydesk`` command: ``copydesk analyze --local FILE...`` analyses without a server.

Each FILE is .txt (one article), .html (one page) or .jsonl (one article object per line, or
a whole job request with ``article``, ``analyses`` and ``options``). Every article is
validated like a POST /v1/jobs body, runs through the same prepare stage and analysers as the
workers, and comes out as one JSON job document per line on stdout, in input order. With
``--processes N`` the articles are spread over N processes. The summary line on stderr gives
the throughput with start-up (model loading) excluded: the in-process baseline the
benchmarks compare the service with.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

_PIPELINE: Any = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copydesk", description="copydesk text analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("analyze", help="analyse articles", description=__doc__)
    local.add_argument("--local", action="store_true", required=True, help="run in-process")
    local.add_argument("files", nargs="+", type=Path, metavar="FILE")
    local.add_argument("--analyses", help="comma-separated (default: all three)")
    local.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    local.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    local.add_argument("--stats", type=Path, help="also write the timing summary as JSON here")
    args = parser.parse_args(argv)
    return analyze_local(args)


def analyze_local(args: argparse.Namespace) -> int:
    from copydesk.core.schemas import JobRequest

    requests: list[tuple[str, Any]] = []
    for ident, body in _bodies(args.files):
        if args.analyses and "analyses" not in body:
            body["analyses"] = [a.strip() for a in args.analyses.split(",") if a.strip()]
        try:
            requests.append((ident, JobRequest.model_validate(body)))
        except ValidationError as exc:
            requests.append((ident, _problem(exc)))
    processes = max(1, args.processes)
    context = multiprocessing.get_context("fork")
    loaded = context.Barrier(processes + 1)
    began = time.perf_counter()
    with context.Pool(processes, initializer=_start, initargs=(loaded,)) as pool:
        loaded.wait()  # every process has loaded its models
        started = time.perf_counter()
        jobs = pool.imap(_run, requests, chunksize=1)
        show = args.progress if args.progress is not None else sys.stderr.isatty()
        count = 0
        for job in _progress(jobs, total=len(requests), show=show and len(requests) > 1):
            sys.stdout.write(json.dumps(job, ensure_ascii=False) + "\n")
            count += 1
        seconds = time.perf_counter() - started
    stats = {
        "articles": count,
        "processes": processes,
        "seconds": round(seconds, 3),
        "startup_seconds": round(started - began, 3),
        "articles_per_minute": round(count / seconds * 60, 1) if seconds > 0 else None,
    }
    print(
        f"copydesk: {count} articles in {seconds:.1f} s on {processes} process(es): "
        f"{stats['articles_per_minute']} articles/min (start-up {stats['startup_seconds']} s "
        "excluded)",
        file=sys.stderr,
    )
    if args.stats:
        args.stats.write_text(json.dumps(stats) + "\n")
    return 0


def _bodies(files: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in files:
        if path.suffix == ".jsonl":
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if line.strip():
                    body = json.loads(line)
                    wrapped = body if "article" in body else {"article": body}
                    yield f"{path.name}:{number}", wrapped
        elif path.suffix in (".html", ".htm"):
            yield path.name, {"article": {"html": path.read_text(encoding="utf-8")}}
        else:
            yield path.name, {"article": {"text": path.read_text(encoding="utf-8")}}


def _problem(exc: ValidationError) -> dict[str, Any]:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "(body)"
    return {"status": 422, "code": "validation_failed", "detail": f"{field}: {first['msg']}"}


def _start(loaded: Any) -> None:
    global _PIPELINE
    from copydesk.core.settings import get_settings
    from copydesk.workers.local import LocalPipeline

    _PIPELINE = LocalPipeline(get_settings())
    _PIPELINE.warm_up()
    loaded.wait()


def _run(item: tuple[str, Any]) -> dict[str, Any]:
    ident, request = item
    if isinstance(request, dict):
        return {"id": ident, "status": "rejected", "error": request}
    return _PIPELINE.run(request, job_id=ident)


def _progress(jobs: Iterator[dict[str, Any]], *, total: int, show: bool) -> Iterator[Any]:
    if not show:
        return jobs
    from tqdm import tqdm

    return tqdm(jobs, total=total, unit="article", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
