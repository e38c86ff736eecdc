-- workflows/start: pending -> running (update_step also starts a pending workflow).
-- KEYS[1] workflow hash
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] context hash
-- KEYS[5] step records hash
-- KEYS[6] step status hash
-- KEYS[7] history list
-- KEYS[8] checkpoint zset
-- KEYS[9] checkpoint data hash
-- KEYS[10] lease hash
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] workflow id
-- ARGV[4] history cap
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: guarded; starts work
-- Retry: safe; a replayed op id returns the first reply, and the status check refuses a second start.

--@include lib/core.lua
--@include lib/workflows.lua

local op_id, channel, id, wf, now, stop = wf_begin({'status'}, wf_set('pending'), 'start')
if stop then return stop end
redis.call('HSET', K.base, 'started', now)
return wf_move(op_id, channel, id, tonumber(ARGV[4]), 'start', wf[1], 'running', now)
