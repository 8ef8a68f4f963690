"""Start and stop copydesk's processes: Redis (unless one is named), PostgreSQL for the
archive (when on, unless one is named), intake, the analysis worker and the dispatcher
(webhooks, the sweeper and the archiver)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from copydesk.core.names import QUEUES
from copydesk.devstack.postgres_server import PostgresServer
from copydesk.devstack.redis_server import RedisServer, free_port

ANALYSIS_QUEUES = ",".join(QUEUES)  # prepare, then every analysis of the table


@dataclass
class Stack:
    """The processes of one local copydesk, started in dependency order."""

    var_dir: Path
    http_port: int = 8000
    http_host: str = "127.0.0.1"
    redis_url: str | None = None
    analysis_concurrency: int = field(default_factory=lambda: os.cpu_count() or 2)
    worker_nice: int = 10  # accepting stays fast while the workers use every core
    log_dir: Path | None = None
    flower_port: int | None = None  # also start Flower (Celery's monitor) on this port
    redis_maxmemory: str | None = None  # None: COPYDESK_REDIS_MAXMEMORY, else its default
    analysis_queues: str = ANALYSIS_QUEUES  # what the one analysis worker consumes
    extra_env: dict[str, str] = field(default_factory=dict)
    archive: bool = False  # archive finished jobs in PostgreSQL (make run: on)
    database_url: str | None = None  # the archive's PostgreSQL; None: start the embedded one
    redis: RedisServer | None = None
    postgres: PostgresServer | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, tuple[list[str], int]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::") else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def flower_url(self) -> str | None:
        """Where Flower answers, when this stack started it."""
        if not self.flower_port:
            return None
        return self.base_url.rsplit(":", 1)[0] + f":{self.flower_port}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "COPYDESK_REDIS_URL": self.redis_url or "",
                "COPYDESK_DATABASE_URL": (self.database_url or "") if self.archive else "",
                "COPYDESK_HTTP_PORT": str(self.http_port),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "OMP_NUM_THREADS": "1",
                "TOKENIZERS_PARALLELISM": "false",
                "PYTHONUNBUFFERED": "1",
                "MALLOC_ARENA_MAX": "2",  # fewer glibc arenas: less fragmentation, flat RSS
                # the intake's gunicorn processes share their /metrics counters here
                "PROMETHEUS_MULTIPROC_DIR": str(self.var_dir / "prometheus"),
            }
        )
        env.update(self.extra_env)
        if not env.get("COPYDESK_SECRETS_KEY"):
            env["COPYDESK_SECRETS_KEY"] = self._secrets_key()
        return env

    def _secrets_key(self) -> str:
        """Generate the key that seals webhook secrets once, and keep it under var/."""
        from copydesk.core.secrets import new_key

        return kept_secret(self.var_dir / "secrets_key", make=new_key)

    def start(self, *, timeout: float = 60.0, wait: bool = True) -> Stack:
        """Start every process (and Redis, PostgreSQL); if the stack does not come up, stop
        what was started before raising, so a failed start leaves no process behind."""
        try:
            return self._start(timeout=timeout, wait=wait)
        except BaseException:
            self.stop()
            raise

    def _start(self, *, timeout: float, wait: bool) -> Stack:
        if self.redis_url is None:  # bound on 127.0.0.1 with no password: this user's box
            self.redis = RedisServer(
                data_dir=self.var_dir / "redis", maxmemory=self._redis_maxmemory()
            ).start()
            self.redis_url = self.redis.url
        if self.archive:
            self._start_archive()
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "copydesk.workers.celery_app", "worker"]
        quiet = ["--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        self._spawn(
            "intake",
            [
                python, "-m", "gunicorn",
                "--config", "python:copydesk.intake.gunicorn_conf",
                "--bind", f"{self.http_host}:{self.http_port}",
                "--workers", "2",  # threaded (gunicorn_conf): a thread per stream beside the API's
                "--graceful-timeout", "5",
                "copydesk.intake.wsgi:app",
            ],
        )  # fmt: skip
        self._spawn(
            "analysis-worker",
            [*celery, "-Q", self.analysis_queues, "-c", str(self.analysis_concurrency),
             "-n", f"analysis-{os.getpid()}@%h", *quiet],
            nice=self.worker_nice,
        )  # fmt: skip
        self._spawn("dispatcher", [python, "-m", "copydesk.deliver.dispatcher"])
        if self.flower_port:
            self._spawn(
                "flower",
                [*celery[:-1], "flower", f"--address={self.http_host}",
                 f"--port={self.flower_port}"],
            )  # fmt: skip
        if wait:
            self.wait_ready(timeout=timeout)
        return self

    def _start_archive(self) -> None:
        """Start the embedded PostgreSQL unless one is named, and migrate its schema."""
        from copydesk.archive import migrate

        if self.database_url is None:  # on 127.0.0.1, trust: this user's box, like Redis
            self.postgres = PostgresServer(data_dir=self.var_dir / "postgres").start()
            self.database_url = self.postgres.url
        migrate.upgrade(self.database_url)

    def _redis_maxmemory(self) -> str:
        """The embedded Redis's bound: this stack's, else the setting as its processes see it."""
        from copydesk.core.settings import Settings

        default = Settings.model_fields["redis_maxmemory"].default
        return self.redis_maxmemory or self.env().get("COPYDESK_REDIS_MAXMEMORY") or default

    def _spawn(self, name: str, args: list[str], *, nice: int = 0) -> None:
        """Start one process; ``nice`` lowers its CPU priority (batch work behind the API)."""
        self.commands[name] = (args, nice)
        lower = (lambda: os.nice(nice)) if nice else None
        if self.log_dir is None:
            self.processes[name] = subprocess.Popen(args, env=self.env(), preexec_fn=lower)
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as output:
            self.processes[name] = subprocess.Popen(
                args, env=self.env(), stdout=output, stderr=subprocess.STDOUT, preexec_fn=lower
            )

    def restart(self, name: str) -> None:
        """Start process ``name`` again as it was first started (after it died or was killed)."""
        process = self.processes[name]
        if process.poll() is None:
            raise RuntimeError(f"{name} is still running")
        args, nice = self.commands[name]
        self._spawn(name, args, nice=nice)

    def pool_pids(self, name: str) -> list[int]:
        """The child processes of process ``name`` (a Celery worker's pool)."""
        pid = self.processes[name].pid
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]

    def kill_hard(self, name: str, *, pool_only: bool = False) -> list[int]:
        """SIGKILL process ``name``'s pool, and the process itself unless ``pool_only`` (the
        faults the reliability tests and bench/soak.py inject); returns the pids killed."""
        pids = self.pool_pids(name) + ([] if pool_only else [self.processes[name].pid])
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def wait_ready(self, *, timeout: float) -> None:
        """Wait until the intake answers /readyz and workers with their models loaded serve
        each queue, beside a dispatcher."""
        deadline = time.monotonic() + timeout
        while not (self._intake_ready() and self._workers_ready()):
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"copydesk did not become ready within {timeout:.0f} s")
            time.sleep(0.2)

    def _intake_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def _workers_ready(self) -> bool:
        """Read presence: a pool process announces itself once its models are loaded."""
        import redis

        from copydesk.store import presence

        client = redis.Redis.from_url(self.redis_url or "")
        try:
            processes = presence.live(client)
        except redis.RedisError:
            return False
        finally:
            client.close()
        return presence.coverage(processes, self.analysis_queues.split(",")).complete

    def stop(self, *, timeout: float = 20.0) -> None:
        """Stop every process this stack started (by PID), gently, then firmly."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def kept_secret(path: Path, *, make: Callable[[], str]) -> str:
    """Return the secret stored at ``path``, making and storing it (mode 600) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make() + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def pick_port(preferred: int) -> int:
    """Return ``preferred`` if it is free on 127.0.0.1, else any free port."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred
