"""``make run``: start a local copydesk and stop it all on Ctrl-C."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from copydesk.core.settings import Settings
from copydesk.devstack.stack import Stack, kept_secret

CURL = """\
  curl -s -X POST {url}/v1/jobs -H 'Content-Type: application/json' \\
       -d '{{"article": {{"title": "Storm closes ports", "text": "A powerful storm forced \
the closure of three ports on Monday. Shipping companies warned of delays."}}}}'
  curl -s {url}/v1/jobs/<id>"""


def main() -> int:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's message names the bad variable
        print(f"copydesk: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    var_dir = Path(os.environ.get("COPYDESK_VAR_DIR", "var")).resolve()
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
        extra_env=extra_env,
        flower_port=int(os.environ["COPYDESK_FLOWER_PORT"])
        if os.environ.get("COPYDESK_FLOWER_PORT")
        else None,
    )
    # Ctrl-C reaches the whole process group; a shell may start us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        stack.start(timeout=120)
        print(f"\ncopydesk is running at {stack.base_url}  (Redis: {stack.redis_url})")
        print(f"API docs: {stack.base_url}/docs   metrics: {stack.base_url}/metrics")
        if stack.flower_port:
            print(f"Flower (Celery monitor): http://{stack.http_host}:{stack.flower_port}")
        print(
            f"webhook signing secret (COPYDESK_WEBHOOK_SECRET): {extra_env['COPYDESK_WEBHOOK_SECRET']}"
        )
        print(
            "try:\n" + CURL.format(url=stack.base_url) + "\nCtrl-C stops everything.\n", flush=True
        )
        return _supervise(stack)
    except KeyboardInterrupt:
        print("\ncopydesk: stopping", file=sys.stderr)
        return 0
    finally:
        stack.stop()


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
            print(f"copydesk: {name} exited ({process.returncode}); restarting it", file=sys.stderr)
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
