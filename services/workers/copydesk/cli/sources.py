"""Read the articles of FILE arguments, each with the place it came from, and check them.

Every article is checked here with the intake's own request model before anything is sent, so
one bad line is named ``path:line`` and refused alone while the rest go ahead, instead of the
server refusing a whole batch and naming the line ``jobs.12``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from copydesk.core.names import DEFAULT_ANALYSES
from copydesk.core.schemas import JobRequest

LABELS_HELP = "JSON file: a list of topic labels (names or label objects) for every article"


@dataclass(frozen=True, slots=True)
class Source:
    """One article read from a FILE: where it came from, and its job request or its problem.

    ``where`` is the path as given (``path:line`` for a .jsonl line), which the output and the
    error messages name; ``ident`` uses the file's name alone (``analyze --local``'s job ids).
    """

    where: str
    ident: str
    body: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


def read(files: list[Path]) -> Iterator[Source]:
    """Yield each article of ``files`` in order; a file or line that cannot be read becomes a
    Source with a problem (``unreadable_file``, ``malformed_json``, ``validation_failed``)."""
    for path in files:
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            at = f"byte 0x{exc.object[exc.start]:02x} at position {exc.start}"
            yield _unreadable(path, f"not UTF-8 text ({at})")
            continue
        except OSError as exc:
            yield _unreadable(path, exc.strerror or str(exc))
            continue
        if path.suffix == ".jsonl":
            # lines end at "\n" alone, as editors count them: a JSON string may hold a raw
            # U+2028 or form feed, where str.splitlines would cut it
            for number, line in enumerate(content.split("\n"), 1):
                if line.strip():
                    yield _line(path, number, line)
        elif path.suffix in (".html", ".htm"):
            yield Source(str(path), path.name, {"article": {"html": content}})
        else:
            yield Source(str(path), path.name, {"article": {"text": content}})


def check(source: Source, args: argparse.Namespace) -> tuple[JobRequest | None, Source]:
    """Validate the source's request (after the command line's defaults) as POST /v1/jobs
    would; returns the request, or None and the source with its problem."""
    if source.body is None:
        return None, source
    body = defaults(source.body, args)
    if getattr(args, "priority", None) and "priority" not in body:
        body["priority"] = args.priority
    try:
        return JobRequest.model_validate(body), source
    except ValidationError as exc:
        return None, Source(source.where, source.ident, body, validation_problem(exc))


def defaults(body: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Give a job request the command line's analyses and labels where it names none."""
    if args.analyses and "analyses" not in body:
        body["analyses"] = [a.strip() for a in args.analyses.split(",") if a.strip()]
    analyses = body.get("analyses", DEFAULT_ANALYSES)
    wants_topics = isinstance(analyses, list | tuple) and "topics" in analyses
    if args.labels is not None and wants_topics and isinstance(body.get("options", {}), dict):
        topics = body.setdefault("options", {}).setdefault("topics", {})
        if isinstance(topics, dict) and "labels" not in topics and "label_set" not in topics:
            topics["labels"] = args.labels
    return body


def describe(where: str, problem: dict[str, Any]) -> str:
    """The one line that names a refused article: ``path:line: code: detail``."""
    code = problem.get("code")
    detail = " ".join(str(problem.get("detail", "")).split())  # one line, whatever it held
    return f"{where}: {code}: {detail}" if code else f"{where}: {detail}"


def validation_problem(exc: ValidationError) -> dict[str, Any]:
    """The problem the intake would answer for this request (its code and first field)."""
    issues = exc.errors(include_url=False, include_input=False)
    field = ".".join(str(part) for part in issues[0]["loc"]) or "(body)"
    unknown = any(issue["type"] == "unknown_analysis" for issue in issues)
    code = "unknown_analysis" if unknown else "validation_failed"
    return {"status": 422, "code": code, "detail": f"{field}: {issues[0]['msg']}"}


def labels_file(value: str) -> list[Any]:
    try:
        labels = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"cannot read labels from {value}: {error}") from None
    if not isinstance(labels, list) or not labels:
        raise argparse.ArgumentTypeError(f"{value} must hold a non-empty JSON list of labels")
    return labels


def _line(path: Path, number: int, line: str) -> Source:
    where, ident = f"{path}:{number}", f"{path.name}:{number}"
    try:
        body = json.loads(line)
    except json.JSONDecodeError as exc:
        return _refused(where, ident, "malformed_json", f"{exc.msg} (column {exc.colno})")
    except RecursionError:
        return _refused(where, ident, "malformed_json", "the line nests too deeply")
    if not isinstance(body, dict):
        detail = "(body): must be a JSON object (an article or a job)"
        return _refused(where, ident, "validation_failed", detail)
    return Source(where, ident, body if "article" in body else {"article": body})


def _refused(where: str, ident: str, code: str, detail: str) -> Source:
    status = 400 if code == "malformed_json" else 422  # as the intake answers each
    return Source(where, ident, problem={"status": status, "code": code, "detail": detail})


def _unreadable(path: Path, detail: str) -> Source:
    return Source(str(path), path.name, problem={"code": "unreadable_file", "detail": detail})
