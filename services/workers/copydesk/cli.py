"""The ``copydesk`` command.

- ``copydesk submit FILE... [--wait]`` sends articles to a running copydesk (``--url`` or
  ``COPYDESK_URL``, key ``--api-key`` or ``COPYDESK_API_KEY``): one article as a job, several
  as batches; with ``--wait`` it prints each finished job as a JSON line, with a progress bar
  on stderr for many.
- ``--labels FILE`` (both commands) gives every article whose topics name no labels (nor a
  label set) of their own these topic labels: a JSON list of names or ``{"label",
  "description", "examples"}`` objects, so a label set taught with examples is written once.
- ``copydesk get ID`` prints a job; ``copydesk watch ID`` prints its live events until it ends.
- ``copydesk analyze --local FILE...`` analyses without a server (below).

All but ``analyze --local`` use :mod:`copydesk.client`, and need no worker dependencies.

``analyze --local``:
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

from copydesk.core.names import ANALYSES

_PIPELINE: Any = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="copydesk", description="copydesk text analytics")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("analyze", help="analyse articles", description=__doc__)
    local.add_argument("--local", action="store_true", required=True, help="run in-process")
    local.add_argument("files", nargs="+", type=Path, metavar="FILE")
    local.add_argument("--analyses", help="comma-separated (default: all three)")
    local.add_argument("--labels", type=_labels_file, help=LABELS_HELP)
    local.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    local.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    local.add_argument("--stats", type=Path, help="also write the timing summary as JSON here")
    submit = commands.add_parser("submit", help="send articles to a running copydesk")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("--wait", action="store_true", help="print the finished jobs")
    submit.add_argument("--analyses", help="comma-separated (default: all three)")
    submit.add_argument("--labels", type=_labels_file, help=LABELS_HELP)
    submit.add_argument("--priority", choices=["high", "normal", "low"])
    submit.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    get = commands.add_parser("get", help="print a job")
    get.add_argument("job_id", metavar="ID")
    watch = commands.add_parser("watch", help="follow a job's events until it ends")
    watch.add_argument("job_id", metavar="ID")
    for command in (submit, get, watch):
        command.add_argument("--url", help="copydesk's base URL (default: $COPYDESK_URL or "
                             "http://127.0.0.1:8000)")  # fmt: skip
        command.add_argument("--api-key", help="API key (default: $COPYDESK_API_KEY)")
    args = parser.parse_args(argv)
    if args.command == "analyze":
        return analyze_local(args)
    from copydesk.client import ApiError

    try:
        return {"submit": submit_files, "get": get_job, "watch": watch_job}[args.command](args)
    except ApiError as error:
        print(f"copydesk: {error}", file=sys.stderr)
        return 1


BATCH = 1000  # jobs per POST /v1/batches (the server's default limit)
LABELS_HELP = "JSON file: a list of topic labels (names or label objects) for every article"


def _labels_file(value: str) -> list[Any]:
    try:
        labels = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"cannot read labels from {value}: {error}") from None
    if not isinstance(labels, list) or not labels:
        raise argparse.ArgumentTypeError(f"{value} must hold a non-empty JSON list of labels")
    return labels


def _defaults(body: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Give a job request the command line's analyses and labels where it names none."""
    if args.analyses and "analyses" not in body:
        body["analyses"] = [a.strip() for a in args.analyses.split(",") if a.strip()]
    wants_topics = "topics" in body.get("analyses", ANALYSES)
    if args.labels is not None and wants_topics:
        topics = body.setdefault("options", {}).setdefault("topics", {})
        if "labels" not in topics and "label_set" not in topics:
            topics["labels"] = args.labels
    return body


def _client(args: argparse.Namespace) -> Any:
    from copydesk.client import Client

    return Client(args.url, api_key=args.api_key)


def submit_files(args: argparse.Namespace) -> int:
    """Submit every article; one alone as a job, more as batches; print ids, or results."""
    client = _client(args)
    bodies = []
    for _, body in _bodies(args.files):
        _defaults(body, args)
        if args.priority and "priority" not in body:
            body["priority"] = args.priority
        bodies.append(body)
    if len(bodies) == 1:
        ids = [client.submit_request(bodies[0])["id"]]
    else:
        ids = []
        for start in range(0, len(bodies), BATCH):
            batch = client.submit_batch(
                bodies[start : start + BATCH], priority=args.priority or "low"
            )
            ids += batch["jobs"]
    if not args.wait:
        for job_id in ids:
            print(job_id)
        return 0
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    failed = 0
    for job in _progress(
        (client.wait(job_id) for job_id in ids), total=len(ids), show=show and len(ids) > 1
    ):
        failed += job["status"] != "succeeded"
        sys.stdout.write(json.dumps(job, ensure_ascii=False) + "\n")
    return 1 if failed else 0


def get_job(args: argparse.Namespace) -> int:
    print(json.dumps(_client(args).get(args.job_id), ensure_ascii=False, indent=2))
    return 0


def watch_job(args: argparse.Namespace) -> int:
    for event in _client(args).events(args.job_id):
        print(json.dumps({"id": event.id, "type": event.type, **event.data}, ensure_ascii=False))
        sys.stdout.flush()
    return 0


def analyze_local(args: argparse.Namespace) -> int:
    from copydesk.core.schemas import JobRequest

    requests: list[tuple[str, Any]] = []
    for ident, body in _bodies(args.files):
        try:
            request = JobRequest.model_validate(_defaults(body, args))
        except ValidationError as exc:
            requests.append((ident, _problem(exc)))
            continue
        if request.options.topics.label_set is not None:  # stored by a running service only
            detail = "label sets live in a running copydesk; give labels inline or with --labels"
            requests.append((ident, {"status": 422, "code": "unknown_label_set", "detail": detail}))
            continue
        requests.append((ident, request))
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
    try:
        from tqdm import tqdm
    except ImportError:  # a client-only install: a plain counter
        return _counted(jobs, total)
    return tqdm(jobs, total=total, unit="article", file=sys.stderr)


def _counted(jobs: Iterator[Any], total: int) -> Iterator[Any]:
    for done, job in enumerate(jobs, 1):
        print(f"\r{done}/{total} articles", end="", file=sys.stderr, flush=True)
        yield job
    print(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
