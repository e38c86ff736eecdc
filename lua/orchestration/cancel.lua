-- orchestration/cancel: end a task cancelled, from any process; a running one is stopped through its holder.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] task id
-- ARGV[5] reason ('' = none)
-- ARGV[6] cancelled tasks to keep (older ones are deleted and tombstoned; never the one just cancelled)
-- ARGV[7] dedupe window in ms: how long a deleted task's id stays tombstoned (enqueue refuses it)
-- ARGV[8] dead letters to keep (dependents that fail because of this cancel become dead letters)
-- Reply: JSON {task = [flat task hash], errors = [...]}
-- Mode: write
-- Memory: allowed; stops work and frees its holder; the history is capped
-- Retry: safe; a replayed op id returns the first reply; any other second cancel finds the task
--   cancelled and is refused (InvalidTransitionError), so a task ends cancelled exactly once.
--
-- Pending, delayed, retry-waiting and dependency-waiting tasks leave their queue; the cancelled task's
-- dependents are settled (they fail, or proceed under on_dependency_failure='ignore'). An in-progress task leaves :running
-- and its holder at once (its token is dead: complete/fail/release then raise TaskCancelledError),
-- but stays in the holder's :held set, so the holder's next heartbeat reports it (and drops it).
-- Completed, dead or already cancelled tasks (or ones finished and forgotten) are refused.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, id, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local limits = {keep = tonumber(ARGV[6]), window_ms = tonumber(ARGV[7]), dead_keep = tonumber(ARGV[8])}

local replay = task_replay(base, ops, ops_prev, op_id)
if replay then return replay end
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
local t = tkey(base, id)
local f = redis.call('HMGET', t, 'status', 'cap', 'agent')
if not f[1] then
  if is_gone(base, id) then
    return fail('TRANSITION', {kind = 'task', id = id, team = team, status = 'finished', op = 'cancel'})
  end
  return fail('NOT_FOUND', {kind = 'task', id = id, team = team})
end
local status, holder = f[1], f[3] or ''
if status == 'pending' then take_pending(base, id, f[2] or '')
elseif status == 'delayed' then redis.call('ZREM', sub(base, CTL.delayed), id)
elseif status == 'retry' then redis.call('ZREM', sub(base, 'retry'), id)
elseif status == 'waiting' then
  redis.call('ZREM', sub(base, CTL.waiting), id)
  redis.call('DEL', sub(base, CTL.wait .. id))
elseif status == 'in_progress' then
  redis.call('ZREM', sub(base, 'running'), id)
  release_agent(base, holder, id)
  if holder ~= '' then redis.call('SADD', sub(base, 'held:' .. holder), id) end
else
  return fail('TRANSITION', {kind = 'task', id = id, team = team, status = status, op = 'cancel'})
end

if status ~= 'in_progress' then redis.call('HSET', t, 'agent', '') end
publish(channel, {key = team, op = 'cancel', version = bump(base), task = id, agent = holder,
  status = 'cancelled', was = status, reason = reason})
to_cancelled(base, team, id, now_ms(), reason, limits, channel)
op_remember(ops, ops_prev, op_id, task_memo(id))
return task_reply(base, id)
