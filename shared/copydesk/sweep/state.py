"""Sweep: find jobs that stopped making progress and re-queue the stage each is stuck at."""

from __future__ import annotations

from typing import Any

from copydesk.core.names import PREPARE_QUEUE, queue_key
from copydesk.store.base import COMMON_LUA, INFLIGHT, StoreBase, text

SWEEP = (
    COMMON_LUA
    + """
-- KEYS: job hash, in-flight set, prepare queue, then one queue per analysis of the job
-- ARGV: job id, stall seconds, most rounds, prepare message, then per analysis: its name and
--       a fresh message for it
-- Looks at one job that made no progress for the stall time, and re-queues the stage it is
-- stuck at: its message was lost (deleted, or held by a worker that died, or dropped by a
-- Redis restart), or the worker running it died. A stage that has not started while its
-- queue still holds messages may just be waiting its turn: the job is looked at again later,
-- without using a round. Past the last round the answer is 'exhausted' and the caller fails
-- what is left; the job stays in the set until then, so a crash in between loses nothing.
-- Re-queued work is harmless twice over: a stage that already finished finds its result.
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'completed_at') == 1
then
  redis.call('ZREM', KEYS[2], id)
  return {'done'}
end
local later = now() + tonumber(ARGV[2])
local targets = {}
if redis.call('HGET', KEYS[1], 'prepared') ~= '1' then
  targets[1] = {'prepare', KEYS[3], ARGV[4]}
else
  local k = 4
  for i = 5, #ARGV, 2 do
    if redis.call('HEXISTS', KEYS[1], 'result:' .. ARGV[i]) == 0 then
      targets[#targets + 1] = {ARGV[i], KEYS[k], ARGV[i + 1]}
    end
    k = k + 1
  end
end
for _, target in ipairs(targets) do
  -- started: a delivery began since the last re-queue (a re-queued message still waiting in
  -- a busy queue is not a stall)
  local attempts = tonumber(redis.call('HGET', KEYS[1], 'attempts:' .. target[1]) or '0')
  local swept = tonumber(redis.call('HGET', KEYS[1], 'swept:' .. target[1]) or '-1')
  local started = attempts > 0 and attempts ~= swept
  if not started and redis.call('LLEN', target[2]) > 0 then
    redis.call('ZADD', KEYS[2], later, id)
    return {'waiting'}
  end
end
redis.call('ZADD', KEYS[2], later, id)
local rounds = redis.call('HINCRBY', KEYS[1], 'sweeps', 1)
if rounds > tonumber(ARGV[3]) then return {'exhausted'} end
local names = {}
for _, target in ipairs(targets) do
  redis.call('LPUSH', target[2], target[3])
  local attempts = redis.call('HGET', KEYS[1], 'attempts:' .. target[1]) or '0'
  redis.call('HSET', KEYS[1], 'swept:' .. target[1], attempts)
  names[#names + 1] = target[1]
end
return {'requeued', unpack(names)}
"""
)


class SweepState(StoreBase):
    def stalled(self, *, limit: int) -> list[str]:
        """Ids of unfinished jobs that made no progress for the stall time, oldest first."""
        rows = self.redis.zrangebyscore(INFLIGHT, "-inf", "(" + repr(self.server_time()), 0, limit)
        return [text(job_id) for job_id in rows]

    def sweep(
        self,
        job_id: str,
        *,
        analyses: list[str],
        prepare_message: str,
        analysis_messages: dict[str, str],
        max_rounds: int,
        priority: str = "normal",
    ) -> tuple[str, list[str]]:
        """Look at one stalled job and re-queue what it is stuck at (see ``SWEEP``).

        Returns the outcome (``done``, ``waiting``, ``requeued``, ``exhausted``) and the stages
        re-queued.
        """
        keys = [
            self.job_key(job_id),
            INFLIGHT,
            queue_key(PREPARE_QUEUE, priority),
            *(queue_key(analysis, priority) for analysis in analyses),
        ]
        args: list[Any] = [job_id, self.stall, max_rounds, prepare_message]
        for analysis in analyses:
            args += [analysis, analysis_messages[analysis]]
        outcome, *stages = self.script(SWEEP)(keys=keys, args=args)
        return text(outcome), [text(stage) for stage in stages]
