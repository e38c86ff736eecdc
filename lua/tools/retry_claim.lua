-- tools/retry_claim: claim up to N due retries at once; two pollers never get the same one.
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the retries (tool '_retries'; '' = no event)
-- ARGV[3] index name ('tool-retries')
-- ARGV[4] limit
-- ARGV[5] claim timeout in ms (0 = claimed retries leave the schedule; > 0 = they come due again then)
-- ARGV[6] retention in ms of claimed records that left the schedule
-- Reply: cjson array of {execution id, due ms, document}, earliest due first
-- Mode: write
-- Memory: guarded; starts retries
-- Retry: safe; a replayed op id returns the first claim and claims nothing more.

--@include lib/tool_retries.lua

local channel, limit, claim_ms, keep = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

local stop = tool_begin(K)
if stop then return stop end

local now = now_ms()
local claimed, ids = {}, {}
local due = redis.call('ZRANGEBYSCORE', K.due, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #due, 2 do
  local id, at = due[i], due[i + 1]
  local retry = K.retry_prefix .. id
  if claim_ms > 0 then
    redis.call('ZADD', K.due, now + claim_ms, id)
    redis.call('HSET', retry, 'status', 'claimed', 'due', now + claim_ms)
  else
    redis.call('ZREM', K.due, id)
    redis.call('HSET', retry, 'status', 'claimed')
    redis.call('PEXPIRE', retry, keep)
  end
  claimed[#claimed + 1] = {id, at, redis.call('HGET', retry, 'doc') or '{}'}
  ids[#ids + 1] = id
end

if #ids > 0 then publish(channel, {key = '_retries', op = 'retry_claimed', ids = ids}) end
return tool_done(K, #claimed > 0 and cjson.encode(claimed) or '[]')
