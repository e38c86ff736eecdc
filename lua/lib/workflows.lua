-- Workflow helpers, pasted in by `--@include lib/workflows.lua` (it includes lib/core.lua).
-- Every workflows script (but the index ones) takes the same 10 KEYS, all under the hash tag {wf:<id>}
-- (agentstate_redis/workflows/manager.py, WorkflowStateManager.layout):
--   1 workflow hash   2 ops hash   3 ops of the previous generation   4 context hash
--   5 step records hash   6 step status hash   7 history list   8 checkpoint zset
--   9 checkpoint data hash   10 lease hash
--
-- A workflow {wf:<id>} is: the base hash (status, total, cur, done, interval, #v,
-- created/updated/started/finished ms, name/meta/error/reason as opaque JSON),
-- `ctx` (one field per top-level context key, opaque JSON values), `steps`
-- (step number -> opaque step record), `stepst` (step number -> status code the
-- scripts compare), `hist` (capped list of history entries), `cp` (zset of
-- checkpoint ids by sequence) and `cpd` (checkpoint fields, '<id>|<name>').
--@include lib/core.lua

local K = {base = KEYS[1], ops = KEYS[2], ops_prev = KEYS[3], ctx = KEYS[4], steps = KEYS[5], stepst = KEYS[6],
  hist = KEYS[7], cp = KEYS[8], cpd = KEYS[9], lease = KEYS[10]}

-- Step statuses that count as done for current_step and completion.
local WF_FINISHED = {completed = true, skipped = true}

-- The reply of every script that returns a workflow: JSON [base flat, ctx flat].
local function wf_reply(base, ctx)
  return cjson.encode({redis.call('HGETALL', base), redis.call('HGETALL', ctx)})
end

-- Bump the version and the update time; returns the new version.
local function wf_bump(base, now)
  redis.call('HSET', base, 'updated', now)
  return redis.call('HINCRBY', base, '#v', 1)
end

-- Append a history entry (newest first), keeping at most `cap` entries.
local function wf_history(hist, cap, entry)
  redis.call('LPUSH', hist, cjson.encode(entry))
  redis.call('LTRIM', hist, 0, cap - 1)
end

-- Remove every field of one checkpoint from the checkpoint data hash.
local function wf_drop_checkpoint(cpd, cp_id)
  local n = tonumber(redis.call('HGET', cpd, cp_id .. '|cn') or '0')
  local fields = {cp_id .. '|step', cp_id .. '|at', cp_id .. '|auto', cp_id .. '|snap', cp_id .. '|state',
                  cp_id .. '|cn'}
  for i = 1, n do
    fields[#fields + 1] = cp_id .. '|ck' .. i
    fields[#fields + 1] = cp_id .. '|cv' .. i
  end
  redis.call('HDEL', cpd, (unpack or table.unpack)(fields))
end

-- Write checkpoint `cp_id` (replacing one of the same id) as the newest, then cap the
-- list at `cap`. `state` is the caller's opaque JSON ('' = none); `ctx_pairs` is
-- {key, json, ...} or nil to capture the stored context. The stored workflow hash is
-- captured as `snap` (a JSON array of its stored strings).
local function wf_write_checkpoint(base, ctx, cp, cpd, cap, cp_id, step, now, auto, state, ctx_pairs)
  if ctx_pairs == nil then ctx_pairs = redis.call('HGETALL', ctx) end
  wf_drop_checkpoint(cpd, cp_id)
  local seq = redis.call('HINCRBY', base, 'cpseq', 1)
  redis.call('ZADD', cp, seq, cp_id)
  redis.call('HSET', cpd, cp_id .. '|step', step, cp_id .. '|at', now, cp_id .. '|auto', auto,
             cp_id .. '|snap', cjson.encode(redis.call('HGETALL', base)), cp_id .. '|state', state,
             cp_id .. '|cn', #ctx_pairs / 2)
  for i = 1, #ctx_pairs, 2 do
    local j = (i + 1) / 2
    redis.call('HSET', cpd, cp_id .. '|ck' .. j, ctx_pairs[i], cp_id .. '|cv' .. j, ctx_pairs[i + 1])
  end
  local old = redis.call('ZRANGE', cp, 0, -(cap + 1))
  for _, o in ipairs(old) do wf_drop_checkpoint(cpd, o) end
  if #old > 0 then redis.call('ZREMRANGEBYRANK', cp, 0, -(cap + 1)) end
end

-- One stored checkpoint as {id, step, at ms, auto '1'/'0', snapshot JSON, caller state JSON or '',
-- key, value, ...}: the shape list_checkpoints returns and checkpoint replies with.
local function wf_checkpoint_item(cpd, cp_id)
  local f = redis.call('HMGET', cpd, cp_id .. '|step', cp_id .. '|at', cp_id .. '|auto', cp_id .. '|snap',
                       cp_id .. '|state', cp_id .. '|cn')
  local item = {cp_id, f[1], f[2], f[3], f[4], f[5]}
  for i = 1, tonumber(f[6] or '0') do
    local kv = redis.call('HMGET', cpd, cp_id .. '|ck' .. i, cp_id .. '|cv' .. i)
    item[#item + 1] = kv[1]
    item[#item + 1] = kv[2]
  end
  return item
end

-- {status = true, ...} from a space-separated list.
local function wf_set(words)
  local s = {}
  for w in string.gmatch(words, '%S+') do s[w] = true end
  return s
end

-- nil if `status` is in `allowed` (a wf_set), else the TRANSITION failure of `op` to return.
local function wf_transition_refusal(allowed, status, id, op)
  if allowed[status] then return nil end
  return fail('TRANSITION', {kind = 'workflow', id = id, status = status, op = op})
end

-- The prologue of a workflow write: ARGV[1..3] (op id, event channel, workflow id), the op-id replay,
-- the workflow hash's `fields` (a list, 'status' first: NOT_FOUND without one), the server time, and,
-- when `allowed` (a wf_set) is given, the status check of `op` (wf_transition_refusal). Returns them
-- (the fields' values as a table), then a reply to return at once, nil to go on:
--   local op_id, channel, id, wf, now, stop = wf_begin({'status'}, wf_set('running'), 'pause')
--   if stop then return stop end
local function wf_begin(fields, allowed, op)
  local op_id, channel, id = ARGV[1], ARGV[2], ARGV[3]
  local replay = op_replay(K.ops, K.ops_prev, op_id)
  if replay then return op_id, channel, id, nil, nil, replay end
  local wf = redis.call('HMGET', K.base, (unpack or table.unpack)(fields))
  if not wf[1] then return op_id, channel, id, wf, nil, fail('NOT_FOUND', {kind = 'workflow', id = id}) end
  local now = now_ms()
  local stop = nil
  if allowed then stop = wf_transition_refusal(allowed, wf[1], id, op) end
  return op_id, channel, id, wf, now, stop
end

-- Move a workflow from `from` to `to` (already checked): bump the version, record the transition
-- in the history (at most `hist_cap` entries), publish it. `extra` adds fields to both. Returns the
-- reply (wf_reply), remembered under `op_id`.
local function wf_move(op_id, channel, id, hist_cap, op, from, to, now, extra)
  redis.call('HSET', K.base, 'status', to)
  local version = wf_bump(K.base, now)
  local entry = {op = op, from = from, to = to, version = version, at = now}
  local event = {key = id, op = op, version = version, old = from, new = to, status = to,
                 previous_status = from, current_step = tonumber(redis.call('HGET', K.base, 'cur')), at = now}
  for k, v in pairs(extra or {}) do
    entry[k] = v
    event[k] = v
  end
  wf_history(K.hist, hist_cap, entry)
  publish(channel, event)
  local reply = wf_reply(K.base, K.ctx)
  op_remember(K.ops, K.ops_prev, op_id, reply)
  return reply
end
