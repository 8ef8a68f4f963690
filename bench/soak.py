"""Sustained load with injected faults: does copydesk lose anything, and what does it cost?

One run, on a fresh `make run`-style stack (its own Redis with AOF, intake, one analysis worker
with N processes, the dispatcher) and a local webhook receiver that deduplicates by
``webhook-id``:

1. capacity: a burst of --burst real articles (BBC News, all three analyses, with webhooks);
   completed jobs per minute from the first acceptance to the last completion;
2. soak: --minutes of submissions at --load (default 0.8) times that capacity, as a client
   would send them (a 503 or 429 is retried after a pause, with the same Idempotency-Key),
   while faults are injected at fixed points of the run:
   - 20%: kill -9 of the analysis worker's pool processes;
   - 35%: the receiver answers 503 for --outage seconds;
   - 55%: kill -9 of Redis, restarted on its AOF 3 s later;
   - 75%: kill -9 of the whole analysis worker (main process and pool), restarted 2 s later;
3. drain: wait until every accepted job has ended and every webhook arrived.

It prints accepted, completed, lost (accepted jobs that never ended, or whose event never
arrived: must be 0), the 5xx answers clients saw, p50/p99 job latency (created_at ->
completed_at) beside the latency of the burst, and the soak's completion rate against the
capacity (the baseline measured in the same invocation).

    .venv/bin/python bench/soak.py [--minutes 10] [--load 0.8] [--processes 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import requests

from copydesk.devstack.receiver import Receiver
from copydesk.devstack.redis_server import RedisServer, free_port
from copydesk.devstack.stack import Stack
from throughput import news

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TERMINAL = {"succeeded", "partially_succeeded", "failed", "cancelled"}


class Client:
    """Submits like a careful client: one Idempotency-Key per article, retried on 429/5xx."""

    def __init__(self, base: str, webhook: str) -> None:
        self.base = base
        self.webhook = webhook
        self.session = requests.Session()
        self.accepted: dict[str, float] = {}  # job id -> when it was accepted
        self.server_errors = 0
        self.retries = 0

    def submit(self, article: dict, *, give_up_after: float = 120) -> str | None:
        key = uuid.uuid4().hex
        body = {"article": article, "webhook": {"url": self.webhook}}
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            try:
                answer = self.session.post(
                    self.base + "/v1/jobs", json=body, headers={"Idempotency-Key": key}, timeout=10
                )
            except requests.RequestException:
                self.server_errors += 1
                self.retries += 1
                time.sleep(1)
                continue
            if answer.status_code == 202:
                job_id = answer.json()["id"]
                self.accepted[job_id] = time.monotonic()
                return job_id
            if answer.status_code >= 500:
                self.server_errors += 1
            if answer.status_code in (429, 503) or answer.status_code >= 500:
                self.retries += 1
                time.sleep(min(5.0, float(answer.headers.get("Retry-After", 1))))
                continue
            raise SystemExit(f"unexpected answer {answer.status_code}: {answer.text[:300]}")
        return None


def job_states(session: requests.Session, base: str, ids: list[str]) -> dict[str, dict]:
    states = {}
    for job_id in ids:
        try:
            states[job_id] = session.get(f"{base}/v1/jobs/{job_id}", timeout=10).json()
        except (requests.RequestException, ValueError):
            states[job_id] = {"status": "unreachable"}
    return states


def drain(client: Client, receiver: Receiver, *, timeout: float) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    ids = list(client.accepted)
    while True:
        states = job_states(client.session, client.base, ids)
        ended = all(s.get("status") in TERMINAL for s in states.values())
        arrived = all(
            f"msg_{i}_job.{s.get('status')}" in receiver.processed for i, s in states.items()
        )
        if ended and arrived:
            return states
        if time.monotonic() > deadline:
            return states
        time.sleep(2)


def latencies(states: dict[str, dict]) -> list[float]:
    return [
        _time(s["completed_at"]) - _time(s["created_at"])
        for s in states.values()
        if s.get("completed_at")
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--load", type=float, default=0.8)
    parser.add_argument("--burst", type=int, default=120)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--outage", type=float, default=60)
    args = parser.parse_args()

    pool = news(400)
    tmp = Path(tempfile.mkdtemp(prefix="copydesk-soak-"))
    redis_server = RedisServer(data_dir=tmp / "redis", port=free_port()).start()
    stack = Stack(
        var_dir=tmp / "var",
        http_port=free_port(),
        redis_url=redis_server.url,
        analysis_concurrency=args.processes,
        log_dir=tmp / "logs",
        extra_env={
            "COPYDESK_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
            "COPYDESK_WEBHOOK_SECRET": SECRET,
            # the default schedule, 100 times faster, so a 60 s outage is "100 minutes"
            "COPYDESK_WEBHOOK_RETRY_DELAYS": "0.05,3,18,72,180,360,360",
            "COPYDESK_STALL_SECONDS": "30",
            "COPYDESK_SWEEP_INTERVAL_SECONDS": "5",
        },
    )
    receiver = Receiver(SECRET)
    try:
        stack.start(timeout=180)
        print(f"stack up ({args.processes} analysis processes); logs in {tmp / 'logs'}")

        # 1. capacity
        burst = Client(stack.base_url, receiver.url)
        for i in range(args.burst):
            burst.submit(pool[i % len(pool)])
        burst_states = drain(burst, receiver, timeout=600)
        created = min(_time(s["created_at"]) for s in burst_states.values())
        completed = max(_time(s["completed_at"]) for s in burst_states.values())
        capacity = len(burst_states) / (completed - created) * 60
        rate = args.load * capacity
        print(f"capacity: {capacity:.1f} articles/min; soak at {args.load:.0%}: {rate:.1f}/min")

        # 2. soak with faults
        client = Client(stack.base_url, receiver.url)
        seconds = args.minutes * 60
        faults = [
            (
                0.20,
                "kill -9 pool processes",
                lambda: stack.kill_hard("analysis-worker", pool_only=True),
            ),
            (0.35, f"receiver down {args.outage:g} s", lambda: outage(receiver, args.outage)),
            (0.55, "kill -9 Redis, restart on AOF", lambda: restart_redis(redis_server)),
            (0.75, "kill -9 whole worker, restart", lambda: restart_worker(stack)),
        ]
        started = time.monotonic()
        sent = 0
        log: list[str] = []
        while (elapsed := time.monotonic() - started) < seconds:
            while faults and elapsed >= faults[0][0] * seconds:
                _, name, inject = faults.pop(0)
                log.append(f"{elapsed:6.0f} s  {name}")
                print(f"  fault at {elapsed:.0f} s: {name}", flush=True)
                threading.Thread(target=inject, daemon=True).start()
            due = int(elapsed * rate / 60) + 1
            while sent < due:
                client.submit(pool[(args.burst + sent) % len(pool)])
                sent += 1
            time.sleep(0.05)
        submit_seconds = time.monotonic() - started

        # 3. drain
        states = drain(client, receiver, timeout=900)
        ended = [s for s in states.values() if s.get("status") in TERMINAL]
        lost_jobs = len(states) - len(ended)
        lost_events = sum(
            1
            for i, s in states.items()
            if f"msg_{i}_job.{s.get('status')}" not in receiver.processed
        )
        statuses: dict[str, int] = {}
        for state in states.values():
            statuses[state.get("status", "?")] = statuses.get(state.get("status", "?"), 0) + 1
        soak_lat = latencies(states)
        burst_lat = latencies(burst_states)
        done_rate = len(ended) / submit_seconds * 60
    finally:
        stack.stop()
        redis_server.stop()
        receiver.close()

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")

    print()
    print(f"soak: {args.minutes:g} min at {rate:.1f} articles/min ({args.load:.0%} of capacity)")
    print("faults:\n  " + "\n  ".join(log))
    print(f"  submitted (distinct articles)  {sent}")
    print(f"  accepted                       {len(client.accepted)}")
    print(f"  completed                      {len(ended)}  {statuses}")
    print(f"  lost (never ended)             {lost_jobs}")
    print(f"  lost events (never arrived)    {lost_events}")
    print(f"  5xx / failed requests seen     {client.server_errors} ({client.retries} retries)")
    print(
        f"  webhook duplicates dropped     {receiver.duplicates}  (refused in outage: {receiver.refused})"
    )
    print(
        f"  job latency p50 / p99          {pct(soak_lat, 50):.1f} / {pct(soak_lat, 99):.1f} s "
        f"(burst of {args.burst} at once: {pct(burst_lat, 50):.1f} / {pct(burst_lat, 99):.1f} s)"
    )
    print(
        f"  completed per minute           {done_rate:.1f} "
        f"({done_rate / capacity:.2f}x the capacity of {capacity:.1f})"
    )
    checks = [
        (len(client.accepted) == sent, f"every article accepted ({len(client.accepted)}/{sent})"),
        (lost_jobs == 0, f"0 jobs lost ({lost_jobs})"),
        (lost_events == 0, f"0 events lost ({lost_events})"),
        (receiver.bad_signatures == 0, f"every signature valid ({receiver.bad_signatures} bad)"),
        (statuses.get("succeeded", 0) == len(states), "every job succeeded"),
    ]
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


def outage(receiver: Receiver, seconds: float) -> None:
    receiver.down.set()
    time.sleep(seconds)
    receiver.down.clear()


def restart_redis(server: RedisServer) -> None:
    server.stop(kill=True)
    time.sleep(3)
    server.start()


def restart_worker(stack: Stack) -> None:
    process = stack.processes["analysis-worker"]
    stack.kill_hard("analysis-worker")
    process.wait(timeout=30)
    time.sleep(2)
    stack.restart("analysis-worker")


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


if __name__ == "__main__":
    sys.exit(main())
