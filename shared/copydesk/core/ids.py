"""Name jobs and moments the one way every process writes them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

JOB_ID = re.compile(r"[0-9a-f]{32}")


def new_job_id() -> str:
    """Return a new job id: 32 lowercase hex digits, the only form ``JOB_ID`` accepts."""
    return uuid.uuid4().hex


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_rfc3339(epoch: str | None) -> str | None:
    """An epoch time stored by a script, as RFC 3339 (None stays None)."""
    if not epoch:
        return None
    moment = datetime.fromtimestamp(float(epoch), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
