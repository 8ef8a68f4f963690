"""A typed Python client for the copydesk v1 API, with no dependencies beyond the stdlib.

    from copydesk.client import Client
    desk = Client("http://127.0.0.1:8000", api_key="...")
    job = desk.wait(desk.submit({"text": "A storm closed three ports..."})["id"])

Every POST carries an Idempotency-Key (one per call, reused by its retries), so a retry after
a timeout or a 503 never makes a second job. Connection errors, 429 and 503 are retried with
the server's Retry-After, ``retries`` times, each announced to ``on_retry`` if given (so a
command line can say it is waiting rather than sit silent); other errors raise
:class:`ApiError` with the problem document, and a server that never answers raises
:class:`Unreachable`.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from copydesk.core.names import TERMINAL_STATUSES as TERMINAL, Priority

DEFAULT_URL = "http://127.0.0.1:8000"
GZIP_OVER = 65_536
"""Request bodies longer than this (bytes) are sent gzipped (a 3 MB page shrinks fivefold)."""


TRANSPORT_ERRORS = (
    urllib.error.URLError,  # HTTPError, its subclass, is an answer: caught before these
    ConnectionError,
    TimeoutError,
    http.client.HTTPException,
)
"""What a request raises when no HTTP answer came back (refused, reset, timed out, garbled)."""


class ApiError(Exception):
    """A 4xx/5xx answer (or one that is not the JSON asked for); ``problem`` is its RFC 9457
    body (``code`` names the error)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        code, detail = problem.get("code"), problem.get("detail") or problem.get("title") or ""
        super().__init__(f"{status} {code}: {detail}" if code else f"{status}: {detail}")
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str | None:
        return self.problem.get("code")

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or "")


class Unreachable(urllib.error.URLError):
    """No answer from the server on any attempt: refused, unknown host, timed out.

    A ``URLError``, as the client raised before it had a class of its own.
    """

    def __init__(self, url: str, error: BaseException, *, attempts: int, seconds: float) -> None:
        super().__init__(error)
        self.url, self.attempts, self.seconds = url, attempts, seconds

    def __str__(self) -> str:
        tries = f"{self.attempts} attempts over {self.seconds:.1f} s" if self.attempts > 1 else ""
        return f"cannot reach {self.url}: {_why(self.reason)}" + (f" ({tries})" if tries else "")


def _why(error: object) -> str:
    """Say in a few words why a request got no answer (``Connection refused``, ...)."""
    while isinstance(error, urllib.error.URLError) and not isinstance(error, Unreachable):
        error = error.reason
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


@dataclass(frozen=True, slots=True)
class Event:
    """One Server-Sent Event of a job: ``type`` (``job.running``, ``analysis.completed``,
    ``job.succeeded``, ...), its ``data`` and the ``id`` to resume after."""

    id: str
    type: str
    data: dict[str, Any]

    @property
    def terminal(self) -> bool:
        return self.type.removeprefix("job.") in TERMINAL


class Client:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 6,
        on_retry: Callable[[str, int, float], None] | None = None,
    ) -> None:
        """``on_retry(why, retry, delay)`` hears of each retry before its ``delay`` seconds:
        ``why`` in a few words (``cannot reach ...: Connection refused``, ``503 ...``),
        ``retry`` counts from 1 up to ``retries``."""
        self.base_url = (base_url or os.environ.get("COPYDESK_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("COPYDESK_API_KEY")
        self.timeout = timeout
        self.retries = retries
        self.on_retry = on_retry

    # --- jobs --------------------------------------------------------------------------------

    def submit(
        self,
        article: dict[str, Any],
        *,
        analyses: list[str] | None = None,
        options: dict[str, Any] | None = None,
        webhook: dict[str, Any] | None = None,
        priority: Priority | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit one article (``{"text": ...}`` or ``{"html": ...}``); returns the queued job."""
        body = _job_body(article, analyses, options, webhook, priority)
        return self._call("POST", "/v1/jobs", body, idempotency_key=idempotency_key)

    def submit_request(
        self, body: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Submit a whole job request (``article``, ``analyses``, ``options``, ...)."""
        return self._call("POST", "/v1/jobs", body, idempotency_key=idempotency_key)

    def submit_batch(
        self,
        jobs: list[dict[str, Any]],
        *,
        priority: Priority = "low",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit job requests (each as for POST /v1/jobs) as one batch; returns the batch."""
        body = {"jobs": jobs, "priority": priority}
        return self._call("POST", "/v1/batches", body, idempotency_key=idempotency_key)

    def get(self, job_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/jobs/{job_id}")

    def jobs(
        self, *, status: str | None = None, ref: str | None = None, page_size: int = 50
    ) -> Iterator[dict[str, Any]]:
        """Every job of this tenant, newest first, following the pages' ``next`` links."""
        query = urllib.parse.urlencode(
            {k: v for k, v in (("status", status), ("ref", ref), ("limit", page_size)) if v}
        )
        path: str | None = f"/v1/jobs?{query}"
        while path:
            page = self._call("GET", path)
            yield from page["jobs"]
            path = page.get("next")

    def deliveries(self, job_id: str) -> dict[str, Any]:
        """The job's webhook: where it stands, and every attempt."""
        return self._call("GET", f"/v1/jobs/{job_id}/deliveries")

    def models(self) -> dict[str, Any]:
        """Each analysis's backend, model, revision, window, device, precision and whether a
        live worker has it loaded."""
        return self._call("GET", "/v1/models")["analyses"]

    def batch(self, batch_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/batches/{batch_id}")

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", f"/v1/jobs/{job_id}/cancel", idempotency_key="")

    def text(self, job_id: str) -> str:
        return self._call("GET", f"/v1/jobs/{job_id}/text", raw=True)

    # --- label sets --------------------------------------------------------------------------

    def put_label_set(self, name: str, labels: list[Any]) -> dict[str, Any]:
        """Create or replace a named label set; jobs name it as ``options.topics.label_set``."""
        return self._call("PUT", f"/v1/label-sets/{name}", {"labels": labels})

    def label_set(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/label-sets/{name}")

    def label_sets(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/label-sets")["label_sets"]

    def delete_label_set(self, name: str) -> None:
        self._call("DELETE", f"/v1/label-sets/{name}")

    def wait(self, job_id: str, *, timeout: float = 600.0, poll: float = 0.5) -> dict[str, Any]:
        """Poll until the job ends; raise TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout:g} s")
            time.sleep(poll)

    def events(self, job_id: str, *, last_event_id: str | None = None) -> Iterator[Event]:
        """Follow the job's event stream until its terminal event, reconnecting (with
        Last-Event-ID, so nothing is missed or repeated) whenever the stream drops."""
        last = last_event_id
        failures = 0
        began = time.monotonic()
        while True:
            headers = {"Accept": "text/event-stream"}
            if last:
                headers["Last-Event-ID"] = last
            if not failures:
                began = time.monotonic()
            try:
                with self._open("GET", f"/v1/jobs/{job_id}/events", None, headers) as stream:
                    failures = 0
                    for event in _parse_sse(stream):
                        last = event.id
                        yield event
                        if event.terminal:
                            return
            except urllib.error.HTTPError as error:  # an answer, not a dropped stream
                failures += 1
                failure = ApiError(error.code, _problem(error))
                if error.code not in (429, 503) or failures > self.retries:
                    raise failure from None
                self._retry(str(failure), failures, _retry_after(error, failures))
                continue
            except TRANSPORT_ERRORS as error:
                failures += 1
                self._transport_failed(error, failures, began, delay=min(10.0, 0.25 * 2**failures))
                continue
            if self.get(job_id)["status"] in TERMINAL and last is None:
                return  # nothing was streamed and nothing will be

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        raw: bool = False,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if method == "POST" and idempotency_key != "":
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        attempt = 0
        began = time.monotonic()
        while True:
            attempt += 1
            try:
                with self._open(method, path, body, headers) as answer:
                    data = answer.read()
                    return data.decode("utf-8") if raw else _json(answer.status, data)
            except urllib.error.HTTPError as error:
                failure = ApiError(error.code, _problem(error))
                if error.code in (429, 503) and attempt <= self.retries:
                    self._retry(str(failure), attempt, _retry_after(error, attempt))
                    continue
                raise failure from None
            except TRANSPORT_ERRORS as error:
                self._transport_failed(error, attempt, began, delay=min(10.0, 0.25 * 2**attempt))

    def _transport_failed(
        self, error: BaseException, attempt: int, began: float, *, delay: float
    ) -> None:
        """Wait to try again after ``attempt`` got no answer, or raise :class:`Unreachable`."""
        if attempt > self.retries or not _transient(error):
            seconds = time.monotonic() - began
            raise Unreachable(self.base_url, error, attempts=attempt, seconds=seconds) from None
        self._retry(f"cannot reach {self.base_url}: {_why(error)}", attempt, delay)

    def _retry(self, reason: str, attempt: int, delay: float) -> None:
        if self.on_retry is not None:
            self.on_retry(reason, attempt, delay)
        time.sleep(delay)

    def _open(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        headers = dict(headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
            if len(data) > GZIP_OVER:
                data = gzip.compress(data, compresslevel=5)
                headers["Content-Encoding"] = "gzip"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        return urllib.request.urlopen(request, timeout=self.timeout)


def _job_body(
    article: dict[str, Any],
    analyses: list[str] | None,
    options: dict[str, Any] | None,
    webhook: dict[str, Any] | None,
    priority: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"article": article}
    for name, value in (
        ("analyses", analyses),
        ("options", options),
        ("webhook", webhook),
        ("priority", priority),
    ):
        if value is not None:
            body[name] = value
    return body


def _problem(error: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        problem = json.loads(error.read() or b"{}")
    except ValueError:
        problem = None
    if isinstance(problem, dict) and problem:
        return problem
    return {"detail": f"{error.reason} (the answer holds no problem document)"}


def _json(status: int, data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        raise ApiError(status, {"detail": "the answer is not JSON: is this copydesk?"}) from None


def _transient(error: BaseException) -> bool:
    """Tell a failure worth retrying (refused, reset, timed out) from a URL that cannot work
    (``unknown url type``, ``no host given``), which urllib reports with a string reason."""
    return not (
        isinstance(error, urllib.error.URLError) and not isinstance(error.reason, BaseException)
    )


def _retry_after(error: urllib.error.HTTPError, attempt: int) -> float:
    value = error.headers.get("Retry-After", "")
    return min(30.0, float(value)) if value.isdigit() else min(10.0, 0.5 * 2**attempt)


def _parse_sse(stream: Any) -> Iterator[Event]:
    """Read ``id:``/``event:``/``data:`` blocks from an SSE byte stream."""
    fields: dict[str, str] = {}
    for raw in stream:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if "event" in fields and "data" in fields:
                yield Event(fields.get("id", ""), fields["event"], json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":") and ":" in line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
