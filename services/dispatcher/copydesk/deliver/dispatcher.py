"""The dispatcher process: sends due webhooks, runs the sweeper, and the archiver when on.

``python -m copydesk.deliver.dispatcher`` (``make run`` and compose start one). Any number may
run against one Redis: deliveries are claimed with a lease and sweeps are atomic per job. It
imports no model code and holds no Celery worker: webhooks are I/O on threads, up to
``COPYDESK_WEBHOOK_CONCURRENCY`` at a time. A Redis outage pauses it; it resumes by itself.
``python -m copydesk.deliver.dispatcher check`` exits 0 while this host's dispatcher is alive.
Each dispatcher announces itself in presence (:mod:`copydesk.store.presence`) from its sweep
loop, so a hung sweeper stops its beat, and withdraws when it stops; the check and the worker
report read presence in O(processes), never by scanning the keyspace.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import redis

from copydesk.archive.archiver import Archiver
from copydesk.archive.articles import Archive
from copydesk.core.logs import configure
from copydesk.store import presence
from copydesk.core.settings import Settings, get_settings
from copydesk.store.base import redis_client
from copydesk.store.jobs import RedisJobStore
from copydesk.deliver.delivery import Deliverer
from copydesk.sweep.sweeper import Sweeper

log = logging.getLogger("copydesk.dispatcher")
POLL_SECONDS = 0.25  # how often an idle dispatcher looks for due webhooks
HEARTBEAT_SECONDS = presence.BEAT  # within presence.TTL: a beat lost is no absence


class Dispatcher:
    """Claim due webhooks into a thread pool; sweep stalled jobs on a second thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: RedisJobStore | None = None,
        deliverer: Deliverer | None = None,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.store = store or RedisJobStore.from_settings(settings)
        self.deliverer = deliverer or Deliverer(store=self.store, settings=settings)
        self.sweeper = Sweeper(store=self.store, settings=settings)
        self.archiver = (
            Archiver(store=self.store, archive=Archive(settings.database_url), settings=settings)
            if settings.database_url
            else None
        )
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.process = f"dispatcher:{self.name}"  # its member in presence
        self.started = time.time()
        self.stopping = threading.Event()
        self.signalled = False  # set by stop_on_signal; run() turns it into ``stopping``
        self._busy = 0
        self._lock = threading.Lock()

    def run(self) -> None:
        """Work until :meth:`stop`; in-flight attempts finish (each has its deadline)."""
        sweeping = threading.Thread(target=self._sweep_loop, name="sweeper", daemon=True)
        sweeping.start()
        archiving = None
        if self.archiver is not None:
            archiving = threading.Thread(
                target=self.archiver.run, args=(self.stopping,), name="archiver", daemon=True
            )
            archiving.start()
        log.info(
            "dispatcher %s: %d deliveries at a time, retries after %s s; sweeping every %g s "
            "(stall %d s, %d rounds)",
            self.name,
            self.settings.webhook_concurrency,
            ",".join(f"{d:g}" for d in self.settings.webhook_retry_delays),
            self.settings.sweep_interval_seconds,
            self.store.stall,
            self.settings.sweep_max_rounds,
        )
        with ThreadPoolExecutor(self.settings.webhook_concurrency, "deliver") as pool:
            failures, retry_at = 0, 0.0
            while not (self.stopping.is_set() or self.signalled):
                if time.monotonic() < retry_at:  # short waits: a signal cannot end a wait
                    self.stopping.wait(POLL_SECONDS)
                    continue
                try:
                    claimed = self._claim()
                    failures = 0
                except redis.RedisError as exc:
                    failures += 1
                    log.warning("Redis unavailable (%s); dispatcher waits", exc)
                    retry_at = time.monotonic() + min(5.0, 0.2 * 2**failures)
                    continue
                for job_id in claimed:
                    pool.submit(self._deliver, job_id)
                if not claimed:
                    self.stopping.wait(POLL_SECONDS)
            self.stopping.set()  # after a signal: the sweeper and the archiver stop too
            sweeping.join(timeout=5)  # it withdraws as it ends: no beat can follow that
            if sweeping.is_alive():  # a sweep pass still under way: it cannot beat again
                self._withdraw()  # (it checks ``stopping`` before each beat), so withdraw here
            if archiving is not None:
                archiving.join(timeout=10)  # a write under way commits or puts its jobs back

    def stop(self) -> None:
        self.stopping.set()

    def stop_on_signal(self, *_: object) -> None:
        """Stop within ``POLL_SECONDS``: the SIGTERM and SIGINT handler, which takes no lock.

        Python runs a handler on the main thread between two bytecodes, wherever it is, and
        that can be inside ``stopping.wait()`` holding the Event's lock: ``stopping.set()``
        there waited for its own thread forever, and the process hung until SIGKILL with its
        presence still live. So the handler only sets a flag that :meth:`run` reads.
        """
        self.signalled = True

    def _about(self) -> dict[str, object]:
        return {
            "kind": "dispatcher",
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "name": self.name,
            "started_at": self.started,
        }

    def _withdraw(self) -> None:
        try:
            presence.withdraw(self.store.redis, self.process)
        except redis.RedisError as exc:  # it drops out when its presence runs out
            log.warning("dispatcher %s not withdrawn from presence: %s", self.name, exc)

    def _claim(self) -> list[str]:
        with self._lock:
            free = self.settings.webhook_concurrency - self._busy
        if free <= 0:
            return []
        lease = self.settings.webhook_timeout_seconds + 30
        claimed = self.store.claim_deliveries(lease_seconds=lease, limit=free)
        with self._lock:
            self._busy += len(claimed)
        return claimed

    def _deliver(self, job_id: str) -> None:
        try:
            self.deliverer.deliver(job_id)
        except redis.RedisError as exc:  # the lease brings it back once Redis answers
            log.warning("webhook of job %s not settled, Redis unavailable: %s", job_id, exc)
        except Exception:
            log.exception("webhook of job %s: dispatcher error", job_id)
        finally:
            with self._lock:
                self._busy -= 1

    def _sweep_loop(self) -> None:
        """Beat the heart every few seconds; sweep every ``COPYDESK_SWEEP_INTERVAL_SECONDS``."""
        interval = self.settings.sweep_interval_seconds
        last_sweep = -interval
        while not self.stopping.is_set():
            try:
                presence.announce(self.store.redis, self.process, self._about())
                if time.monotonic() - last_sweep >= interval:
                    last_sweep = time.monotonic()
                    counts = self.sweeper.sweep()
                    if counts:
                        log.info("sweep: %s", counts)
            except redis.RedisError as exc:
                log.warning("sweep skipped, Redis unavailable: %s", exc)
            except Exception:
                log.exception("sweep failed")
            self.stopping.wait(min(interval, HEARTBEAT_SECONDS))
        self._withdraw()  # the thread that beats withdraws, so no beat comes after it


def alive_here(client: redis.Redis) -> bool:
    """Whether a dispatcher on this host announced itself within its presence's TTL."""
    host = socket.gethostname()
    return any(d.get("host") == host for d in presence.dispatchers(presence.live(client)))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    settings = get_settings()
    if args[:1] == ["check"]:  # health check: is a dispatcher on this host alive?
        return 0 if alive_here(redis_client(settings)) else 1
    configure("dispatcher", fmt=settings.log_format, level=settings.log_level)
    dispatcher = Dispatcher(settings)
    signal.signal(signal.SIGTERM, dispatcher.stop_on_signal)
    signal.signal(signal.SIGINT, dispatcher.stop_on_signal)
    dispatcher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
