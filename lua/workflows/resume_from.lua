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

local base, ctx, steps, stepst, cp, cpd = K.base, K.ctx, K.steps, K.stepst, K.cp, K.cpd
local cp_id = ARGV[4]

local op_id, channel, id, wf, now, stop = wf_begin({'status', 'total'})
if stop then return stop end
stop = lease_refusal(K.lease, ARGV[6], now, 'workflow', id)
  or wf_transition_refusal(wf_set('pending running paused failed'), wf[1], id, 'resume_from')
if stop then return stop end
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
return wf_move(op_id, channel, id, tonumber(ARGV[5]), 'resume_from', wf[1], to, now,
               {checkpoint = cp_id, step = step})
