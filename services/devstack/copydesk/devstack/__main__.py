"""``make run``: start a local copydesk and stop it all on Ctrl-C.

The processes' output goes to var/log/<process>.log; the terminal shows what a person needs
to use the stack, then a line per finished job and every warning and error.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from copydesk.core.settings import Settings
from copydesk.devstack.stack import Stack, kept_secret
from copydesk.devstack.terminal import Follower, Terminal, shown_path

CURL = """\
  curl -s -X POST {url}/v1/jobs -H 'Content-Type: application/json'{auth} \\
       -d '{{"article": {{"title": "Storm closes ports", "text": "A powerful storm forced \
the closure of three ports on Monday. Shipping companies warned of delays."}}}}'
  curl -s {url}/v1/jobs/<id>{auth}"""


def main() -> int:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        print(f"copydesk: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    var_dir = Path(os.environ.get("COPYDESK_VAR_DIR", "var")).resolve()
    log_dir = var_dir / "log"
    extra_env = {
        "COPYDESK_WEBHOOK_SECRET": _webhook_secret(settings, var_dir),
        # readable lines in a terminal; deployments keep the JSON default
        "COPYDESK_LOG_FORMAT": os.environ.get("COPYDESK_LOG_FORMAT", "console"),
    }
    stack = Stack(
        var_dir=var_dir,
        http_port=settings.http_port,
        http_host=settings.http_host,
        redis_url=os.environ.get("COPYDESK_REDIS_URL") or None,
        archive=True,
        database_url=os.environ.get("COPYDESK_DATABASE_URL") or None,
        log_dir=log_dir,
        extra_env=extra_env,
        flower_port=int(os.environ["COPYDESK_FLOWER_PORT"])
        if os.environ.get("COPYDESK_FLOWER_PORT")
        else None,
    )
    follower = Follower(log_dir, _printer(Terminal(log_dir=log_dir)))
    # Ctrl-C reaches the whole process group; a shell may start us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(f"copydesk: starting (logs in {shown_path(log_dir)}/)", flush=True)
        follower.start()
        stack.start(timeout=120)
        secret = extra_env["COPYDESK_WEBHOOK_SECRET"]
        print(_welcome(stack, settings, secret=secret, log_dir=log_dir), flush=True)
        return _supervise(stack)
    except KeyboardInterrupt:
        print("\ncopydesk: stopping", file=sys.stderr)
        return 0
    except RuntimeError as exc:  # a process exited while starting, or never became ready
        print(f"copydesk: {exc}", file=sys.stderr)
        for name, process in stack.processes.items():
            if process.poll() is not None:
                _print_tail(log_dir / f"{name}.log")
        return 1
    finally:
        follower.stop()
        stack.stop()


def _welcome(stack: Stack, settings: Settings, *, secret: str, log_dir: Path) -> str:
    """What a person needs to use the running stack, and where everything else went."""
    url = stack.base_url
    tenants = _tenants(settings)
    metrics = f"{url}/metrics"
    if tenants:  # with keys on, /metrics answers only the scraper's own key
        metrics += "  (needs Bearer COPYDESK_METRICS_KEY)"
    rows = [("API docs", f"{url}/docs  (OpenAPI: {url}/openapi.json)"), ("metrics", metrics)]
    if stack.flower_url:
        rows.append(("Flower", stack.flower_url))
    keys = f"on, for {', '.join(tenants)}" if tenants else "off: no key needed"
    rows.append(("API keys", f"{keys} (COPYDESK_API_KEYS)"))
    rows.append(("webhooks", f"signed with COPYDESK_WEBHOOK_SECRET={secret}"))
    rows.append(("logs", f"{shown_path(log_dir)}/{{{','.join(stack.processes)}}}.log"))
    redis = stack.redis_url or ""
    if stack.redis is not None:
        redis += f"  (its log: {shown_path(stack.redis.data_dir / 'redis.log')})"
    rows.append(("Redis", redis))
    database = stack.database_url or "off"
    if stack.postgres is not None:
        database += f"  (its log: {shown_path(stack.postgres.data_dir / 'postgres.log')})"
    rows.append(("archive", database))
    auth = " -H 'Authorization: Bearer <key>'" if tenants else ""
    return "\n".join(
        [
            f"\ncopydesk is running at {url}",
            *(f"  {label:<9} {value}" for label, value in rows),
            "try:",
            CURL.format(url=url, auth=auth),
            "Ctrl-C stops everything. Below: a line per finished job, and warnings and errors.\n",
        ]
    )


def _tenants(settings: Settings) -> list[str]:
    spec = settings.api_keys.get_secret_value() if settings.api_keys else ""
    return [item.strip().partition(":")[0] for item in spec.split(",") if item.strip()]


def _printer(terminal: Terminal) -> Callable[[list[tuple[str, str]]], None]:
    def show(read: list[tuple[str, str]]) -> None:
        said = terminal.lines(read)
        if said:
            print(*said, sep="\n", flush=True)

    return show


def _print_tail(path: Path, *, lines: int = 20) -> None:
    """The last lines of a log, for a process that died before the stack was up."""
    try:
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return
    print(f"--- the last lines of {shown_path(path)}:", *tail, sep="\n", file=sys.stderr)


def _supervise(stack: Stack, *, most_restarts: int = 5, window: float = 300.0) -> int:
    """Restart a process that exits, as compose's ``restart: unless-stopped`` would; give up
    (and stop everything) when one keeps dying."""
    restarts: dict[str, list[float]] = {}
    while True:
        time.sleep(0.5)
        for name, process in list(stack.processes.items()):
            if process.poll() is None:
                continue
            recent = [t for t in restarts.get(name, []) if time.monotonic() - t < window]
            if len(recent) >= most_restarts:
                print(f"copydesk: {name} keeps exiting; stopping everything", file=sys.stderr)
                return 1
            print(
                f"copydesk: {name} exited ({process.returncode}); restarting it"
                + (f" (see {shown_path(stack.log_dir / f'{name}.log')})" if stack.log_dir else ""),
                file=sys.stderr,
            )
            restarts[name] = [*recent, time.monotonic()]
            stack.restart(name)


def _webhook_secret(settings: Settings, var_dir: Path) -> str:
    """Use the configured secret, else one generated once and kept under var/."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return kept_secret(
        var_dir / "webhook_secret",
        make=lambda: "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
    )


if __name__ == "__main__":
    sys.exit(main())
