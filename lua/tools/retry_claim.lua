-- tools/retry_claim: claim up to N due retries at once; two pollers never get the same one.
-- KEYS[1] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[2] retry hash key prefix (same index hash tag)
-- KEYS[3] ops hash (current generation)
-- KEYS[4] ops of the previous generation
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] limit
-- ARGV[4] claim timeout in ms (0 = claimed retries leave the schedule; > 0 = they come due again then)
-- ARGV[5] retention in ms of claimed records that left the schedule
-- Reply: cjson array of {execution id, due ms, document}, earliest due first
-- Mode: write
-- Memory: guarded; starts retries
-- Retry: safe; a replayed op id returns the first claim and claims nothing more.

--@include lib/core.lua

local due_set, prefix, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op_id, channel, limit, claim_ms, keep =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local now = now_ms()
local claimed, ids = {}, {}
local due = redis.call('ZRANGEBYSCORE', due_set, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #due, 2 do
  local id, at = due[i], due[i + 1]
  local retry = prefix .. id
  if claim_ms > 0 then
    redis.call('ZADD', due_set, now + claim_ms, id)
    redis.call('HSET', retry, 'status', 'claimed', 'due', now + claim_ms)
  else
    redis.call('ZREM', due_set, id)
    redis.call('HSET', retry, 'status', 'claimed')
    redis.call('PEXPIRE', retry, keep)
  end
  claimed[#claimed + 1] = {id, at, redis.call('HGET', retry, 'doc') or '{}'}
  ids[#ids + 1] = id
end

if #ids > 0 then publish(channel, {key = '_retries', op = 'retry_claimed', ids = ids}) end
local encoded = #claimed > 0 and cjson.encode(claimed) or '[]'
op_remember(ops, ops_prev, op_id, encoded)
return encoded
