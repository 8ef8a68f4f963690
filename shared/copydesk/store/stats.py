"""The counters the scripts keep for ``/metrics``: one hash, bounded by its fields."""

from __future__ import annotations

import json

from copydesk.store.base import PREFIX

STATS = f"{PREFIX}:stats"
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def duration_bucket(seconds: float) -> str:
    """The histogram bucket (its upper bound, 'le') an analysis duration falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


def prepare_stats(*, steps: dict[str, float], parse: str | None = None) -> str:
    """What one prepared job adds to the counters, for SAVE_PREPARED to apply (JSON).

    ``steps`` are the prepare stage's timed steps in seconds (``parse``, ``embed``), each
    counted in its histogram bucket; ``parse`` is ``whole`` or ``partial`` (a budget stopped
    it before the end of the text), None when the job was not parsed.
    """
    counts = [f"step_bucket|{step}|{duration_bucket(s)}" for step, s in sorted(steps.items())]
    sums = [[f"step_sum|{step}", repr(float(s))] for step, s in sorted(steps.items())]
    if parse is not None:
        counts.append(f"parse|{parse}")
    return json.dumps({"counts": counts, "sums": sums})
