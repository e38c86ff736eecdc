-- workflows/create: create a workflow (pending or running) with its context.
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
-- ARGV[4] status ('pending' or 'running')
-- ARGV[5] total steps
-- ARGV[6] current step
-- ARGV[7] checkpoint interval (0 = no automatic checkpoints)
-- ARGV[8] name (opaque JSON)
-- ARGV[9] metadata (opaque JSON)
-- ARGV[10] history cap
-- ARGV[11..] context key, opaque JSON value, ...
-- Reply: JSON [workflow hash flat, context flat]
-- Mode: write
-- Memory: guarded; creates a workflow
-- Retry: safe; a replayed op id returns the first reply, and an existing id fails with EXISTS.

--@include lib/core.lua
--@include lib/workflows.lua

local base, ops, ops_prev, ctx, hist = K.base, K.ops, K.ops_prev, K.ctx, K.hist
local op_id, channel, id, status = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local r = op_replay(ops, ops_prev, op_id) if r then return r end
if redis.call('EXISTS', base) == 1 then
  return fail('EXISTS', {kind = 'workflow', id = id})
end

local now = now_ms()
local cur = tonumber(ARGV[6])
redis.call('HSET', base, '#v', 1, 'status', status, 'total', ARGV[5], 'cur', cur, 'done', cur,
           'interval', ARGV[7], 'name', ARGV[8], 'meta', ARGV[9], 'created', now, 'updated', now)
if status == 'running' then redis.call('HSET', base, 'started', now) end
redis.call('DEL', ctx, hist)
for i = 11, #ARGV, 2 do
  redis.call('HSET', ctx, ARGV[i], ARGV[i + 1])
end
wf_history(hist, tonumber(ARGV[10]), {op = 'create', to = status, version = 1, at = now})
publish(channel, {key = id, op = 'create', version = 1, old = false, new = status, status = status,
                  current_step = cur, at = now})
local reply = wf_reply(base, ctx)
op_remember(ops, ops_prev, op_id, reply)
return reply
