"""``copydesk submit``, ``get`` and ``watch``: a running copydesk, through the Python client.

Bad articles are refused here, one ``path:line`` line each on stderr, and the rest are sent.
A batch the server still refuses for one of its jobs (a label set it does not know, a page
over its limits) is sent again without that job, whose ``jobs.N`` is named by its
``path:line``; a refusal that names no job splits the batch in two until it does. So one bad
line costs a few requests, never the other articles.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from copydesk.cli import sources
from copydesk.cli.output import emit, progress, say
from copydesk.client import ApiError, Client

BATCH = 1000  # jobs per POST /v1/batches (the server's default limit)
RETRIES = 3
"""Retries of a request that got no answer (0.5 + 1 + 2 s apart, each announced on stderr):
a wrong URL fails in seconds, a restarting server is waited for."""
WAIT_RETRIES = 6  # once jobs are in, ride out a longer outage (about 25 s) while waiting
REFUSES_ONE_JOB = (400, 413, 422)  # statuses where a batch's refusal may be one job's fault
# a conflict with what is stored (a label set the tenant does not keep) is one job's fault
# when the problem names the job; else (an Idempotency-Key in use) it is the whole request's
CONFLICT = 409
JOB_FIELD = re.compile(r"^jobs\.(\d+)(?:\.(.+))?$")

Sent = tuple[str, str]  # (where the article came from, its job id)


def client(args: argparse.Namespace) -> Client:
    def retrying(reason: str, retry: int, delay: float) -> None:
        say(f"{reason}; retrying in {delay:.1f} s (retry {retry} of {RETRIES})")

    return Client(args.url, api_key=args.api_key, retries=RETRIES, on_retry=retrying)


def submit(args: argparse.Namespace) -> int:
    """Send every good article (one alone as a job, more as batches); print ``id<TAB>source``
    per job, or with --wait each finished job with its ``source``."""
    desk = client(args)
    read = list(sources.read(args.files))
    if not read:
        say("the files hold no articles")
        return 1
    good: list[tuple[str, dict[str, Any]]] = []
    refused = 0

    def refuse(where: str, problem: dict[str, Any]) -> None:
        nonlocal refused
        refused += 1
        print(sources.describe(where, problem), file=sys.stderr, flush=True)

    for source in read:
        request, checked = sources.check(source, args)
        if request is None:
            refuse(checked.where, checked.problem or {})
        else:
            good.append((checked.where, checked.body or {}))
    if len(read) == 1 and good:
        accepted = _send_one(desk, *good[0], refuse=refuse)
    else:
        accepted = _send_batches(desk, good, priority=args.priority or "low", refuse=refuse)
    sent: list[Sent] = []
    for where, job_id in accepted:
        sent.append((where, job_id))
        if not args.wait:
            sys.stdout.write(f"{job_id}\t{where}\n")
            sys.stdout.flush()
    if refused:
        say(f"{refused} of {len(read)} articles refused, {len(sent) or 'none'} sent")
    if not args.wait:
        return 1 if refused else 0
    desk.retries = WAIT_RETRIES
    failed = 0
    waited = ((where, desk.wait(job_id)) for where, job_id in sent)
    for where, job in progress(waited, total=len(sent), show=args.progress):
        failed += job["status"] != "succeeded"
        emit({"source": where, **job})
    return 1 if failed or refused else 0


def get(args: argparse.Namespace) -> int:
    emit(client(args).get(args.job_id), indent=2)
    return 0


def watch(args: argparse.Namespace) -> int:
    for event in client(args).events(args.job_id):
        emit({"id": event.id, "type": event.type, **event.data})
    return 0


def _send_one(
    desk: Client, where: str, body: dict[str, Any], *, refuse: Callable[..., None]
) -> Iterator[Sent]:
    try:
        yield where, desk.submit_request(body)["id"]
    except ApiError as error:
        if error.status not in REFUSES_ONE_JOB and error.code != "unknown_label_set":
            raise
        refuse(where, error.problem)


def _send_batches(
    desk: Client,
    items: list[tuple[str, dict[str, Any]]],
    *,
    priority: Any,
    refuse: Callable[[str, dict[str, Any]], None],
) -> Iterator[Sent]:
    """Send ``items`` as batches, in order, leaving out each job the server refuses."""
    pending = [items[start : start + BATCH] for start in range(0, len(items), BATCH)][::-1]
    while pending:
        group = pending.pop()
        try:
            batch = desk.submit_batch([body for _, body in group], priority=priority)
        except ApiError as error:
            if error.status not in (*REFUSES_ONE_JOB, CONFLICT):
                raise
            named = _refused_jobs(error.problem, len(group))
            if error.status == CONFLICT and not named:
                raise
            for index, detail in named.items():
                refuse(group[index][0], {"code": error.code, "detail": detail})
            if named:
                rest = [item for index, item in enumerate(group) if index not in named]
                pending += [rest] if rest else []
            elif len(group) == 1:
                refuse(group[0][0], error.problem)
            else:  # the refusal names no job: halve the batch until it does, or is one job
                half = len(group) // 2
                pending += [group[half:], group[:half]]
            continue
        yield from zip((where for where, _ in group), batch["jobs"], strict=True)


def _refused_jobs(problem: dict[str, Any], count: int) -> dict[int, str]:
    """Map each job a batch's problem names (its errors' ``jobs.N.field``) to what is wrong
    with it, in the words of a single job's refusal (``options.topics.label_set: ...``)."""
    issues: dict[int, list[tuple[str, str]]] = {}
    for issue in problem.get("errors") or ():
        match = JOB_FIELD.match(str(issue.get("field", ""))) if isinstance(issue, dict) else None
        if match and int(match[1]) < count:
            field = match[2] or "(job)"
            issues.setdefault(int(match[1]), []).append((field, str(issue.get("message", ""))))
    detail = str(problem.get("detail", ""))
    named = {}
    for index, found in issues.items():
        field, message = found[0]
        if len(issues) == 1 and not detail.startswith("jobs."):  # the problem's own words
            message = detail
        named[index] = f"{field}: {message}"
    return named
