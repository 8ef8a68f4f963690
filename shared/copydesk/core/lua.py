"""The Lua scripts behind the job store: each is one atomic step in Redis.

Each script names the race it closes in its header. Kept apart from ``store.py`` so the
Python side reads as the store's interface; ``RedisJobStore`` registers them once.
"""

# Functions every script may call, prepended to each: the server's clock (so every host agrees,
# whatever its own clock says), and what ending a job does besides setting its status.
_COMMON = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- tell listeners: published on the job's channel, and appended to its event stream (what
-- GET /v1/jobs/{id}/events reads, resuming from any entry), which lives as long as the job
local function emit(job, channel, event)
  local payload = cjson.encode(event)
  redis.call('PUBLISH', channel, payload)
  local stream = job .. ':stream'
  redis.call('XADD', stream, 'MAXLEN', '~', 200, '*', 'event', payload)
  local ttl = redis.call('TTL', job)
  if ttl > 0 then redis.call('EXPIRE', stream, ttl) end
end
-- a webhook of a job (member: its id) or a batch (member: 'batch:<id>') is due at once
local function due_now(hash, due, member)
  local at = now()
  redis.call('ZADD', due, at, member)
  redis.call('HSET', hash, 'webhook_state', 'pending', 'webhook_next_at', at,
    'webhook_attempts', 0)
end
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

CREATE = (
    _COMMON
    + """
-- KEYS: job hash, raw article, first queue, expiry marker, job index, in-flight set, the
--       first stage's three priority lists (for the depth), [idempotency key]
-- ARGV: job id, record json, article view json, analyses csv, pending, now, raw article json,
--       ttl, first message ('' for none), request fingerprint, idempotency ttl,
--       most messages the first queue may hold (0: no limit), marker ttl, job key prefix,
--       '1' if the job has a webhook, stall seconds, tenant, batch id ('' for none)
-- The job joins the in-flight set, due for the sweeper's look once it could have stalled.
-- The job index is the tenant's; the expiry marker remembers the tenant, so an expired job
-- answers 410 only to its own tenant.
-- The index orders jobs by a counter (creation order, exact even within a millisecond); each
-- creation also drops up to two expired jobs from its old end, so it tracks stored jobs.
-- With an idempotency key: a key already used answers with its 'fingerprint job-id' and
-- nothing is created, so two concurrent retries can never make two jobs. A full first queue
-- answers 'busy' (backpressure) and creates nothing.
if #KEYS == 10 then
  local seen = redis.call('GET', KEYS[10])
  if seen then return {'exists', seen} end
end
local depth = 0
for i = 7, 9 do depth = depth + redis.call('LLEN', KEYS[i]) end
if tonumber(ARGV[12]) > 0 and depth >= tonumber(ARGV[12]) then
  return {'busy', tostring(depth)}
end
redis.call('SET', KEYS[4], ARGV[17], 'EX', ARGV[13])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'article', ARGV[3], 'analyses', ARGV[4],
  'pending', ARGV[5], 'status', 'queued', 'updated_at', ARGV[6], 'webhook', ARGV[15],
  'batch', ARGV[18])
redis.call('EXPIRE', KEYS[1], ARGV[8])
emit(KEYS[1], KEYS[1] .. ':events', {type='job.queued', status='queued'})
redis.call('HINCRBY', 'copydesk:stats', 'jobs|accepted', 1)
redis.call('ZADD', KEYS[6], now() + tonumber(ARGV[16]), ARGV[1])
redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
if ARGV[9] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[9]) end
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[5] .. ':seq'), ARGV[1])
for _, old in ipairs(redis.call('ZRANGE', KEYS[5], 0, 1)) do
  if redis.call('EXISTS', ARGV[14] .. old) == 0 then redis.call('ZREM', KEYS[5], old) end
end
if #KEYS == 10 then redis.call('SET', KEYS[10], ARGV[10] .. ' ' .. ARGV[1], 'EX', ARGV[11]) end
return {'created', ''}
"""
)

CANCEL = (
    _COMMON
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

START = (
    _COMMON
    + """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] in-flight set
-- ARGV: stage, field whose presence means done, now, delivery token, '1' if the message is a
--       retry, job id, stall seconds
-- Counts deliveries that may have crashed their worker: a first delivery, or the same message
-- (same token) delivered again. A retry that the task itself sent after a Redis error is not a
-- crash, and does not count. Starting is progress: the sweeper's look moves later.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'completed_at') == 1
then
  return {'done', status, 0}
end
local token_field = 'token:' .. ARGV[1]
local counted = ARGV[5] ~= '1' or redis.call('HGET', KEYS[1], token_field) == ARGV[4]
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], counted and 1 or 0)
if attempts == 0 then attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], 1) end
redis.call('HSET', KEYS[1], token_field, ARGV[4])
redis.call('ZADD', KEYS[3], 'GT', now() + tonumber(ARGV[7]), ARGV[6])
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[3])
  emit(KEYS[1], KEYS[2], {type='job.running', status='running'})
  status = 'running'
end
return {'started', status, attempts}
"""
)

SAVE_PREPARED = (
    _COMMON
    + """
-- KEYS: job hash, channel, doc, vectors, raw article, in-flight set, then one queue per message
-- ARGV: doc json, vectors bytes ('' for none), article json, now, ttl, step, job id, stall
-- seconds, then one message per queue. Step 'text' stores the document and queues the analyses that need no
-- vectors (once); step 'final' stores the vectors and queues the rest, and ends preparing.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'prepared') == '1' then return 'done' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 1 then  -- cancelled meanwhile: text only
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
  redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3])
  redis.call('DEL', KEYS[5])
  return 'done'
end
local step = ARGV[6]
if step == 'text' and redis.call('HGET', KEYS[1], 'text_ready') == '1' then return 'done' end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[5]) end
redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3], 'updated_at', ARGV[4])
if step == 'final' then
  redis.call('HSET', KEYS[1], 'prepared', '1')
  redis.call('DEL', KEYS[5])
end
emit(KEYS[1], KEYS[2], {type='job.' .. step .. '_prepared'})
redis.call('ZADD', KEYS[6], 'GT', now() + tonumber(ARGV[8]), ARGV[7])
for i = 7, #KEYS do redis.call('LPUSH', KEYS[i], ARGV[i + 2]) end
return 'prepared'
"""
)

RECORD = (
    _COMMON
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

CLAIM = (
    _COMMON
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
    _COMMON
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
    _COMMON
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

SWEEP = (
    _COMMON
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
