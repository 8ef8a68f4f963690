"""The Lua scripts behind the job store: each is one atomic step in Redis.

Each script names the race it closes in its header. Kept apart from ``store.py`` so the
Python side reads as the store's interface; ``RedisJobStore`` registers them once.
"""

CREATE = """
-- KEYS: job hash, raw article, first queue, expiry marker, job index, [idempotency key]
-- ARGV: job id, record json, article view json, analyses csv, pending, now, raw article json,
--       ttl, first message ('' for none), request fingerprint, idempotency ttl,
--       most messages the first queue may hold (0: no limit), marker ttl, job key prefix
-- The index orders jobs by a counter (creation order, exact even within a millisecond); each
-- creation also drops up to two expired jobs from its old end, so it tracks stored jobs.
-- With an idempotency key: a key already used answers with its 'fingerprint job-id' and
-- nothing is created, so two concurrent retries can never make two jobs. A full first queue
-- answers 'busy' (backpressure) and creates nothing.
if #KEYS == 6 then
  local seen = redis.call('GET', KEYS[6])
  if seen then return {'exists', seen} end
end
local depth = redis.call('LLEN', KEYS[3])
if tonumber(ARGV[12]) > 0 and depth >= tonumber(ARGV[12]) then
  return {'busy', tostring(depth)}
end
redis.call('SET', KEYS[4], '1', 'EX', ARGV[13])
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'article', ARGV[3], 'analyses', ARGV[4],
  'pending', ARGV[5], 'status', 'queued', 'updated_at', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('SET', KEYS[2], ARGV[7], 'EX', ARGV[8])
if ARGV[9] ~= '' then redis.call('LPUSH', KEYS[3], ARGV[9]) end
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[5] .. ':seq'), ARGV[1])
for _, old in ipairs(redis.call('ZRANGE', KEYS[5], 0, 1)) do
  if redis.call('EXISTS', ARGV[14] .. old) == 0 then redis.call('ZREM', KEYS[5], old) end
end
if #KEYS == 6 then redis.call('SET', KEYS[6], ARGV[10] .. ' ' .. ARGV[1], 'EX', ARGV[11]) end
return {'created', ''}
"""

CANCEL = """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] vectors, KEYS[4] raw article, KEYS[5] webhooks
-- ARGV: cancelled result json, now, ttl, webhook task message ('' when the job has none)
-- A finished job stays as it is; otherwise every analysis without a result gets the
-- cancelled result and the job ends, in one step, so no worker can complete it meanwhile.
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
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.cancelled', status='cancelled'}))
if ARGV[4] ~= '' then
  redis.call('LPUSH', KEYS[5], ARGV[4])
  redis.call('HSETNX', KEYS[1], 'webhook_state', 'queued')
end
return 'cancelled'
"""

START = """
-- KEYS[1] job hash, KEYS[2] channel; ARGV: stage, field whose presence means done, now
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', '', 0} end
local status = redis.call('HGET', KEYS[1], 'status')
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 or redis.call('HEXISTS', KEYS[1], 'completed_at') == 1
then
  return {'done', status, 0}
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts:' .. ARGV[1], 1)
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'updated_at', ARGV[3])
  redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.running', status='running'}))
  status = 'running'
end
return {'started', status, attempts}
"""

SAVE_PREPARED = """
-- KEYS: job hash, channel, doc, vectors, raw article, then one queue per message
-- ARGV: doc json, vectors bytes ('' for none), article json, now, ttl, step, then one
-- message per queue. Step 'text' stores the document and queues the analyses that need no
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
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.' .. step .. '_prepared'}))
for i = 6, #KEYS do redis.call('LPUSH', KEYS[i], ARGV[i + 1]) end
return 'prepared'
"""

RECORD = """
-- KEYS[1] job hash, KEYS[2] channel, KEYS[3] doc, KEYS[4] vectors, KEYS[5] raw article
-- ARGV: analysis, result json, now, ttl, '1' if the analysis succeeded else '0'
-- O(1) whatever the results weigh: successes are counted, results are never decoded here.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local field = 'result:' .. ARGV[1]
if redis.call('HEXISTS', KEYS[1], field) == 1 then
  return {'duplicate', redis.call('HGET', KEYS[1], 'status')}
end
redis.call('HSET', KEYS[1], field, ARGV[2], 'updated_at', ARGV[3])
local ok = redis.call('HINCRBY', KEYS[1], 'succeeded', tonumber(ARGV[5]))
local pending = redis.call('HINCRBY', KEYS[1], 'pending', -1)
local status = redis.call('HGET', KEYS[1], 'status')
redis.call('PUBLISH', KEYS[2], cjson.encode({type='analysis.completed', analysis=ARGV[1]}))
if pending > 0 then
  if status == 'queued' then
    status = 'running'
    redis.call('HSET', KEYS[1], 'status', status)
  end
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
redis.call('PUBLISH', KEYS[2], cjson.encode({type='job.' .. status, status=status}))
return {'completed', status}
"""
