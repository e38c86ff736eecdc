-- tools/retry_set: schedule (or end) the retries of an execution, due at server time now + delay.
-- KEYS[1] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[2] retry hash of the execution (same index hash tag)
-- KEYS[3] ops hash (current generation)
-- KEYS[4] ops of the previous generation
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] execution id
-- ARGV[4] delay in ms from the server's now (>= 0)
-- ARGV[5] '1' when the attempts are exhausted (unschedule and keep the record for ARGV[7] ms)
-- ARGV[6] document (opaque JSON text: attempts, max_attempts, last_error, backoff, tool, metadata)
-- ARGV[7] retention in ms of records that are no longer scheduled
-- Reply: the due time in server ms, or '' when exhausted
-- Mode: write
-- Memory: guarded; stores a retry schedule
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/core.lua

local due_set, retry, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op_id, channel, exec_id, delay, exhausted, doc, keep =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

local reply
redis.call('DEL', retry)
if exhausted == '1' then
  redis.call('ZREM', due_set, exec_id)
  redis.call('HSET', retry, 'id', exec_id, 'status', 'exhausted', 'doc', doc)
  redis.call('PEXPIRE', retry, keep)
  reply = ''
else
  local due = now_ms() + delay
  redis.call('ZADD', due_set, due, exec_id)
  redis.call('HSET', retry, 'id', exec_id, 'status', 'scheduled', 'doc', doc, 'due', due)
  reply = tostring(due)
end

publish(channel, {key = exec_id, op = exhausted == '1' and 'retry_exhausted' or 'retry_scheduled', due = reply})
op_remember(ops, ops_prev, op_id, reply)
return reply
