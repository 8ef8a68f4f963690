"""A typed Python client for the copydesk v1 API, with no dependencies beyond the stdlib.

    from copydesk.client import Client
    desk = Client("http://127.0.0.1:8000", api_key="...")
    job = desk.wait(desk.submit({"text": "A storm closed three ports..."})["id"])

Every POST carries an Idempotency-Key (one per call, reused by its retries), so a retry after
a timeout or a 503 never makes a second job. Connection errors, 429 and 503 are retried with
the server's Retry-After; other errors raise :class:`ApiError` with the problem document.
"""

from __future__ import annotations

import gzip
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from copydesk.core.names import TERMINAL_STATUSES as TERMINAL, Priority

DEFAULT_URL = "http://127.0.0.1:8000"
GZIP_OVER = 65_536
"""Request bodies longer than this (bytes) are sent gzipped (a 3 MB page shrinks fivefold)."""


class ApiError(Exception):
    """A 4xx/5xx answer; ``problem`` is its RFC 9457 body (``code`` names the error)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str | None:
        return self.problem.get("code")


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
    ) -> None:
        self.base_url = (base_url or os.environ.get("COPYDESK_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("COPYDESK_API_KEY")
        self.timeout = timeout
        self.retries = retries

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
        while True:
            headers = {"Accept": "text/event-stream"}
            if last:
                headers["Last-Event-ID"] = last
            try:
                with self._open("GET", f"/v1/jobs/{job_id}/events", None, headers) as stream:
                    failures = 0
                    for event in _parse_sse(stream):
                        last = event.id
                        yield event
                        if event.terminal:
                            return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                failures += 1
                if failures > self.retries:
                    raise
                time.sleep(min(10.0, 0.5 * 2**failures))
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
        while True:
            attempt += 1
            try:
                with self._open(method, path, body, headers) as answer:
                    data = answer.read()
                    return data.decode("utf-8") if raw else json.loads(data or b"null")
            except urllib.error.HTTPError as error:
                problem = _problem(error)
                if error.code in (429, 503) and attempt <= self.retries:
                    time.sleep(_retry_after(error, attempt))
                    continue
                raise ApiError(error.code, problem) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if attempt > self.retries:
                    raise
                time.sleep(min(10.0, 0.25 * 2**attempt))

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
        problem = {}
    return problem if isinstance(problem, dict) else {"detail": str(problem)}


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
