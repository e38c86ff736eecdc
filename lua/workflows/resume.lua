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

local base, ops, ops_prev, ctx, hist, lease = K.base, K.ops, K.ops_prev, K.ctx, K.hist, K.lease
local op_id, channel, id, hist_cap = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ALLOWED = wf_set('paused')

local r = op_replay(ops, ops_prev, op_id) if r then return r end
local status = redis.call('HGET', base, 'status')
if not status then return fail('NOT_FOUND', {kind = 'workflow', id = id}) end
local now = now_ms()
local lease_err = lease_check(lease, ARGV[5], now)
if lease_err then
  lease_err.kind, lease_err.id = 'workflow', id
  return fail('LEASE', lease_err)
end
if not ALLOWED[status] then
  return fail('TRANSITION', {kind = 'workflow', id = id, status = status, op = 'resume'})
end
redis.call('HDEL', base, 'paused_at')
local reply = wf_move(base, ctx, hist, hist_cap, channel, id, 'resume', status, 'running', now)
op_remember(ops, ops_prev, op_id, reply)
return reply
