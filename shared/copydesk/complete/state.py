"""Complete: record each analysis's result; the last one ends the job, in the same step.

Recording a result and deciding that the job is finished happen in one Lua script, so two
workers finishing together can neither both complete the job nor leave it unfinished. Ending
a job (here, or by cancelling it) also makes its webhook due and counts its batch, in that
same step (``FINISHED``). The status rule is written twice, once in Lua for the store and
once in Python (``job_status``) for ``analyze --local``; both sit here, and a test holds
them to the same answers.
"""

from __future__ import annotations

import json
from typing import Any

from copydesk.archive.outbox import OUTBOX, QUEUE_ARCHIVE
from copydesk.core.ids import now_rfc3339
from copydesk.store.base import DUE, INFLIGHT, StoreBase, Transition, text
from copydesk.store.scripts import DUE_NOW, EMIT, NOW, RELIST, STATUS_KEYS, Script
from copydesk.store.stats import STATS, duration_bucket

# What ending a job does besides setting its status, for every script that ends one.
FINISHED = """
-- the job left the in-flight set and its listing of unfinished jobs for that of its status;
-- its expiry marker outlives it by as long as ever; its webhook (if any) is due at once; and
-- when it was its batch's last job to end, the batch's webhook too. With the archive on, the
-- job is queued for it (its outbox), and its vectors wait for the archiver, which reads them
-- for the document's vector; otherwise they go now, with the raw article.
local function finished(old)
  local status = redis.call('HGET', K.job, 'status')
  if K.outbox then
    queue_archive(K.job, A.job_id)
    redis.call('EXPIRE', K.vectors, A.ttl)
    redis.call('DEL', K.raw)
  else
    redis.call('DEL', K.vectors, K.raw)
  end
  redis.call('ZREM', K.inflight, A.job_id)
  relist(old, status)
  redis.call('EXPIRE', K.gone, A.gone_ttl)
  redis.call('HINCRBY', K.stats, 'jobs|' .. status, 1)
  if redis.call('HGET', K.job, 'webhook') == '1' then due_now(K.job, A.job_id) end
  if K.batch and redis.call('EXISTS', K.batch) == 1 then
    local ended = redis.call('HINCRBY', K.batch, 'ended', 1)
    local ttl = redis.call('TTL', K.job)  -- the batch lives as long as its last job
    if ttl > redis.call('TTL', K.batch) then redis.call('EXPIRE', K.batch, ttl) end
    if ended == tonumber(redis.call('HGET', K.batch, 'total') or '-1')
      and redis.call('HGET', K.batch, 'webhook') == '1' then
      due_now(K.batch, 'batch:' .. redis.call('HGET', K.job, 'batch'))
    end
  end
end
"""
# The keys and arguments every script that ends a job takes.
ENDING_KEYS = (
    "job", "channel", "stream", "vectors", "raw", "gone", "inflight", "due", "stats", "outbox?"
)  # fmt: skip
ENDING_ARGS = ("job_id", "now", "ttl", "gone_ttl", "listed_seconds")

RECORD = Script(
    keys=(*ENDING_KEYS, "doc", *STATUS_KEYS, "batch?"),
    args=(*ENDING_ARGS, "analysis", "result", "succeeded", "stall", "label", "seconds", "bucket"),
    body=NOW
    + EMIT
    + DUE_NOW
    + RELIST
    + QUEUE_ARCHIVE
    + FINISHED
    + """
-- ``succeeded`` is '1' if the analysis succeeded else '0'; ``label`` is 'model|outcome' and
-- ``seconds`` what it took ('' unknown), ``bucket`` its histogram bucket (for /metrics).
-- O(number of analyses) whatever the results weigh: successes are counted, results are never
-- decoded here. The last result ends the job and makes its webhook due, in the same step.
if redis.call('EXISTS', K.job) == 0 then return {'missing', ''} end
local field = 'result:' .. A.analysis
if redis.call('HEXISTS', K.job, field) == 1 then
  return {'duplicate', redis.call('HGET', K.job, 'status')}
end
redis.call('HSET', K.job, field, A.result, 'updated_at', A.now)
redis.call('HINCRBY', K.stats, 'analysis|' .. A.analysis .. '|' .. A.label, 1)
if A.seconds ~= '' then
  redis.call('HINCRBY', K.stats, 'seconds_bucket|' .. A.analysis .. '|' .. A.bucket, 1)
  redis.call('HINCRBYFLOAT', K.stats, 'seconds_sum|' .. A.analysis, A.seconds)
end
local ok = redis.call('HINCRBY', K.job, 'succeeded', tonumber(A.succeeded))
local pending = redis.call('HINCRBY', K.job, 'pending', -1)
local was = redis.call('HGET', K.job, 'status')
emit({type='analysis.completed', analysis=A.analysis})
if pending > 0 then
  if was == 'queued' then
    redis.call('HSET', K.job, 'status', 'running')
    relist(was, 'running')
  end
  redis.call('ZADD', K.inflight, 'GT', now() + tonumber(A.stall), A.job_id)
  return {'recorded', was == 'queued' and 'running' or was}
end
local total = 0
for _ in string.gmatch(redis.call('HGET', K.job, 'analyses'), '[^,]+') do total = total + 1 end
local status
if ok == total then status = 'succeeded'
elseif ok == 0 then status = 'failed'
else status = 'partially_succeeded' end
redis.call('HSET', K.job, 'status', status, 'completed_at', A.now)
redis.call('EXPIRE', K.job, A.ttl)
redis.call('EXPIRE', K.doc, A.ttl)
emit({type='job.' .. status, status=status})
finished(was)
return {'completed', status}
""",
)

CANCEL = Script(
    keys=(*ENDING_KEYS, *STATUS_KEYS, "batch?"),
    args=(*ENDING_ARGS, "cancelled"),
    body=NOW
    + EMIT
    + DUE_NOW
    + RELIST
    + QUEUE_ARCHIVE
    + FINISHED
    + """
-- A finished job stays as it is; otherwise every analysis without a result gets the
-- ``cancelled`` result and the job ends, in one step, so no worker can complete it meanwhile;
-- its webhook (if any) is due at once, in the same step.
if redis.call('EXISTS', K.job) == 0 then return 'missing' end
local was = redis.call('HGET', K.job, 'status')
if redis.call('HEXISTS', K.job, 'completed_at') == 1 then return was end
for name in string.gmatch(redis.call('HGET', K.job, 'analyses'), '[^,]+') do
  redis.call('HSETNX', K.job, 'result:' .. name, A.cancelled)
end
redis.call('HSET', K.job, 'status', 'cancelled', 'pending', 0, 'completed_at', A.now,
  'updated_at', A.now)
redis.call('EXPIRE', K.job, A.ttl)
emit({type='job.cancelled', status='cancelled'})
finished(was)
return 'cancelled'
""",
)


def job_status(results: dict[str, dict[str, Any]]) -> str:
    """Name a finished job's status from its results, as RECORD does in Redis."""
    succeeded = sum(result.get("status") == "succeeded" for result in results.values())
    if succeeded == len(results):
        return "succeeded"
    return "failed" if succeeded == 0 else "partially_succeeded"


class CompleteState(StoreBase):
    def _ending(self, job_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The keys and arguments every script that may end the job takes."""
        job = self.keys_of(job_id)
        tenant, batch = self.owner(job_id)
        keys = {
            "job": job.job,
            "channel": job.channel,
            "stream": job.stream,
            "vectors": job.vectors,
            "raw": job.raw,
            "gone": job.gone,
            "inflight": INFLIGHT,
            "due": DUE,
            "stats": STATS,
            "outbox": OUTBOX if self.archive else None,
            "batch": self.batch_key(batch) if batch else None,
            **self.status_indexes(tenant),
        }
        args = {
            "job_id": job_id,
            "now": now_rfc3339(),
            "ttl": self.ttl,
            "gone_ttl": self.ttl + self.gone,
            "listed_seconds": self.listed_seconds,
        }
        return keys, args

    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition:
        """Record one analysis outcome; returns ``completed`` exactly once per job."""
        model = str(result.get("model") or "none").replace("|", "/")
        elapsed = result.get("elapsed_ms")
        keys, args = self._ending(job_id)
        outcome, status = self.run(
            RECORD,
            keys={**keys, "doc": self.keys_of(job_id).doc},
            args={
                **args,
                "analysis": analysis,
                "result": json.dumps(result, ensure_ascii=False),
                "succeeded": "1" if result.get("status") == "succeeded" else "0",
                "stall": self.stall,
                "label": f"{model}|{result.get('status', 'unknown')}",
                "seconds": "" if elapsed is None else repr(float(elapsed) / 1000),
                "bucket": "" if elapsed is None else duration_bucket(float(elapsed) / 1000),
            },
        )
        return Transition(text(outcome), text(status))

    def cancel(self, job_id: str) -> str:
        """End a job that has not finished as ``cancelled``; returns the job's status after.

        Analyses already recorded keep their results; the others never run (their tasks find
        the job finished and do nothing). Its webhook, if any, is due in the same step.
        ``missing`` for an unknown job.
        """
        keys, args = self._ending(job_id)
        cancelled = json.dumps({"status": "cancelled"})
        return text(self.run(CANCEL, keys=keys, args={**args, "cancelled": cancelled}))
