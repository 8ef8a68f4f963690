"""Which secret settings each service's code reads: what compose and the Kubernetes manifest
may hand it, and no more (tests/unit/test_compose.py, test_kubernetes.py)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {  # the secret settings, and the variables that carry them
    "api_keys": "COPYDESK_API_KEYS",
    "secrets_key": "COPYDESK_SECRETS_KEY",
    "metrics_key": "COPYDESK_METRICS_KEY",
    "webhook_secret": "COPYDESK_WEBHOOK_SECRET",
}


def code_reads(folder: str) -> set[str]:
    """The secret settings the code under ``services/<folder>`` reads (``settings.<name>``)."""
    found = set()
    for path in (ROOT / "services" / folder).rglob("*.py"):
        found |= set(re.findall(rf"\.({'|'.join(SECRETS)})\b", path.read_text()))
    return found


def variables_read(folder: str) -> set[str]:
    return {SECRETS[setting] for setting in code_reads(folder)}
