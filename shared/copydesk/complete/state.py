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

from copydesk.core.ids import now_rfc3339
from copydesk.store.base import COMMON_LUA, DUE, INFLIGHT, StoreBase, Transition, text
from copydesk.store.stats import duration_bucket

# What ending a job does besides setting its status, for every script that ends one.
FINISHED = """
-- the job left the in-flight set; its webhook (if any) is due at once; and when it was its
-- batch's last job to end, the batch's webhook too
local function finished(job, inflight, due, id)
  redis.call('ZREM', inflight, id)
  redis.call('HINCRBY', 'copydesk:stats', 'jobs|' .. redis.call('HGET', job, 'status'), 1)
  if redis.call('HGET', job, 'webhook') == '1' then due_now(job, due, id) end
  local batch = redis.call('HGET', job, 'batch')
  local batch_key = batch and batch ~= '' and 'copydesk:batch:' .. batch
  if batch_key and redis.call('EXISTS', batch_key) == 1 then
    local ended = redis.call('HINCRBY', batch_key, 'ended', 1)
    local ttl = redis.call('TTL', job)  -- the batch lives as long as its last job
    if ttl > redis.call('TTL', batch_key) then redis.call('EXPIRE', batch_key, ttl) end
    if ended == tonumber(redis.call('HGET', batch_key, 'total') or '-1')
      and redis.call('HGET', batch_key, 'webhook') == '1' then
      due_now(batch_key, due, 'batch:' .. batch)
    end
  end
end
"""

RECORD = (
    COMMON_LUA
    + FINISHED
    + """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] doc, KEYS[4] vectors, KEYS[5] raw article,
-- KEYS[6] in-flight set, KEYS[7] due deliveries
-- ARGV: analysis, result json, now, ttl, '1' if the analysis succeeded else '0', job id,
--       stall seconds, 'model|outcome' (metrics), seconds it took ('' unknown), its bucket
-- O(number of analyses) whatever the results weigh: successes are counted, results are never
-- decoded here. The last result ends the job and makes its webhook due, in the same step.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local field = 'result:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then
  return {'duplicate', redis.call('HGET', KEYS[1], 'status')}
end
redis.call('HSET', KEYS[1], field, ARGV[2], 'updated_at', ARGV[3])
-- metrics (copydesk:stats, read by /metrics): outcome by analysis and model, and duration
redis.call('HINCRBY', 'copydesk:stats', 'analysis|' .. ARGV[1] .. '|' .. ARGV[8], 1)
if ARGV[9] ~= '' then
  redis.call('HINCRBY', 'copydesk:stats', 'seconds_bucket|' .. ARGV[1] .. '|' .. ARGV[10], 1)
  redis.call('HINCRBYFLOAT', 'copydesk:stats', 'seconds_sum|' .. ARGV[1], ARGV[9])
end
local ok = redis.call('HINCRBY', KEYS[1], 'succeeded', tonumber(ARGV[5]))
local pending = redis.call('HINCRBY', KEYS[1], 'pending', -1)
local status = redis.call('HGET', KEYS[1], 'status')
emit(KEYS[1], KEYS[2], {type='analysis.completed', analysis=ARGV[1]})
if pending > 0 then
  if status == 'queued' then
    status = 'running'
    redis.call('HSET', KEYS[1], 'status', status)
  end
  redis.call('ZADD', KEYS[6], 'GT', now() + tonumber(ARGV[7]), ARGV[6])
  return {'recorded', status}
end
local total = 0
for _ in string.gmatch(redis.call('HGET', KEYS[1], 'analyses'), '[^,]+') do total = total + 1 end
if ok == total then status = 'succeeded'
elseif ok == 0 then status = 'failed'
else status = 'partially_succeeded' end
redis.call('HSET', KEYS[1], 'status', status, 'completed_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[4], KEYS[5])
emit(KEYS[1], KEYS[2], {type='job.' .. status, status=status})
finished(KEYS[1], KEYS[6], KEYS[7], ARGV[6])
return {'completed', status}
"""
)

CANCEL = (
    COMMON_LUA
    + FINISHED
    + """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] vectors, KEYS[4] raw article,
-- KEYS[5] in-flight set, KEYS[6] due deliveries; ARGV: cancelled result json, now, ttl, job id
-- A finished job stays as it is; otherwise every analysis without a result gets the
-- cancelled result and the job ends, in one step, so no worker can complete it meanwhile;
-- its webhook (if any) is due at once, in the same step.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 1 then
  return redis.call('HGET', KEYS[1], 'status')
end
for name in string.gmatch(redis.call('HGET', KEYS[1], 'analyses'), '[^,]+') do
  redis.call('HSETNX', KEYS[1], 'result:' .. name, ARGV[1])
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'pending', 0, 'completed_at', ARGV[2],
  'updated_at', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[3], KEYS[4])
emit(KEYS[1], KEYS[2], {type='job.cancelled', status='cancelled'})
finished(KEYS[1], KEYS[5], KEYS[6], ARGV[4])
return 'cancelled'
"""
)


def job_status(results: dict[str, dict[str, Any]]) -> str:
    """Name a finished job's status from its results, as RECORD does in Redis."""
    succeeded = sum(result.get("status") == "succeeded" for result in results.values())
    if succeeded == len(results):
        return "succeeded"
    return "failed" if succeeded == 0 else "partially_succeeded"


class CompleteState(StoreBase):
    def record_result(self, job_id: str, analysis: str, result: dict[str, Any]) -> Transition:
        """Record one analysis outcome; returns ``completed`` exactly once per job."""
        payload = json.dumps(result, ensure_ascii=False)
        succeeded = "1" if result.get("status") == "succeeded" else "0"
        model = str(result.get("model") or "none").replace("|", "/")
        label = f"{model}|{result.get('status', 'unknown')}"
        elapsed = result.get("elapsed_ms")
        seconds = "" if elapsed is None else repr(float(elapsed) / 1000)
        bucket = "" if elapsed is None else duration_bucket(float(elapsed) / 1000)
        outcome, status = self.script(RECORD)(
            keys=[*self._keys(job_id), INFLIGHT, DUE],
            args=[
                analysis, payload, now_rfc3339(), self.ttl, succeeded, job_id, self.stall,
                label, seconds, bucket,
            ],
        )  # fmt: skip
        return Transition(text(outcome), text(status))

    def cancel(self, job_id: str) -> str:
        """End a job that has not finished as ``cancelled``; returns the job's status after.

        Analyses already recorded keep their results; the others never run (their tasks find
        the job finished and do nothing). Its webhook, if any, is due in the same step.
        ``missing`` for an unknown job.
        """
        key, channel, _, vectors, raw = self._keys(job_id)
        result = json.dumps({"status": "cancelled"})
        keys = [key, channel, vectors, raw, INFLIGHT, DUE]
        return text(self.script(CANCEL)(keys=keys, args=[result, now_rfc3339(), self.ttl, job_id]))
