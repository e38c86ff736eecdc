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

local base, ops, ops_prev, ctx, hist = K.base, K.ops, K.ops_prev, K.ctx, K.hist
local op_id, channel, id, hist_cap = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ALLOWED = wf_set('pending')

local r = op_replay(ops, ops_prev, op_id) if r then return r end
local status = redis.call('HGET', base, 'status')
if not status then return fail('NOT_FOUND', {kind = 'workflow', id = id}) end
if not ALLOWED[status] then
  return fail('TRANSITION', {kind = 'workflow', id = id, status = status, op = 'start'})
end
local now = now_ms()
redis.call('HSET', base, 'started', now)
local reply = wf_move(base, ctx, hist, hist_cap, channel, id, 'start', status, 'running', now)
op_remember(ops, ops_prev, op_id, reply)
return reply
