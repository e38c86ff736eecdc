-- Finishing tasks, shared by orchestration/complete, complete_claim, fail and release (after lib/orchestration.lua).
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.

-- May this caller finish task `id` now? Returns (nil, {holder =, flow =}) with what it read of the
-- task, or (error code, details).
-- The team must exist (NOT_FOUND names the team). A task held through claim_task needs its fencing token; one given out by assign_task
-- accepts the token or no token. A cancelled task is CANCELLED (with its reason), whoever asks; when the
-- holder asks, the task leaves its :held set (the one write of a refusal: idempotent). A token that is not the task's current one, or a task
-- that is no longer in progress, is a LEASE error when a token was passed.
local function finish_check(base, team, id, agent, token, verb)
  if team_missing(base) then return 'NOT_FOUND', {kind = 'team', id = team} end
  local t = tkey(base, id)
  local f = redis.call('HMGET', t, 'status', 'token', 'mode', 'agent', 'cancel_reason', 'flow')
  if not f[1] then return 'NOT_FOUND', {kind = 'task', id = id, team = team} end
  local status, current, mode, holder = f[1], f[2] or '', f[3] or '', f[4] or ''
  if status == 'cancelled' then
    -- the holder learns it here: its next heartbeat need not report it again
    if holder ~= '' and (token == current or agent == holder) then redis.call('SREM', sub(base, 'held:' .. holder), id) end
    return 'CANCELLED', {kind = 'task', id = id, team = team, status = status, op = verb, reason = f[5] or ''}
  end
  if token ~= '' then
    if current ~= token or status ~= 'in_progress' then
      return 'LEASE', {kind = 'task', id = id, team = team, status = status, token = token,
        reason = 'stale fencing token ' .. token .. ' (task is ' .. status .. ', current token ' ..
          (current ~= '' and current or 'none') .. '); the lease was lost'}
    end
  elseif status ~= 'in_progress' then
    return 'TRANSITION', {kind = 'task', id = id, team = team, status = status, op = verb}
  elseif mode == 'claim' then
    return 'LEASE', {kind = 'task', id = id, team = team, holder = holder,
      reason = 'claimed by ' .. holder .. '; pass its fencing token'}
  end
  if agent ~= '' and agent ~= holder then
    return 'LEASE', {kind = 'task', id = id, team = team, holder = holder,
      reason = 'held by ' .. holder .. ', not ' .. agent}
  end
  return nil, {holder = holder, flow = f[6]}
end

-- The start of every script that finishes a task: the first reply of a replayed op id, or
-- finish_check's refusal (as fail builds it); or (nil, what finish_check read of the task) when
-- the caller may go on.
local function finish_begin(base, ops, ops_prev, op_id, team, id, agent, token, verb)
  local replay = task_replay(base, ops, ops_prev, op_id)
  if replay then return replay end
  local code, details = finish_check(base, team, id, agent, token, verb)
  if code then return fail(code, details) end
  return nil, details
end

-- Accept the result of in-progress task `id` (finish_check passed): completed, out of :running and
-- of its holder, into the capped :done history, complete event published, its dependents settled
-- (lib/orchestration_flow.lua). `task` is what finish_check read of it. Returns the holder.
-- The completed history is ordered by a score that only grows (history_score), so with many
-- completions in one millisecond the trim still drops exactly the oldest ones.
local function accept_completion(base, team, id, result, now, keep, window_ms, channel, task)
  local t = tkey(base, id)
  local holder = task.holder
  redis.call('ZREM', sub(base, 'running'), id)
  release_agent(base, holder, id)
  redis.call('HSET', t, 'status', 'completed', 'result', result, 'finished_at', now, 'lease_until', '',
    'completed_by', holder)
  local done = sub(base, 'done')
  redis.call('ZADD', done, history_score(done, now), id)
  redis.call('HINCRBY', base, 'completed_total', 1)
  publish(channel, {key = team, op = 'complete', version = bump(base), task = id, agent = holder,
    status = 'completed'})
  if task.flow == '1' then flow_settle(base, team, id, 'completed', result, now, channel, nil) end
  trim_history(base, done, keep, id, now, window_ms)
  return holder
end
