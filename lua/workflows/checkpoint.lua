-- workflows/checkpoint: store a named checkpoint (step + context) as the newest one.
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
-- ARGV[5] step ('' = the workflow's current_step)
-- ARGV[6] caller's state (opaque JSON, '' = none)
-- ARGV[7] '1' if ARGV[11..] is the context to store, '0' to capture the stored context
-- ARGV[8] checkpoint cap (oldest dropped beyond it)
-- ARGV[9] history cap
-- ARGV[10] fencing token ('' = none)
-- ARGV[11..] context key, opaque JSON value, ...
-- Reply: JSON [workflow hash flat, context flat, the stored checkpoint as list_checkpoints gives it]
-- Mode: write
-- Memory: guarded; stores a checkpoint
-- Retry: safe; a replayed op id returns the first reply, and an existing checkpoint id fails with EXISTS.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/workflows.lua

local base, ops, ops_prev, ctx, hist, cp, cpd = K.base, K.ops, K.ops_prev, K.ctx, K.hist, K.cp, K.cpd
local cp_id, step = ARGV[4], ARGV[5]

local op_id, channel, id, wf, now, stop = wf_begin({'status', 'total', 'cur'})
if stop then return stop end
stop = lease_refusal(K.lease, ARGV[10], now, 'workflow', id)
if stop then return stop end
if redis.call('ZSCORE', cp, cp_id) then
  return fail('EXISTS', {kind = 'workflow checkpoint', id = id .. '/' .. cp_id})
end
if step == '' then step = wf[3] end
if tonumber(step) > tonumber(wf[2]) then
  return fail('INVALID', {kind = 'workflow', id = id,
                          detail = 'checkpoint step ' .. step .. ' is beyond total_steps ' .. wf[2]})
end

local pairs_given = nil
if ARGV[7] == '1' then
  pairs_given = {}
  for i = 11, #ARGV do pairs_given[#pairs_given + 1] = ARGV[i] end
end
local version = wf_bump(base, now)
wf_write_checkpoint(base, ctx, cp, cpd, tonumber(ARGV[8]), cp_id, tonumber(step), now, '0', ARGV[6], pairs_given)
wf_history(hist, tonumber(ARGV[9]), {op = 'checkpoint', checkpoint = cp_id, step = tonumber(step),
                                     version = version, at = now})
publish(channel, {key = id, op = 'checkpoint', version = version, status = wf[1], checkpoint = cp_id,
                  step = tonumber(step), current_step = tonumber(wf[3]), at = now})
-- The stored checkpoint travels in the reply: read back later it may already be capped away.
local reply = cjson.encode({redis.call('HGETALL', base), redis.call('HGETALL', ctx), wf_checkpoint_item(cpd, cp_id)})
op_remember(ops, ops_prev, op_id, reply)
return reply
