"""Measure what the probes and a filtered list page cost as Redis fills with finished jobs.

In one run, against a `make run`-style stack on its own Redis (maxmemory lifted for the run):
- two real jobs are run to their end through the stack: the seed article (succeeded) and the
  same article ten times over, past COPYDESK_MAX_SENTENCES (failed, too_many_sentences);
- their keys are copied under new job ids, pipelined: every key that names the job (DUMP and
  RESTORE, so each copy has the real encoding, size and TTL; the job hash rewritten with the
  new id) and the job's place in every sorted set and set that holds it (the tenant's index,
  any status index), so each copy is what a finished job leaves behind. --failed-share of the
  copies are failed ones;
- at each size (default 10,000 then 1,000,000 jobs) it probes /readyz, /metrics, /v1/models,
  /v1/workers and GET /v1/jobs?status=failed, one request at a time, in --rounds rounds of
  --probes requests each, and prints p50, the median of the rounds' p99s (one busy moment on
  a shared machine cannot decide it) and each round's p99; and Redis memory per job
  (used_memory growth / jobs added). As a baseline, what the old presence read (a SCAN of the
  keyspace, once per /readyz) costs at that size.
PASS lines: every p99 under 50 ms at the largest size, and p99 largest / smallest under 2x.

    .venv/bin/python bench/scale.py [--sizes 10000,1000000] [--probes 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import redis
import requests

from copydesk.devstack.redis_server import free_port
from copydesk.devstack.stack import Stack

SEED = Path(__file__).parent.parent / "tests" / "unit" / "fixtures" / "seed_article.txt"
PROBES = ("/readyz", "/metrics", "/v1/models", "/v1/workers", "/v1/jobs?status=failed&limit=20")
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}
CEILING_MS = 50.0
MOST_RATIO = 2.0
BATCH = 1000  # jobs per pipeline


class Template:
    """One real finished job's keys and memberships, to be copied under new ids."""

    def __init__(self, client: redis.Redis, job_id: str) -> None:
        self.job_id = job_id.encode()
        self.hashes: dict[bytes, tuple[dict[bytes, list[bytes]], int]] = {}
        self.dumps: dict[bytes, tuple[bytes, int]] = {}
        self.zsets: dict[bytes, float] = {}
        self.sets: list[bytes] = []
        for key in client.scan_iter(f"*{job_id}*", count=1000):  # the bench's own set-up
            ttl = max(0, client.pttl(key))
            if client.type(key) == b"hash":
                fields = {f: v.split(self.job_id) for f, v in client.hgetall(key).items()}
                self.hashes[key] = (fields, ttl)
            else:
                self.dumps[key] = (client.dump(key), ttl)
        for key in client.scan_iter("copydesk:*", count=1000):
            kind = client.type(key)
            if kind == b"zset" and (score := client.zscore(key, job_id)) is not None:
                self.zsets[key] = score
            elif kind == b"set" and client.sismember(key, job_id):
                self.sets.append(key)

    def copy(self, pipe: redis.client.Pipeline, new_id: str, serial: int) -> None:
        new = new_id.encode()
        for key, (fields, ttl) in self.hashes.items():
            copied = key.replace(self.job_id, new)
            pipe.hset(copied, mapping={f: new.join(parts) for f, parts in fields.items()})
            if ttl:
                pipe.pexpire(copied, ttl)
        for key, (payload, ttl) in self.dumps.items():
            pipe.restore(key.replace(self.job_id, new), ttl, payload, replace=True)
        for key, score in self.zsets.items():  # after the template, in creation order:
            pipe.zadd(key, {new_id: score + serial})  # listings score in µs, one apart
        for key in self.sets:
            pipe.sadd(key, new_id)


def run_job(session: requests.Session, base: str, text: str) -> dict:
    job_id = session.post(base + "/v1/jobs", json={"article": {"text": text}}).json()["id"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = session.get(f"{base}/v1/jobs/{job_id}").json()
        if job["status"] in TERMINAL:
            return job
        time.sleep(0.2)
    raise SystemExit(f"job {job_id} did not finish in 5 minutes")


def fill(
    client: redis.Redis, templates: list[Template], *, start: int, stop: int, failed_share: float
) -> None:
    """Copy the templates until there are ``stop`` jobs (``start`` already), pipelined."""
    every = max(1, round(1 / failed_share)) if failed_share > 0 else 0
    for first in range(start, stop, BATCH):
        pipe = client.pipeline(transaction=False)
        for serial in range(first, min(stop, first + BATCH)):
            failed = every and serial % every == 0
            template = templates[1] if failed else templates[0]
            template.copy(pipe, f"{serial:032x}", serial + 1)
        pipe.execute()


def settle(client: redis.Redis) -> None:
    """Wait out the AOF rewrite or snapshot a fill set off: its fork would time the probes."""
    while True:
        state = client.info("persistence")
        if not (state.get("aof_rewrite_in_progress") or state.get("rdb_bgsave_in_progress")):
            return
        time.sleep(0.5)


def probe(
    session: requests.Session, base: str, path: str, count: int, *, rounds: int
) -> tuple[float, list[float]]:
    """p50 in ms of ``rounds`` x ``count`` sequential GETs, and the p99 of each round.

    On a shared machine one busy moment decides a single p99; the median of the rounds' p99s
    is what the endpoint costs, and the spread shows the interference.
    """
    timings, p99s = [], []
    for _ in range(rounds):
        for _ in range(5):  # unmeasured: connections and caches warm
            session.get(base + path)
        round_timings = []
        for _ in range(count):
            started = time.perf_counter()
            response = session.get(base + path)
            round_timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:200]}")
        round_timings.sort()
        p99s.append(round_timings[min(count - 1, int(0.99 * count))])
        timings.extend(round_timings)
    return statistics.median(timings), p99s


def scan_ms(client: redis.Redis) -> float:
    """What finding presence by SCAN (as /readyz did before) costs now: median of 3, in ms."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        list(client.scan_iter("copydesk:presence:*", count=500))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000", help="job counts, ascending")
    parser.add_argument("--probes", type=int, default=200, help="GETs per path per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--failed-share", type=float, default=0.1)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    seed = SEED.read_text(encoding="utf-8")

    with tempfile.TemporaryDirectory() as var:
        stack = Stack(
            var_dir=Path(var),
            http_port=free_port(),
            log_dir=Path(var) / "logs",
            analysis_concurrency=1,
            extra_env={"COPYDESK_MAX_SENTENCES": "40"},  # the article ten times over fails
        )
        stack.start(timeout=300)
        client = redis.Redis.from_url(stack.redis_url or "")
        try:
            client.config_set("maxmemory", 0)  # this Redis is the bench's: let it hold them all
            session = requests.Session()
            succeeded = run_job(session, stack.base_url, seed)
            failed = run_job(session, stack.base_url, "\n\n".join([seed] * 10))
            if (succeeded["status"], failed["status"]) != ("succeeded", "failed"):
                raise SystemExit(f"templates ended {succeeded['status']}, {failed['status']}")
            templates = [Template(client, succeeded["id"]), Template(client, failed["id"])]
            keys = sorted(k.decode() for k in [*templates[0].hashes, *templates[0].dumps])
            print(f"a finished job's keys: {', '.join(keys)}")
            print(f"  and its place in: {', '.join(k.decode() for k in templates[0].zsets)}")
            results: dict[int, dict[str, tuple[float, list[float]]]] = {}
            jobs, memory = 2, client.info("memory")["used_memory"]
            for size in sizes:
                started = time.monotonic()
                fill(client, templates, start=jobs, stop=size, failed_share=args.failed_share)
                used = client.info("memory")["used_memory"]
                per_job = (used - memory) / max(1, size - jobs)
                print(
                    f"\n{size:,} jobs ({client.dbsize():,} keys; filled in "
                    f"{time.monotonic() - started:.0f} s): Redis used_memory "
                    f"{used / 2**20:,.0f} MiB, {per_job:,.0f} bytes per finished job"
                )
                print(
                    f"  baseline: one SCAN for presence keys, as before, {scan_ms(client):.0f} ms"
                )
                jobs, memory = size, used
                settle(client)
                results[size] = {
                    path: probe(session, stack.base_url, path, args.probes, rounds=args.rounds)
                    for path in PROBES
                }
                for path, (p50, p99s) in results[size].items():
                    rounds = "/".join(f"{p:.1f}" for p in p99s)
                    print(
                        f"  {path:<34} p50 {p50:6.1f} ms   p99 {statistics.median(p99s):6.1f} ms"
                        f"   (each round's p99: {rounds})"
                    )
        finally:
            client.close()
            stack.stop()

    smallest, largest = results[sizes[0]], results[sizes[-1]]
    failures = 0
    print()
    for path in PROBES:
        p99, base = statistics.median(largest[path][1]), statistics.median(smallest[path][1])
        ratio = p99 / base if base else float("inf")
        for ok, line in (
            (
                p99 < CEILING_MS,
                f"{path} p99 {p99:.1f} ms at {sizes[-1]:,} jobs (< {CEILING_MS:g} ms)",
            ),
            (
                ratio < MOST_RATIO,
                f"{path} p99 ratio {sizes[-1]:,} / {sizes[0]:,} jobs = {ratio:.2f} (< {MOST_RATIO:g})",
            ),
        ):
            print(("PASS " if ok else "FAIL ") + line)
            failures += not ok
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
