"""Sweep: find jobs that stopped making progress and re-queue the stage each is stuck at."""

from __future__ import annotations


from copydesk.core.names import PREPARE_QUEUE, queue_key
from copydesk.store.base import INFLIGHT, StoreBase, text
from copydesk.store.scripts import NOW, Script

SWEEP = Script(
    keys=("job", "inflight", "prepare_queue", "*queues"),
    args=("job_id", "stall", "most_rounds", "prepare_message", "analyses", "*messages"),
    body=NOW
    + """
-- ``analyses`` (comma-separated) are the job's; each has its queue in ``queues`` and a fresh
-- message in ``messages``, in that order.
-- Looks at one job that made no progress for the stall time, and re-queues the stage it is
-- stuck at: its message was lost (deleted, or held by a worker that died, or dropped by a
-- Redis restart), or the worker running it died. A stage that has not started while its
-- queue still holds messages may just be waiting its turn: the job is looked at again later,
-- without using a round. Past the last round the answer is 'exhausted' and the caller fails
-- what is left; the job stays in the set until then, so a crash in between loses nothing.
-- Re-queued work is harmless twice over: a stage that already finished finds its result.
if redis.call('EXISTS', K.job) == 0 or redis.call('HEXISTS', K.job, 'completed_at') == 1
then
  redis.call('ZREM', K.inflight, A.job_id)
  return {'done'}
end
local later = now() + tonumber(A.stall)
local targets = {}
if redis.call('HGET', K.job, 'prepared') ~= '1' then
  targets[1] = {'prepare', K.prepare_queue, A.prepare_message}
else
  local i = 0
  for name in string.gmatch(A.analyses, '[^,]+') do
    i = i + 1
    if redis.call('HEXISTS', K.job, 'result:' .. name) == 0 then
      targets[#targets + 1] = {name, K.queues[i], A.messages[i]}
    end
  end
end
for _, target in ipairs(targets) do
  -- started: a delivery began since the last re-queue (a re-queued message still waiting in
  -- a busy queue is not a stall)
  local attempts = tonumber(redis.call('HGET', K.job, 'attempts:' .. target[1]) or '0')
  local swept = tonumber(redis.call('HGET', K.job, 'swept:' .. target[1]) or '-1')
  local started = attempts > 0 and attempts ~= swept
  if not started and redis.call('LLEN', target[2]) > 0 then
    redis.call('ZADD', K.inflight, later, A.job_id)
    return {'waiting'}
  end
end
redis.call('ZADD', K.inflight, later, A.job_id)
local rounds = redis.call('HINCRBY', K.job, 'sweeps', 1)
if rounds > tonumber(A.most_rounds) then return {'exhausted'} end
local names = {}
for _, target in ipairs(targets) do
  redis.call('LPUSH', target[2], target[3])
  local attempts = redis.call('HGET', K.job, 'attempts:' .. target[1]) or '0'
  redis.call('HSET', K.job, 'swept:' .. target[1], attempts)
  names[#names + 1] = target[1]
end
return {'requeued', unpack(names)}
""",
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
        keys = {
            "job": self.job_key(job_id),
            "inflight": INFLIGHT,
            "prepare_queue": queue_key(PREPARE_QUEUE, priority),
            "queues": [queue_key(analysis, priority) for analysis in analyses],
        }
        args = {
            "job_id": job_id,
            "stall": self.stall,
            "most_rounds": max_rounds,
            "prepare_message": prepare_message,
            "analyses": ",".join(analyses),
            "messages": [analysis_messages[analysis] for analysis in analyses],
        }
        outcome, *stages = self.run(SWEEP, keys=keys, args=args)
        return text(outcome), [text(stage) for stage in stages]
