-- workflows/resume_from: restore current_step and context from a checkpoint and run on.
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
-- ARGV[4] checkpoint id
-- ARGV[5] history cap
-- ARGV[6] fencing token ('' = none; refused while another holder's lease is live)
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: guarded; restores a checkpoint
-- Retry: safe; a replayed op id returns the first reply (and restoring the same checkpoint twice
-- leaves the same state).
-- Allowed from pending, running, paused and failed (not completed or cancelled). Steps after
-- the checkpoint's step are forgotten (their records leave `steps`, the history keeps them),
-- current_step = completed_steps = the checkpoint's step, the error is cleared, and the
-- workflow is running again (completed if the checkpoint's step is the last one).
-- A rewind is a write like update_step: while a lease is live only its holder's token passes.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/workflows.lua

local base, ops, ops_prev, ctx, steps, stepst = K.base, K.ops, K.ops_prev, K.ctx, K.steps, K.stepst
local hist, cp, cpd, lease = K.hist, K.cp, K.cpd, K.lease
local op_id, channel, id, cp_id = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ALLOWED = wf_set('pending running paused failed')

local r = op_replay(ops, ops_prev, op_id) if r then return r end
local wf = redis.call('HMGET', base, 'status', 'total')
if not wf[1] then return fail('NOT_FOUND', {kind = 'workflow', id = id}) end
local now = now_ms()
local lease_err = lease_check(lease, ARGV[6], now)
if lease_err then
  lease_err.kind, lease_err.id = 'workflow', id
  return fail('LEASE', lease_err)
end
if not ALLOWED[wf[1]] then
  return fail('TRANSITION', {kind = 'workflow', id = id, status = wf[1], op = 'resume_from'})
end
if not redis.call('ZSCORE', cp, cp_id) then
  return fail('NOT_FOUND', {kind = 'workflow checkpoint', id = id .. '/' .. cp_id})
end

local step = tonumber(redis.call('HGET', cpd, cp_id .. '|step'))
for _, k in ipairs(redis.call('HKEYS', stepst)) do
  if tonumber(k) > step then redis.call('HDEL', stepst, k) end
end
for _, k in ipairs(redis.call('HKEYS', steps)) do
  if tonumber(k) > step then redis.call('HDEL', steps, k) end
end
redis.call('DEL', ctx)
for i = 1, tonumber(redis.call('HGET', cpd, cp_id .. '|cn') or '0') do
  local kv = redis.call('HMGET', cpd, cp_id .. '|ck' .. i, cp_id .. '|cv' .. i)
  redis.call('HSET', ctx, kv[1], kv[2])
end
local to = 'running'
if step >= tonumber(wf[2]) then to = 'completed' end
redis.call('HDEL', base, 'error', 'failed_step', 'paused_at', 'finished')
redis.call('HSET', base, 'cur', step, 'done', step, 'restored_from', cp_id, 'restored_at', now)
if to == 'completed' then redis.call('HSET', base, 'finished', now) end
if not redis.call('HGET', base, 'started') then redis.call('HSET', base, 'started', now) end
local reply = wf_move(base, ctx, hist, tonumber(ARGV[5]), channel, id, 'resume_from', wf[1], to, now,
                      {checkpoint = cp_id, step = step})
op_remember(ops, ops_prev, op_id, reply)
return reply
