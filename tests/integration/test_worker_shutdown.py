"""A worker's shutdown closes what its analysers hold open: real PostgreSQL, Redis and Celery.

The stories analyser keeps a pool of PostgreSQL connections for the life of the process; a
worker that ends without closing it leaves psycopg to find them open when the interpreter
tears down, and it warns (``ResourceWarning: ... deleted while still open``). A prefork
pool process closes them on ``worker_process_shutdown``, a solo or threads worker on
``worker_shutdown``; the test runs the second, in a process of its own so its exit is seen.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys

from celery.contrib.testing.worker import start_worker

from copydesk.analyse.registry import registry_for
from copydesk.core.names import QUEUES
from copydesk.core.settings import Settings
from copydesk.workers.app import create_celery_app

settings = Settings(redis_url=sys.argv[1], database_url=sys.argv[2])
app = create_celery_app(settings)
with start_worker(app, pool="threads", perform_ping_check=False, queues=list(QUEUES)) as worker:
    with registry_for(settings).for_request("stories", {}).index.session("alice") as session:
        session.conn.execute("SELECT 1")  # the worker's pool now holds an idle connection
    worker.stop()  # a warm shutdown, as `celery worker` makes of a SIGTERM
print("stopped")
"""


def test_a_worker_that_stops_closes_the_stories_connections(redis_url, database_url) -> None:  # noqa: ANN001
    ran = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", SCRIPT, redis_url, database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0 and "stopped" in ran.stdout, ran.stderr[-2000:]
    assert "ResourceWarning" not in ran.stderr, ran.stderr[-2000:]
