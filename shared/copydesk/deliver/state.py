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

from copydesk.store.base import COMMON_LUA, DUE, PREFIX, StoreBase, text

DELIVERY_LOG_LENGTH = 100  # attempts kept per job

CLAIM = (
    COMMON_LUA
    + """
-- KEYS[1] due deliveries; ARGV: lease seconds, most to claim
-- Takes deliveries whose time has come and moves each a lease into the future, in one step:
-- several dispatchers never send the same one together, and a dispatcher that dies mid-send
-- leaves its claims to come due again when the lease runs out.
local at = now()
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', at, 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], at + tonumber(ARGV[1]), id) end
return ids
"""
)

SETTLE = (
    COMMON_LUA
    + """
-- KEYS[1] job (or batch) hash, KEYS[2] due deliveries, KEYS[3] delivery log
-- ARGV: due member (job id, or 'batch:<id>'), state after the attempt (pending, delivered, failed), seconds to the next
--       attempt (pending), log entry json, error ('' for none), log ttl, log length kept
-- Logs the attempt and moves the webhook on, in one step. Only a pending webhook moves: an
-- attempt that outlived its lease and finishes late cannot undo a later outcome.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 'missing'
end
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[7]), -1)
redis.call('EXPIRE', KEYS[3], ARGV[6])
if redis.call('HGET', KEYS[1], 'webhook_state') ~= 'pending' then return 'stale' end
local outcome = ARGV[2] == 'pending' and 'retry' or ARGV[2]
redis.call('HINCRBY', 'copydesk:stats', 'webhook|' .. outcome, 1)
redis.call('HINCRBY', KEYS[1], 'webhook_attempts', 1)
if ARGV[5] == '' then redis.call('HDEL', KEYS[1], 'webhook_error')
else redis.call('HSET', KEYS[1], 'webhook_error', ARGV[5]) end
if ARGV[2] == 'pending' then
  local at = now() + tonumber(ARGV[3])
  redis.call('ZADD', KEYS[2], at, ARGV[1])
  redis.call('HSET', KEYS[1], 'webhook_next_at', at)
else
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HSET', KEYS[1], 'webhook_state', ARGV[2])
  redis.call('HDEL', KEYS[1], 'webhook_next_at')
end
return ARGV[2]
"""
)

REDELIVER = (
    COMMON_LUA
    + """
-- KEYS[1] job hash, KEYS[2] due deliveries, KEYS[3] the URL's gone marker; ARGV: job id
-- Starts the webhook's schedule again from its first attempt, with the same webhook-id. A
-- client asking for it has fixed its receiver, so an earlier 410 from that URL is forgotten.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'webhook') ~= '1' then return 'none' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 0 then return 'running' end
local at = now()
redis.call('DEL', KEYS[3])
redis.call('ZADD', KEYS[2], at, ARGV[1])
redis.call('HSET', KEYS[1], 'webhook_state', 'pending', 'webhook_next_at', at,
  'webhook_attempts', 0)
redis.call('HDEL', KEYS[1], 'webhook_error')
return 'pending'
"""
)


KEEP = """
-- KEYS[1] the webhook's subject (job or batch hash), KEYS[2] its kept body
-- ARGV: the body (compressed), ttl seconds if the subject has none
-- Keeps the first body made for a webhook and returns the one kept, in one step: two
-- dispatchers that render it together (an attempt that outlived its lease) send the same
-- bytes. The body lives as long as its subject, so a redelivery finds it too; nil once the
-- subject is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local kept = redis.call('GET', KEYS[2])
if kept then return kept end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then ttl = tonumber(ARGV[2]) * 1000 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
return ARGV[1]
"""


class DeliverState(StoreBase):
    def claim_deliveries(self, *, lease_seconds: float, limit: int) -> list[str]:
        """Claim up to ``limit`` due webhooks (job ids) for ``lease_seconds``."""
        ids = self.script(CLAIM)(keys=[DUE], args=[lease_seconds, limit])
        return [text(job_id) for job_id in ids]

    def subject_key(self, member: str) -> str:
        """The hash of a due webhook's subject: a job (its id) or a batch ('batch:<id>')."""
        if member.startswith("batch:"):
            return self.batch_key(member.removeprefix("batch:"))
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
        keys = [key, DUE, key + ":deliveries"]
        args = [
            job_id,
            state,
            retry_in,
            json.dumps(entry),
            error or "",
            self.ttl,
            DELIVERY_LOG_LENGTH,
        ]
        return text(self.script(SETTLE)(keys=keys, args=args))

    def redeliver(self, job_id: str, *, url: str) -> str:
        """Send a finished job's webhook again from the first attempt of its schedule.

        ``pending`` once due, ``running`` for an unfinished job, ``none`` without a webhook,
        ``missing`` for an unknown job.
        """
        keys = [self.job_key(job_id), DUE, self.gone_marker(url)]
        return text(self.script(REDELIVER)(keys=keys, args=[job_id]))

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
        keys = [self.subject_key(member), self.webhook_body_key(member)]
        kept = self.script(KEEP)(keys=keys, args=[zlib.compress(body), self.ttl])
        return None if kept is None else zlib.decompress(kept)

    @staticmethod
    def gone_marker(url: str) -> str:
        """Key that marks a webhook URL whose receiver answered 410 Gone."""
        return f"{PREFIX}:webhooks:gone:{hashlib.sha256(url.encode()).hexdigest()}"

    def deliveries(self, job_id: str) -> list[dict[str, Any]]:
        """The delivery log of a job (or, as 'batch:<id>', of a batch)."""
        key = self.subject_key(job_id) + ":deliveries"
        return [json.loads(raw) for raw in self.redis.lrange(key, 0, -1)]
