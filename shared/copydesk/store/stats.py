"""The counters the scripts keep for ``/metrics``: one hash, bounded by its fields."""

from __future__ import annotations

from copydesk.store.base import PREFIX

STATS = f"{PREFIX}:stats"
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def duration_bucket(seconds: float) -> str:
    """The histogram bucket (its upper bound, 'le') an analysis duration falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"
