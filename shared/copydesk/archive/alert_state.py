"""An alert's firings in Redis: each one's delivery on deliver's schedule, and its event stream.

A firing committed in PostgreSQL (``alert_firings``) is queued here by the archiver: its hash
(``copydesk:alertfiring:<id>``) holds the event and the alert's webhook, and carries the same
``webhook_*`` fields as a job's or a batch's, so deliver's CLAIM, SETTLE and KEEP move it as
they move those (its member in the due set is ``alert:<id>``). Queueing is idempotent per
firing: a firing queued twice (the archiver died between Redis and marking it queued) is
delivered and streamed once.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from copydesk.store.base import DUE, PREFIX
from copydesk.store.records import webhook_fields
from copydesk.store.scripts import DUE_NOW, NOW, Script, run

MEMBER = "alert:"  # + firing id: a firing's member in deliver's due set
FIRING = f"{PREFIX}:alertfiring:"  # + firing id: its hash
EVENTS = f"{PREFIX}:alertevents:"  # + alert id: the alert's event stream (GET .../events)

QUEUE = Script(
    keys=("firing", "due", "events"),
    args=("member", "record", "webhook", "ttl", "event", "kept"),
    body=NOW
    + DUE_NOW
    + """
-- Keep the firing, make its webhook due (``webhook`` '1') and add its event to the alert's
-- stream, in one step and only once: a firing queued again finds its hash and does nothing.
if redis.call('EXISTS', K.firing) == 1 then return 'known' end
redis.call('HSET', K.firing, 'record', A.record)
if A.webhook == '1' then due_now(K.firing, A.member) end
redis.call('EXPIRE', K.firing, A.ttl)
redis.call('XADD', K.events, 'MAXLEN', '~', A.kept, '*', 'event', A.event)
redis.call('EXPIRE', K.events, A.ttl)
return 'queued'
""",
)

REDELIVER = Script(
    keys=("firing", "due", "url_gone"),
    args=("member",),
    body=NOW
    + DUE_NOW
    + """
-- Start the firing's webhook again from its first attempt, under the same webhook-id, and
-- forget an earlier 410 from its URL (``url_gone``): the client fixed its receiver.
if redis.call('EXISTS', K.firing) == 0 then return 'missing' end
if not redis.call('HGET', K.firing, 'webhook_state') then return 'none' end
redis.call('DEL', K.url_gone)
due_now(K.firing, A.member)
redis.call('HDEL', K.firing, 'webhook_error')
return 'pending'
""",
)


def delivery_id(firing_id: str) -> str:
    """A firing's ``webhook-id``, the same on every attempt and redelivery."""
    return f"msg_alert_{firing_id}"


def firing_key(firing_id: str) -> str:
    return FIRING + firing_id


def events_key(alert_id: str) -> str:
    return EVENTS + alert_id


def queue(
    client: redis.Redis,
    *,
    firing_id: str,
    alert_id: str,
    event: dict[str, Any],
    webhook: dict[str, Any] | None,
    ttl: int,
    kept: int,
) -> str:
    """Queue one firing's delivery and stream its event: ``queued``, or ``known`` if it was."""
    record = {"id": firing_id, "alert_id": alert_id, "event": event, "webhook": webhook}
    keys = {"firing": firing_key(firing_id), "due": DUE, "events": events_key(alert_id)}
    args = {
        "member": MEMBER + firing_id,
        "record": json.dumps(record),
        "webhook": "1" if webhook else "0",
        "ttl": ttl,
        "event": json.dumps(event),
        "kept": kept,
    }
    reply = run(client, QUEUE, keys=keys, args=args)
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def firing(client: redis.Redis, firing_id: str) -> dict[str, Any] | None:
    """The firing as queued, with where its webhook stands; None once it expired."""
    raw = client.hgetall(firing_key(firing_id))
    if not raw:
        return None
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    record = json.loads(fields["record"])
    record.update(webhook_fields(fields))
    return record


def redeliver(client: redis.Redis, firing_id: str, *, url_gone: str) -> str:
    """Send the firing's webhook again: ``pending``, ``none`` (no webhook) or ``missing``."""
    keys = {"firing": firing_key(firing_id), "due": DUE, "url_gone": url_gone}
    reply = run(client, REDELIVER, keys=keys, args={"member": MEMBER + firing_id})
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def attempts(client: redis.Redis, firing_id: str) -> list[dict[str, Any]]:
    """The firing's delivery log: each attempt's time, status, latency and error."""
    return [json.loads(raw) for raw in client.lrange(firing_key(firing_id) + ":deliveries", 0, -1)]
