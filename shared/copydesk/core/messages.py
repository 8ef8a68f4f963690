"""Write and read Celery task messages as the Redis transport stores them, without Celery.

The intake and the prepare stage push a task in the same Redis transaction that stores the
job (or the prepared document): a job can then never exist without its task, nor a task
without its job, and the intake needs one round trip and no Celery client. The format is
Celery's task protocol 2 inside kombu's Redis envelope, which a stock Celery worker consumes;
tests/integration/test_message_contract.py proves it with a real worker, against the kombu
and Celery versions pinned in pyproject.toml. Whatever else reads a queued message (the
intake's metrics) reads it through here, so kombu's format is known in this module alone.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from typing import TYPE_CHECKING, Any

from copydesk.core.names import PRIORITY_STEPS

if TYPE_CHECKING:
    import redis


def task_message(task: str, args: tuple[Any, ...], *, queue: str, priority: str = "normal") -> str:
    """Return the JSON that kombu's Redis transport LPUSHes onto ``queue_key(queue, priority)``.

    The priority travels in the message too: a message a dead worker held is restored to the
    list of its own priority.
    """
    task_id = str(uuid.uuid4())
    body = json.dumps(
        [list(args), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    headers = {
        "lang": "py",
        "task": task,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": repr(tuple(args)),
        "kwargsrepr": "{}",
        "origin": f"{os.getpid()}@{socket.gethostname()}",
        "ignore_result": True,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
    }
    return json.dumps(
        {
            "body": base64.b64encode(body.encode()).decode(),
            "content-encoding": "utf-8",
            "content-type": "application/json",
            "headers": headers,
            "properties": {
                "correlation_id": task_id,
                "reply_to": "",
                "delivery_mode": 2,
                "delivery_info": {"exchange": "", "routing_key": queue},
                "priority": PRIORITY_STEPS[priority],
                "body_encoding": "base64",
                "delivery_tag": str(uuid.uuid4()),
            },
        }
    )


def next_job_id(client: redis.Redis, key: str) -> str | None:
    """The job id (first argument) of the message a worker takes next from list ``key``.

    kombu's Redis transport LPUSHes and BRPOPs, so the next message out is the rightmost.
    None when the list is empty or its next message is not a task message of ours.
    """
    raw = client.lindex(key, -1)
    if raw is None:
        return None
    try:
        args, _, _ = json.loads(base64.b64decode(json.loads(raw)["body"]))
        job_id = args[0]
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return job_id if isinstance(job_id, str) else None
