-- tools/retry_set: schedule (or end) the retries of an execution, due at server time now + delay.
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the retries (tool '_retries'; '' = no event)
-- ARGV[3] index name ('tool-retries')
-- ARGV[4] execution id (its retry hash is KEYS[5] followed by it)
-- ARGV[5] delay in ms from the server's now (>= 0)
-- ARGV[6] '1' when the attempts are exhausted (unschedule and keep the record for ARGV[8] ms)
-- ARGV[7] document (opaque JSON text: attempts, max_attempts, last_error, backoff, tool, metadata)
-- ARGV[8] retention in ms of records that are no longer scheduled
-- Reply: the due time in server ms, or '' when exhausted
-- Mode: write
-- Memory: guarded; stores a retry schedule
-- Retry: safe; a replayed op id returns the first reply and writes nothing.

--@include lib/tool_retries.lua

local channel, exec_id, delay, exhausted, doc, keep =
  ARGV[2], ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7], tonumber(ARGV[8])
local retry = K.retry_prefix .. exec_id

local stop = tool_begin(K)
if stop then return stop end

local reply
redis.call('DEL', retry)
if exhausted == '1' then
  redis.call('ZREM', K.due, exec_id)
  redis.call('HSET', retry, 'id', exec_id, 'status', 'exhausted', 'doc', doc)
  redis.call('PEXPIRE', retry, keep)
  reply = ''
else
  local due = now_ms() + delay
  redis.call('ZADD', K.due, due, exec_id)
  redis.call('HSET', retry, 'id', exec_id, 'status', 'scheduled', 'doc', doc, 'due', due)
  reply = tostring(due)
end

publish(channel, {key = exec_id, op = exhausted == '1' and 'retry_exhausted' or 'retry_scheduled', due = reply})
return tool_done(K, reply)
