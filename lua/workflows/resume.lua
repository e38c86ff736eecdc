-- workflows/resume: paused -> running; while a lease is live only its holder's token may resume.
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
-- ARGV[5] fencing token ('' = none; refused while another holder's lease is live)
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: guarded; restarts work
-- Retry: safe; a replayed op id returns the first reply, and the status check refuses a second resume.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/workflows.lua

local op_id, channel, id, wf, now, stop = wf_begin({'status'})
if stop then return stop end
stop = lease_refusal(K.lease, ARGV[5], now, 'workflow', id)
  or wf_transition_refusal(wf_set('paused'), wf[1], id, 'resume')
if stop then return stop end
redis.call('HDEL', K.base, 'paused_at')
return wf_move(op_id, channel, id, tonumber(ARGV[4]), 'resume', wf[1], 'running', now)
