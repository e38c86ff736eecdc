-- workflows/cancel: pending|running|paused -> cancelled (terminal), with a reason.
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
-- ARGV[5] reason (opaque JSON)
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: allowed; stops a workflow (a status field)
-- Retry: safe; a replayed op id returns the first reply, and the status check refuses a second cancel.
-- No lease check, deliberately: an orchestrator can always stop a worker. Stopping is always
-- safe; the lease holder's next update_step is refused by the status check (cancelled).

--@include lib/core.lua
--@include lib/workflows.lua

local op_id, channel, id, wf, now, stop = wf_begin({'status'}, wf_set('pending running paused'), 'cancel')
if stop then return stop end
redis.call('HSET', K.base, 'reason', ARGV[5], 'finished', now)
return wf_move(op_id, channel, id, tonumber(ARGV[4]), 'cancel', wf[1], 'cancelled', now, {reason = ARGV[5]})
