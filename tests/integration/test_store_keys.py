"""Every key a script touches is one it was given, and every key the store leaves is bounded.

The scripts run for real while MONITOR watches: each command a script runs (MONITOR shows
them as from "lua", right after the EVALSHA that ran them) may only touch keys that EVALSHA
declared, as Redis itself names a command's keys (COMMAND GETKEYS).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from types import ModuleType

import pytest
import redis

from copydesk.accept import state as accept
from copydesk.complete import state as complete
from copydesk.core.document import Document, Span
from copydesk.core.ids import now_rfc3339
from copydesk.deliver import state as deliver
from copydesk.prepare import state as prepare
from copydesk.store import base, labelsets, presence, scripts
from copydesk.store.idempotency import Idempotency
from copydesk.store.jobs import RedisJobStore
from copydesk.sweep import state as sweep

SCRIPT_MODULES: tuple[ModuleType, ...] = (
    base, accept, prepare, complete, deliver, sweep, labelsets, presence,
)  # fmt: skip
ARGUMENT = re.compile(rb'"((?:[^"\\]|\\.)*)"')
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}

# Keys that hold no TTL on purpose, each bounded otherwise: the sweeper's and the dispatcher's
# schedules (members leave as jobs end or are delivered), the /metrics counters (a fixed set of
# fields), and a tenant's label sets (at most MAX_LABEL_SETS, kept until deleted).
UNTIMED = re.compile(
    r"copydesk:(inflight|webhooks:due|stats|labelsets:[^:]+|labelset:[^:]+:[^:]+(:v:[0-9a-f]+)?)"
)


def _unescape(raw: bytes) -> bytes:
    """One argument as MONITOR quotes it (sdscatrepr) back to its bytes."""
    out, i = bytearray(), 0
    while i < len(raw):
        if raw[i : i + 1] != b"\\":
            out += raw[i : i + 1]
            i += 1
        elif raw[i + 1 : i + 2] == b"x":
            out.append(int(raw[i + 2 : i + 4], 16))
            i += 4
        else:
            out += ESCAPES.get(raw[i + 1 : i + 2], raw[i + 1 : i + 2])
            i += 2
    return bytes(out)


class Monitor:
    """The commands Redis runs, as MONITOR reports them: (source, arguments)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.connection = client.connection_pool.make_connection()
        self.connection.connect()
        self.connection.send_command("MONITOR")
        self.connection.read_response()

    def until_now(self) -> Iterator[tuple[str, list[bytes]]]:
        marker = f"monitor-mark-{id(self)}".encode()
        self.client.echo(marker)
        while True:
            line = self.connection.read_response()
            source = re.search(rb"\[\d+ ([^\]]+)\]", line).group(1).decode()
            args = [_unescape(arg) for arg in ARGUMENT.findall(line)]
            if args == [b"ECHO", marker]:
                return
            yield source, args

    def close(self) -> None:
        self.connection.disconnect()


def _keys_of(client: redis.Redis, args: list[bytes]) -> set[bytes]:
    try:
        return {key.encode() for key in client.command_getkeys(*args)}
    except redis.ResponseError:  # a command without keys (TIME, PUBLISH)
        return set()


def _every_script() -> dict[str, str]:
    """Each declared script's digest, and its name."""
    return {
        hashlib.sha1(value.source.encode()).hexdigest(): f"{module.__name__}.{name}"
        for module in SCRIPT_MODULES
        for name, value in vars(module).items()
        if isinstance(value, scripts.Script)
    }


def _record(job_id: str, **extra: object) -> dict:
    return {
        "id": job_id,
        "created_at": now_rfc3339(),
        "analyses": ["summary"],
        "options": {},
        "article": {"ref": "wire-1"},
        **extra,
    }


def _run_every_script(store: RedisJobStore) -> None:
    """Each script at least once, down the paths that touch the most keys."""
    hook = {"webhook": {"url": "http://127.0.0.1:9/hook"}}
    sets = store.label_sets
    sets.put("newsroom", "desks", ["sport"])
    sets.pin("newsroom", "desks")
    sets.put("newsroom", "desks", ["weather"])  # the pinned version is kept for the job TTL
    sets.delete("newsroom", "desks")
    presence.announce(store.redis, "worker:h:1", {"queues": ["summary"]})
    presence.live(store.redis)

    key = Idempotency(scope="newsroom", key="k-1", fingerprint="f", ttl=60)
    record = _record("a", tenant="newsroom", **hook)
    store.create(job_id="a", record=record, article={"text": "A."}, message=("prepare", "m"))
    store.create(job_id="a2", record=_record("a2"), article={"text": "A."}, idempotency=key)
    batch = {"id": "b", "created_at": now_rfc3339(), "jobs": ["b1", "b2"], **hook}
    jobs = [(i, _record(i, batch="b"), {"text": "B."}, ("prepare", "m")) for i in ("b1", "b2")]
    store.create_batch(batch=batch, jobs=jobs)
    store.create(job_id="c", record=_record("c"), article={"text": "C."})

    assert store.start_prepare("a").outcome == "started"
    doc = Document(text="A.", sentences=(Span(0, 2),), language="en")
    store.save_prepared("a", doc=doc, vectors=None, article={}, messages=[], step="text")
    store.save_prepared("a", doc=doc, vectors=b"v", article={}, messages=[("summary", "s")])
    assert store.start_analysis("a", "summary").outcome == "started"
    assert store.record_result("a", "summary", {"status": "succeeded", "elapsed_ms": 5}).completed
    for job_id in ("b1", "b2"):
        store.record_result(job_id, "summary", {"status": "failed"})
    assert store.cancel("c") == "cancelled"
    outcome, _ = store.sweep(
        "a2", analyses=["summary"], prepare_message="p", analysis_messages={"summary": "s"},
        max_rounds=3,
    )  # fmt: skip
    assert outcome == "requeued"

    assert set(store.claim_deliveries(lease_seconds=30, limit=10)) == {"a", "batch:b"}
    store.keep_body("a", b"{}")
    store.settle_delivery("a", state="pending", entry={"n": 1}, error="refused", retry_in=5)
    store.settle_delivery("batch:b", state="delivered", entry={"n": 1})
    store.settle_delivery("a", state="delivered", entry={"n": 2})
    assert store.redeliver("a", url=hook["webhook"]["url"]) == "pending"


def test_every_key_a_script_touches_is_declared(store: RedisJobStore, redis_url: str) -> None:
    watcher = redis.Redis.from_url(redis_url)
    monitor = Monitor(watcher)
    try:
        _run_every_script(store)
        commands = list(monitor.until_now())
    finally:
        monitor.close()
    declared: set[bytes] | None = None
    undeclared, ran = [], set()
    for source, args in commands:
        if source != "lua":
            declared = None
            if args[0].upper() == b"EVALSHA":
                ran.add(args[1].decode())
                declared = set(args[3 : 3 + int(args[2])])
            continue
        assert declared is not None, f"a script command with no script before it: {args}"
        stray = _keys_of(watcher, args) - declared
        if stray:
            undeclared.append((args[0].decode(), sorted(stray)))
    watcher.close()
    assert undeclared == []
    scripts = _every_script()
    assert {scripts[sha] for sha in scripts.keys() - ran} == set()  # every script ran


def test_every_key_the_store_leaves_expires_or_is_bounded(store: RedisJobStore) -> None:
    _run_every_script(store)
    lasting = [
        key.decode()
        for key in store.redis.scan_iter("copydesk:*")
        if store.redis.ttl(key) == -1 and not UNTIMED.fullmatch(key.decode())
    ]
    assert lasting == []


@pytest.mark.parametrize("gone_seconds", [0, 3600])
def test_an_expired_jobs_marker_outlives_it_by_the_setting(
    store: RedisJobStore, gone_seconds: int
) -> None:
    store.gone = gone_seconds
    store.create(job_id="g", record=_record("g"), article={"text": "G."})
    marker, job = store.expiry_marker("g"), store.job_key("g")
    assert store.ttl <= store.redis.ttl(marker) - gone_seconds <= store.ttl
    store.redis.expire(job, 100)  # most of its TTL gone by when it ends
    store.record_result("g", "summary", {"status": "succeeded"})
    assert 0 <= store.redis.ttl(marker) - gone_seconds - store.redis.ttl(job) <= 1


def test_label_set_pins_older_than_a_job_are_dropped(store: RedisJobStore) -> None:
    """A pin protects a version while a job that named it may still run: no longer."""
    sets, old = store.label_sets, store.server_time() - store.ttl - 10
    first = sets.put("t", "desks", ["sport"])["version"]
    pins = sets.key("t", "desks") + ":pins"
    store.redis.zadd(pins, {first: old, "recent": old + 20})
    second = sets.put("t", "desks", ["weather"])["version"]
    assert store.redis.exists(f"{sets.key('t', 'desks')}:v:{first}") == 0  # pinned too long ago
    store.redis.zadd(pins, {"older": old})
    sets.pin("t", "desks")
    assert store.redis.zrange(pins, 0, -1) == [b"recent", second.encode()]
    assert store.ttl - 5 < store.redis.ttl(pins) <= store.ttl
