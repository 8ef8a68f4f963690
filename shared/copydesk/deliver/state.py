"""Deliver's schedule in Redis: claim due webhooks with a lease, settle each attempt, redeliver.

A job that ends becomes due in the script that ends it (``copydesk.complete.state``); the
dispatcher (``copydesk.deliver.dispatcher``) claims and sends what is due. The body of a
webhook is kept from its first attempt on (``KEEP``): the ``webhook-id`` is the receiver's
idempotency key, so every attempt and redelivery under it must carry the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from typing import Any

from copydesk.archive import alert_state
from copydesk.archive.outbox import OUTBOX, QUEUE_ARCHIVE
from copydesk.store.base import DUE, PREFIX, StoreBase, text
from copydesk.store.scripts import NOW, Script
from copydesk.store.stats import STATS

DELIVERY_LOG_LENGTH = 100  # attempts kept per job

CLAIM = Script(
    keys=("due",),
    args=("lease", "most"),
    body=NOW
    + """
-- Takes deliveries whose time has come and moves each a lease (seconds) into the future, in
-- one step: several dispatchers never send the same one together, and a dispatcher that dies
-- mid-send leaves its claims to come due again when the lease runs out.
local at = now()
local ids = redis.call('ZRANGEBYSCORE', K.due, '-inf', at, 'LIMIT', 0, tonumber(A.most))
for _, id in ipairs(ids) do redis.call('ZADD', K.due, at + tonumber(A.lease), id) end
return ids
""",
)

SETTLE = Script(
    keys=("subject", "due", "log", "stats", "outbox?"),
    args=("member", "state", "retry_in", "entry", "error", "log_ttl", "log_length"),
    body=NOW
    + QUEUE_ARCHIVE
    + """
-- ``subject`` is the job's (or batch's) hash, ``member`` its id in the due set (job id, or
-- 'batch:<id>'); ``state`` is where the webhook stands after the attempt (pending, delivered,
-- failed), with the next attempt ``retry_in`` seconds away when pending; ``error`` is '' for
-- none. Logs the attempt and moves the webhook on, in one step. Only a pending webhook moves:
-- an attempt that outlived its lease and finishes late cannot undo a later outcome. A job
-- archived while its webhook was pending is queued again (``outbox``, archive on), so its row
-- ends with the webhook's outcome and Redis may then let it go.
if redis.call('EXISTS', K.subject) == 0 then
  redis.call('ZREM', K.due, A.member)
  return 'missing'
end
redis.call('RPUSH', K.log, A.entry)
redis.call('LTRIM', K.log, -tonumber(A.log_length), -1)
redis.call('EXPIRE', K.log, A.log_ttl)
if redis.call('HGET', K.subject, 'webhook_state') ~= 'pending' then return 'stale' end
local outcome = A.state == 'pending' and 'retry' or A.state
redis.call('HINCRBY', K.stats, 'webhook|' .. outcome, 1)
redis.call('HINCRBY', K.subject, 'webhook_attempts', 1)
if A.error == '' then redis.call('HDEL', K.subject, 'webhook_error')
else redis.call('HSET', K.subject, 'webhook_error', A.error) end
if A.state == 'pending' then
  local at = now() + tonumber(A.retry_in)
  redis.call('ZADD', K.due, at, A.member)
  redis.call('HSET', K.subject, 'webhook_next_at', at)
else
  redis.call('ZREM', K.due, A.member)
  redis.call('HSET', K.subject, 'webhook_state', A.state)
  redis.call('HDEL', K.subject, 'webhook_next_at')
  if K.outbox and redis.call('HGET', K.subject, 'archive') == 'done' then
    queue_archive(K.subject, A.member)
  end
end
return A.state
""",
)

REDELIVER = Script(
    keys=("job", "due", "url_gone"),
    args=("job_id",),
    body=NOW
    + """
-- ``url_gone`` marks the webhook's URL as one whose receiver answered 410.
-- Starts the webhook's schedule again from its first attempt, with the same webhook-id. A
-- client asking for it has fixed its receiver, so an earlier 410 from that URL is forgotten.
if redis.call('EXISTS', K.job) == 0 then return 'missing' end
if redis.call('HGET', K.job, 'webhook') ~= '1' then return 'none' end
if redis.call('HEXISTS', K.job, 'completed_at') == 0 then return 'running' end
local at = now()
redis.call('DEL', K.url_gone)
redis.call('ZADD', K.due, at, A.job_id)
redis.call('HSET', K.job, 'webhook_state', 'pending', 'webhook_next_at', at,
  'webhook_attempts', 0)
redis.call('HDEL', K.job, 'webhook_error')
return 'pending'
""",
)


KEEP = Script(
    keys=("subject", "kept"),
    args=("body", "ttl"),
    body="""
-- ``subject`` is the webhook's job or batch hash, ``kept`` where its body is kept; ``body`` is
-- what this dispatcher made (compressed), ``ttl`` (seconds) applies if the subject has none.
-- Keeps the first body made for a webhook and returns the one kept, in one step: two
-- dispatchers that render it together (an attempt that outlived its lease) send the same
-- bytes. The body lives as long as its subject, so a redelivery finds it too; nil once the
-- subject is gone.
if redis.call('EXISTS', K.subject) == 0 then return false end
local kept = redis.call('GET', K.kept)
if kept then return kept end
local ttl = redis.call('PTTL', K.subject)
if ttl <= 0 then ttl = tonumber(A.ttl) * 1000 end
redis.call('SET', K.kept, A.body, 'PX', ttl)
return A.body
""",
)


class DeliverState(StoreBase):
    def claim_deliveries(self, *, lease_seconds: float, limit: int) -> list[str]:
        """Claim up to ``limit`` due webhooks (job ids) for ``lease_seconds``."""
        ids = self.run(CLAIM, keys={"due": DUE}, args={"lease": lease_seconds, "most": limit})
        return [text(job_id) for job_id in ids]

    def subject_key(self, member: str) -> str:
        """The hash of a due webhook's subject: a job (its id), a batch ('batch:<id>') or an
        alert's firing ('alert:<id>')."""
        if member.startswith("batch:"):
            return self.batch_key(member.removeprefix("batch:"))
        if member.startswith(alert_state.MEMBER):
            return alert_state.firing_key(member.removeprefix(alert_state.MEMBER))
        return self.job_key(member)

    def settle_delivery(
        self,
        job_id: str,
        *,
        state: str,
        entry: dict[str, Any],
        error: str | None = None,
        retry_in: float = 0.0,
    ) -> str:
        """Log one attempt and set the webhook ``pending`` (due in ``retry_in`` s), ``delivered``
        or ``failed``; ``stale`` when the webhook was no longer pending, ``missing`` if gone."""
        key = self.subject_key(job_id)
        keys = {
            "subject": key,
            "due": DUE,
            "log": key + ":deliveries",
            "stats": STATS,
            "outbox": OUTBOX if self.archive else None,
        }
        args = {
            "member": job_id,
            "state": state,
            "retry_in": retry_in,
            "entry": json.dumps(entry),
            "error": error or "",
            "log_ttl": self.ttl,
            "log_length": DELIVERY_LOG_LENGTH,
        }
        return text(self.run(SETTLE, keys=keys, args=args))

    def redeliver(self, job_id: str, *, url: str) -> str:
        """Send a finished job's webhook again from the first attempt of its schedule.

        ``pending`` once due, ``running`` for an unfinished job, ``none`` without a webhook,
        ``missing`` for an unknown job.
        """
        keys = {"job": self.job_key(job_id), "due": DUE, "url_gone": self.gone_marker(url)}
        return text(self.run(REDELIVER, keys=keys, args={"job_id": job_id}))

    def webhook_body_key(self, member: str) -> str:
        """The body a due webhook (a job id, or 'batch:<id>') sends on every attempt."""
        return self.subject_key(member) + ":webhook"

    def kept_body(self, member: str) -> bytes | None:
        """The body kept for a webhook, or None before its first attempt."""
        kept = self.redis.get(self.webhook_body_key(member))
        return None if kept is None else zlib.decompress(kept)

    def keep_body(self, member: str, body: bytes) -> bytes | None:
        """Keep ``body`` for the webhook unless one is kept already; return the one kept (None
        when the job or batch is gone). Compressed: a job's event repeats its results."""
        keys = {"subject": self.subject_key(member), "kept": self.webhook_body_key(member)}
        kept = self.run(KEEP, keys=keys, args={"body": zlib.compress(body), "ttl": self.ttl})
        return None if kept is None else zlib.decompress(kept)

    @staticmethod
    def gone_marker(url: str) -> str:
        """Key that marks a webhook URL whose receiver answered 410 Gone."""
        return f"{PREFIX}:webhooks:gone:{hashlib.sha256(url.encode()).hexdigest()}"

    def deliveries(self, job_id: str) -> list[dict[str, Any]]:
        """The delivery log of a job (or, as 'batch:<id>', of a batch)."""
        key = self.subject_key(job_id) + ":deliveries"
        return [json.loads(raw) for raw in self.redis.lrange(key, 0, -1)]
