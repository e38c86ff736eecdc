-- workflows/update_step: record a step, advance current_step, complete/fail, auto-checkpoint.
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
-- ARGV[4] step number (>= 1)
-- ARGV[5] step status (pending|running|completed|failed|skipped)
-- ARGV[6] '1' if a failed step will be retried (the workflow keeps running), else '0'
-- ARGV[7] step record (opaque JSON)
-- ARGV[8] error of a failed step (opaque JSON, '' = none)
-- ARGV[9] fencing token ('' = none)
-- ARGV[10] history cap
-- ARGV[11] checkpoint cap
-- ARGV[12..] context key, opaque JSON value, ... merged into the context
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: guarded; records a step and its history
-- Retry: safe; a replayed op id returns the first reply. A step counts towards current_step,
-- completion and checkpoints only when it first becomes completed/skipped, and an identical
-- re-send (same number, status and record, no context) writes nothing and returns the state.

--@include lib/core.lua
--@include lib/lease.lua
--@include lib/workflows.lua

local base, ops, ops_prev, ctx = K.base, K.ops, K.ops_prev, K.ctx
local steps, stepst, hist, cp, cpd = K.steps, K.stepst, K.hist, K.cp, K.cpd
local n, sstatus, retry, record, err, token = tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local hist_cap, cp_cap = tonumber(ARGV[10]), tonumber(ARGV[11])

local op_id, channel, id, wf, now, stop = wf_begin({'status', 'total', 'cur', 'done', 'interval'})
if stop then return stop end
local status, total, cur, done, interval = wf[1], tonumber(wf[2]), tonumber(wf[3]), tonumber(wf[4]), tonumber(wf[5])

local code = sstatus
if sstatus == 'failed' and retry == '1' then code = 'failed:retry' end
local prev = redis.call('HGET', stepst, n)
if prev == code and #ARGV < 12 and redis.call('HGET', steps, n) == record then
  local same = wf_reply(base, ctx)
  op_remember(ops, ops_prev, op_id, same)
  return same
end

stop = lease_refusal(K.lease, token, now, 'workflow', id)
if stop then return stop end
if status ~= 'pending' and status ~= 'running' then
  return fail('TRANSITION', {kind = 'workflow', id = id, status = status, op = 'update_step'})
end
if n > total then
  return fail('INVALID', {kind = 'workflow', id = id,
                          detail = 'step_number ' .. n .. ' is beyond total_steps ' .. total})
end
local was_done = prev and WF_FINISHED[prev] or false
if was_done and not WF_FINISHED[sstatus] then
  return fail('TRANSITION', {kind = 'workflow step', id = id .. ' step ' .. n, status = prev,
                             op = 'update_step to ' .. sstatus})
end

redis.call('HSET', steps, n, record)
redis.call('HSET', stepst, n, code)
for i = 12, #ARGV, 2 do
  redis.call('HSET', ctx, ARGV[i], ARGV[i + 1])
end

local new_status = 'running'
if status == 'pending' then redis.call('HSET', base, 'started', now) end
local counted = false
if WF_FINISHED[sstatus] and not was_done and n > cur then
  done = done + 1
  counted = true
end
while cur < total do
  local s = redis.call('HGET', stepst, cur + 1)
  if s and WF_FINISHED[s] then cur = cur + 1 else break end
end
if sstatus == 'failed' and retry ~= '1' then
  new_status = 'failed'
  redis.call('HSET', base, 'error', err, 'failed_step', n, 'finished', now)
elseif cur >= total then
  new_status = 'completed'
  redis.call('HSET', base, 'finished', now)
end
redis.call('HSET', base, 'status', new_status, 'cur', cur, 'done', done)
local version = wf_bump(base, now)

local cp_id = nil
if counted and interval > 0 and done % interval == 0 then
  cp_id = 'auto-' .. done
  wf_write_checkpoint(base, ctx, cp, cpd, cp_cap, cp_id, cur, now, '1', '', nil)
end

wf_history(hist, hist_cap, {op = 'step', step = n, step_status = sstatus, record = record, from = status,
                            to = new_status, version = version, current_step = cur, checkpoint = cp_id, at = now})
publish(channel, {key = id, op = 'step', version = version, old = status, new = new_status,
                  status = new_status, previous_status = status, step = n, step_status = sstatus,
                  current_step = cur, completed_steps = done, checkpoint = cp_id, at = now})
local reply = wf_reply(base, ctx)
op_remember(ops, ops_prev, op_id, reply)
return reply
