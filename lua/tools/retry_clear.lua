-- tools/retry_clear: drop an execution's retry schedule and record (it succeeded or was abandoned).
-- KEYS[1] due set
-- KEYS[2] retry hash of the execution
-- KEYS[3] ops hash (current generation)
-- KEYS[4] ops of the previous generation
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] execution id
-- Reply: '1' if there was a record, '0' if not
-- Mode: write
-- Memory: allowed; deletes a retry schedule
-- Retry: safe; clearing twice clears once, and a replayed op id returns the first reply.

--@include lib/core.lua

local due_set, retry, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op_id, channel, exec_id = ARGV[1], ARGV[2], ARGV[3]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

redis.call('ZREM', due_set, exec_id)
local existed = redis.call('DEL', retry)
if existed == 1 then publish(channel, {key = exec_id, op = 'retry_cleared'}) end
op_remember(ops, ops_prev, op_id, tostring(existed))
return tostring(existed)
