-- orchestration/assign: a coordinator gives a pending (or retry-scheduled) task to a named agent.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] agent id (must be a team member with the task's capability)
-- ARGV[6] lease in ms (0 = no expiry: held until completed or failed)
-- Reply: JSON {task = [flat task hash], errors = [...]}; a team limit reached (set_team_limits) refuses
--   with TRANSITION status 'limited' and retry_ms (when it may pass; concurrency: a poll interval)
-- Mode: write
-- Memory: guarded; starts new work
-- Retry: safe; a replayed op id returns the first reply; a second assign finds the task in progress.
-- Counts (team hash): assigned_total (get_team_counters adds it to claims_total).

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_limits.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id, agent, lease_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])

local replay = task_replay(base, ops, ops_prev, op_id)
if replay then return replay end
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local t = tkey(base, id)
local f = redis.call('HMGET', t, 'status', 'cap')
if not f[1] then return fail('NOT_FOUND', {kind = 'task', id = id, team = team}) end
local caps = redis.call('HGET', akey(base, agent), 'caps')
if not caps then return fail('NOT_FOUND', {kind = 'agent', id = agent, team = team}) end
if f[1] ~= 'pending' and f[1] ~= 'retry' and f[1] ~= 'delayed' then
  return fail('TRANSITION', {kind = 'task', id = id, team = team, status = f[1], op = 'assign'})
end
if not has_cap(caps, f[2]) then
  return fail('INVALID', {kind = 'task', id = id, team = team,
    detail = 'agent ' .. agent .. ' lacks capability ' .. f[2]})
end

local now = now_ms()
local lim = nil
if redis.call('HGET', base, CTL_FIELDS.has_limits) == '1' then lim = limits_read(base) end
if lim then
  local wait = limit_wait(base, lim, '', now, true) or limit_wait(base, lim, f[2] or '', now, true)
  if wait then
    return fail('TRANSITION', {kind = 'task', id = id, team = team, status = 'limited', op = 'assign',
      retry_ms = wait})
  end
end
if f[1] == 'pending' then take_pending(base, id, f[2])
elseif f[1] == 'delayed' then redis.call('ZREM', sub(base, CTL.delayed), id)
else redis.call('ZREM', sub(base, 'retry'), id) end
hold(base, agent, id, nil, now, false)
local token = start_task(base, id, agent, lease_ms, 'assign', now, false)
redis.call('HINCRBY', base, 'assigned_total', 1)   -- a claim too, not a wake-up: no histogram observation
if lim then limits_record(base, lim, id, f[2] or '', token, now) end
publish(channel, {key = team, op = 'assign', version = bump(base), task = id, agent = agent, token = token,
  status = 'in_progress'})
op_remember(ops, ops_prev, op_id, task_memo(id, token))
return task_reply(base, id)
