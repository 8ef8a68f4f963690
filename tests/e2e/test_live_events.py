"""Live events over a real intake (gunicorn as ``make run`` starts it), read off raw sockets.

The stack here has no topics worker, so a job that asks for topics waits forever after its
prepare: its stream is idle, which is what the keep-alive and the cost tests need. Its
keep-alive interval is 1 s, so a 30 s idle stream has many to show, and each intake process
holds at most 60 streams, so the bound is reached with a few more than 120.
"""

from __future__ import annotations

import json
import random
import socket
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from copydesk.core.names import QUEUES
from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack
from copydesk.devstack.waiting import wait_for

KEY = "live-key-0123456789"
STREAMS_PER_PROCESS = 60
INTAKE_PROCESSES = 2  # as make run starts it
TERMINAL = ("job.succeeded", "job.partially_succeeded", "job.failed", "job.cancelled")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("live")
    running = Stack(
        var_dir=var,
        http_port=free_port(),
        log_dir=var / "logs",
        analysis_queues=",".join(queue for queue in QUEUES if queue != "topics"),
        extra_env={
            "COPYDESK_API_KEYS": f"live:{KEY}",
            "COPYDESK_RATE_LIMIT": "100000/minute",
            "COPYDESK_SSE_KEEPALIVE_SECONDS": "1",
            "COPYDESK_SSE_MAX_STREAMS": str(STREAMS_PER_PROCESS),
            # room for an article whose prepare takes well over 5 s on any machine
            "COPYDESK_MAX_SENTENCES": "5000",
            "COPYDESK_MAX_TOKENS": "120000",
            "COPYDESK_MAX_CHARS": "600000",
        },
    )
    try:
        running.start(timeout=120)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {KEY}"
        yield session


def submit(stack: Stack, api: requests.Session, text: str, analyses: list[str]) -> dict:
    body = {"article": {"text": text}, "analyses": analyses}
    response = api.post(stack.base_url + "/v1/jobs", json=body, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()


@dataclass
class Block:
    """One SSE block as it arrived: its fields (event, id, data, retry) or its comment."""

    at: float  # time.monotonic() when its last byte arrived
    fields: dict[str, str] = field(default_factory=dict)
    comment: str | None = None


class RawStream:
    """GET a job's events over a raw socket (HTTP/1.1, chunked) and time each block."""

    def __init__(self, base_url: str, job_id: str, *, last_event_id: str | None = None) -> None:
        address = urlsplit(base_url)
        self.sock = socket.create_connection((address.hostname, address.port), timeout=20)
        head = [
            f"GET /v1/jobs/{job_id}/events HTTP/1.1",
            f"Host: {address.netloc}",
            f"Authorization: Bearer {KEY}",
            "Accept: text/event-stream",
        ]
        if last_event_id:
            head.append(f"Last-Event-ID: {last_event_id}")
        self.sent_at = time.monotonic()
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        self.buffer, self.text = b"", ""  # bytes read, and body text not yet split into blocks
        status_line, *header_lines = self._until(b"\r\n\r\n").decode("latin1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines)
        }
        self.ended_at: float | None = None  # when the server ended the body

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.buffer += data

    def _until(self, mark: bytes) -> bytes:
        while mark not in self.buffer:
            self._fill()
        found, self.buffer = self.buffer.split(mark, 1)
        return found

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def problem(self) -> dict:
        length = int(self.headers["content-length"])
        return json.loads(self._take(length))

    def blocks(self) -> Iterator[Block]:
        """Each SSE block as it arrives, until the server ends the body."""
        assert self.headers.get("transfer-encoding") == "chunked", self.headers
        while True:
            while "\n\n" in self.text:
                raw, self.text = self.text.split("\n\n", 1)
                block = Block(at=time.monotonic())
                for line in raw.split("\n"):
                    name, _, value = line.partition(":")
                    if name == "":
                        block.comment = value.strip()
                    else:
                        block.fields[name] = value.removeprefix(" ")
                yield block
            size = int(self._until(b"\r\n").split(b";")[0], 16)
            if size == 0:
                self.ended_at = time.monotonic()
                return
            self.text += self._take(size + 2)[:-2].decode()

    def events(self) -> Iterator[Block]:
        return (block for block in self.blocks() if "event" in block.fields)

    def close(self) -> None:
        self.sock.close()


def long_article(sentences: int) -> str:
    """A wire story of ``sentences`` distinct sentences, in paragraphs of six."""
    rng = random.Random(7)
    who = ["The council", "A spokesman", "Dock workers", "The ministry", "Local traders",
           "The harbour master", "Farmers", "The airline", "Investors", "Police"]  # fmt: skip
    did = ["said", "warned", "reported", "confirmed", "denied", "announced", "expected"]
    what = ["that freight costs rose again", "that the bridge would reopen soon",
            "delays on the northern line", "a fall in grain exports", "new checks at the border",
            "talks with the union", "a rise in ticket prices", "damage to the sea wall"]  # fmt: skip
    when = ["on Monday", "after the storm", "in a statement", "late on Tuesday", "for a week"]
    lines = [
        f"{rng.choice(who)} {rng.choice(did)} {rng.choice(what)} {rng.choice(when)}, item {i}."
        for i in range(sentences)
    ]
    return "\n\n".join(" ".join(lines[i : i + 6]) for i in range(0, sentences, 6))


@pytest.fixture(scope="module")
def idle_job(stack: Stack, api: requests.Session) -> dict:
    """A job that waits for a topics worker this stack does not have: its stream goes idle."""
    job = submit(stack, api, "The port reopened after the storm passed.", ["topics"])
    wait_for(
        lambda: api.get(f"{stack.base_url}/v1/jobs/{job['id']}/text", timeout=10).ok,
        timeout=30,
        every=0.1,
    )
    return job


def test_the_first_event_leaves_before_a_long_prepare_ends(stack, api) -> None:  # noqa: ANN001
    """Acceptance: for an article whose prepare takes at least 5 s, job.queued reaches a raw
    socket as soon as it is asked for, long before the job ends (it used to come with all the
    others, once the job had ended)."""
    job = submit(stack, api, long_article(4000), ["summary", "sentiment"])
    stream = RawStream(stack.base_url, job["id"])
    try:
        assert stream.status == 200 and stream.headers["content-type"].startswith("text/event")
        events = stream.events()
        first = next(events)
        status_then = api.get(f"{stack.base_url}/v1/jobs/{job['id']}", timeout=10).json()["status"]
        rest = list(events)
    finally:
        stream.close()
    by_type = {block.fields["event"]: block for block in rest}
    latency = first.at - stream.sent_at
    prepare = by_type["job.final_prepared"].at - first.at
    end = rest[-1]
    print(f"first event {latency * 1000:.0f} ms after the request; prepare took {prepare:.1f} s; "
          f"job ended {end.at - stream.sent_at:.1f} s after the request")  # fmt: skip
    assert first.fields["event"] == "job.queued"
    assert end.fields["event"] == "job.succeeded"
    assert prepare >= 5, f"prepare took {prepare:.1f} s: the test needs a longer article here"
    assert status_then not in ("succeeded", "partially_succeeded", "failed", "cancelled")
    assert end.at - first.at >= 5
    assert latency < 1.0  # the target is 100 ms; kept generous for a busy test machine


def test_an_idle_stream_of_30_s_carries_keep_alives_and_no_error(stack, idle_job) -> None:  # noqa: ANN001
    """Acceptance: a stream idle for 30 s gets keep-alive comments and stays open (it used to
    end with an error after 10 s, when the Redis socket timed out under a 15 s read)."""
    stream = RawStream(stack.base_url, idle_job["id"])
    try:
        assert stream.status == 200
        blocks, started = [], time.monotonic()
        for block in stream.blocks():
            blocks.append(block)
            if block.at - started >= 30:
                break
    finally:
        stream.close()
    events = [b.fields["event"] for b in blocks if "event" in b.fields]
    beats = [b.at for b in blocks if b.comment == "keep-alive"]
    assert stream.ended_at is None, "the server ended an idle stream"
    assert events[0] == "job.queued" and not set(events) & set(TERMINAL)
    assert "job.final_prepared" in events or "job.text_prepared" in events
    assert len(beats) >= 20, f"{len(beats)} keep-alives in 30 s at a 1 s interval"
    gaps = [later - earlier for earlier, later in zip(beats, beats[1:], strict=False)]
    assert max(gaps) < 5, gaps  # never silent for long


def test_fifty_open_streams_leave_post_jobs_fast(stack, api, idle_job) -> None:  # noqa: ANN001
    """Acceptance: with 50 streams open, POST /v1/jobs still answers within 100 ms (each open
    stream used to hold one of the intake's 16 threads: the 17th request waited)."""
    with ExitStack() as held:
        streams = [RawStream(stack.base_url, idle_job["id"]) for _ in range(50)]
        for stream in streams:
            held.callback(stream.close)
        for stream in streams:
            assert stream.status == 200
            assert next(stream.events()).fields["event"] == "job.queued"
        timings = []
        for i in range(10):
            started = time.monotonic()
            submit(stack, api, f"Story {i}: the ferry sailed again after the strike.", ["topics"])
            timings.append(time.monotonic() - started)
        for stream in streams:  # each is still open, and kept alive
            kinds = [b.fields.get("event", b.comment) for b in until_keep_alive(stream)]
            assert not set(kinds) & set(TERMINAL), kinds
    print("POST /v1/jobs with 50 streams open (ms):", [round(t * 1000) for t in timings])
    assert statistics.median(timings) < 0.1, timings


def test_a_stream_asked_after_the_terminal_event_closes_at_once(stack, api) -> None:  # noqa: ANN001
    """Acceptance: resuming after the terminal event gets an empty stream, closed at once (it
    used to wait on Redis until the socket timed out)."""
    job = submit(stack, api, "The ferry sailed again after the strike ended.", ["sentiment"])
    whole = RawStream(stack.base_url, job["id"])
    try:
        events = list(whole.events())
    finally:
        whole.close()
    assert events[-1].fields["event"] == "job.succeeded"
    again = RawStream(stack.base_url, job["id"], last_event_id=events[-1].fields["id"])
    try:
        assert again.status == 200
        blocks = list(again.blocks())
    finally:
        again.close()
    assert [b.fields for b in blocks] == [{"retry": "2000"}]
    assert again.ended_at is not None and again.ended_at - again.sent_at < 1.0


def test_past_the_bound_a_stream_is_refused_with_503_too_many_streams(stack, idle_job) -> None:  # noqa: ANN001
    """Each intake process holds COPYDESK_SSE_MAX_STREAMS streams; the next one is refused
    with a problem that names the limit, and a closed stream frees its place."""
    most = STREAMS_PER_PROCESS * INTAKE_PROCESSES
    with ExitStack() as held:
        for _ in range(most + 1):
            stream = RawStream(stack.base_url, idle_job["id"])
            held.callback(stream.close)
            if stream.status != 200:
                break
        assert stream.status == 503, f"{most + 1} streams were all served"
        assert stream.headers["content-type"] == "application/problem+json"
        assert int(stream.headers["retry-after"]) > 0
        problem = stream.problem()
        assert problem["code"] == "too_many_streams" and problem["status"] == 503
    # a closed stream's place comes back once its server notices (a keep-alive fails). The
    # kernel need not spread connections evenly over the processes, so only one process's
    # worth is sure to be served at once; a process whose places never came back (the one
    # that refused above is full) would refuse some of them.
    served = lambda: all_served(stack, idle_job["id"], STREAMS_PER_PROCESS)  # noqa: E731
    assert wait_for(served, timeout=60, every=1)


def all_served(stack: Stack, job_id: str, count: int) -> bool:
    """Whether ``count`` streams opened at once are all served."""
    with ExitStack() as held:
        statuses = []
        for _ in range(count):
            stream = RawStream(stack.base_url, job_id)
            held.callback(stream.close)
            statuses.append(stream.status)
    return statuses == [200] * count


def until_keep_alive(stream: RawStream) -> list[Block]:
    """The stream's blocks up to its next keep-alive comment."""
    blocks = []
    for block in stream.blocks():
        blocks.append(block)
        if block.comment == "keep-alive":
            return blocks
    raise AssertionError(f"the stream ended after {blocks}")
