-- tools/retry_clear: drop an execution's retry schedule and record (it succeeded or was abandoned).
-- KEYS[1] base key of the retry index (nothing is stored there)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation
-- KEYS[4] due set (sorted set of execution ids, score = due time in server ms)
-- KEYS[5] retry hash key prefix (same index hash tag)
-- ARGV[1] op id
-- ARGV[2] event channel of the retries (tool '_retries'; '' = no event)
-- ARGV[3] index name ('tool-retries')
-- ARGV[4] execution id (its retry hash is KEYS[5] followed by it)
-- Reply: '1' if there was a record, '0' if not
-- Mode: write
-- Memory: allowed; deletes a retry schedule
-- Retry: safe; clearing twice clears once, and a replayed op id returns the first reply.

--@include lib/tool_retries.lua

local channel, exec_id = ARGV[2], ARGV[4]

local stop = tool_begin(K)
if stop then return stop end

redis.call('ZREM', K.due, exec_id)
local existed = redis.call('DEL', K.retry_prefix .. exec_id)
if existed == 1 then publish(channel, {key = exec_id, op = 'retry_cleared'}) end
return tool_done(K, tostring(existed))
