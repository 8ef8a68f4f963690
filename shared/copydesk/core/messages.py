"""Write Celery task messages as the Redis transport stores them, without Celery.

The intake and the prepare stage push a task in the same Redis transaction that stores the
job (or the prepared document): a job can then never exist without its task, nor a task
without its job, and the intake needs one round trip and no Celery client. The format is
Celery's task protocol 2 inside kombu's Redis envelope, which a stock Celery worker consumes;
the integration tests prove it with a real worker.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from typing import Any

from copydesk.core.names import PRIORITY_STEPS


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
