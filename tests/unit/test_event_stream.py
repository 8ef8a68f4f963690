"""How long one read of a job's event stream may block Redis (no server: the client only)."""

from __future__ import annotations

import redis

from copydesk.intake.views.events import longest_wait


def test_a_blocking_read_stays_well_under_the_socket_timeout() -> None:
    """A read that blocks as long as the socket timeout fails as a timeout: an idle stream
    used to end in a 503 when a 15 s read met the store's 10 s timeout."""
    client = redis.Redis(socket_timeout=10)
    assert longest_wait(client, 15) == 5
    assert longest_wait(client, 1) == 1
    unbounded = redis.Redis(socket_timeout=None)
    assert longest_wait(unbounded, 15) == 15  # no socket timeout: the keep-alive bounds it
