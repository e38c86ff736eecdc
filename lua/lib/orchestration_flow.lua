-- Task dependencies (flows), pasted into lib/orchestration.lua after its key and queue helpers
-- (sub, tkey, push_pending, add_error, dead_one): to_dead, to_cancelled and accept_completion
-- settle a finished task's dependents here, in the same script as the finish.
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.
--
-- A task enqueued with dependencies keeps them in its hash ('deps', newline-joined ids, and
-- 'on_dep_fail' = 'fail' | 'ignore'). While some are unfinished it is 'waiting': in :waiting
-- (scored like a pending task, so it keeps its place in line), never in a pending zset, so no
-- claim can take it. Edges, all under the team's hash tag (CTL.waiting etc.):
--   :wait:<id>        set: the dependencies of <id> not yet finished (one member per edge, so
--                     settling an edge twice, e.g. after retry_dead of a dependency, counts once)
--   :dependents:<id>  set: the tasks that depend on <id> (kept with <id> for get_flow)
--   :inputs:<id>      hash: dependency id -> its result JSON, copied in when it completed
-- A parent's hash has 'flow' = '1' once a dependent names it: finishing a task without one
-- costs no extra command.

local FLOW_SETTLE_LIMIT = 100000   -- tasks one finish may settle (a cascade through a whole flow)

local function flow_keys(base, id)
  return sub(base, CTL.wait .. id), sub(base, CTL.dependents .. id), sub(base, CTL.inputs .. id)
end

-- Task `id` finished as `outcome` ('completed', 'dead' or 'cancelled'; `result` = its result JSON
-- when completed): each waiting dependent loses that edge. A dependent whose last edge went becomes
-- pending; one whose policy is 'fail' and whose dependency did not complete becomes dead, naming it,
-- and settles its own dependents in turn (iteratively: a cascade has no recursion depth).
-- `limits` = {dead_keep, window_ms} as to_dead's.
local function flow_settle(base, team, id, outcome, result, now, channel, limits)
  local _, first = flow_keys(base, id)
  -- each item: a finished task, how it ended, its result, its dependents (read before any later
  -- dead letter's trim could forget it)
  local work = {{id, outcome, result, redis.call('SMEMBERS', first)}}
  local i = 1
  while work[i] and i <= FLOW_SETTLE_LIMIT do
    local parent, how, res, dependents = work[i][1], work[i][2], work[i][3], work[i][4]
    i = i + 1
    for _, dep in ipairs(dependents) do
      local wait, dep_dependents, inputs = flow_keys(base, dep)
      local t = tkey(base, dep)
      local f = redis.call('HMGET', t, 'status', 'on_dep_fail', 'flow')
      if f[1] == 'waiting' and redis.call('SREM', wait, parent) == 1 then
        if how == 'completed' then redis.call('HSET', inputs, parent, res) end
        if how ~= 'completed' and f[2] ~= 'ignore' then
          local why = 'dependency ' .. parent .. ' ended ' .. how
          redis.call('ZREM', sub(base, CTL.waiting), dep)
          redis.call('DEL', wait)
          add_error(base, dep, why)
          redis.call('HSET', t, 'last_error', why)
          local next_dependents = {}
          if f[3] == '1' then next_dependents = redis.call('SMEMBERS', dep_dependents) end
          dead_one(base, dep, now, limits)
          publish(channel, {key = team, op = 'dependency_failed', version = bump(base), task = dep,
            dependency = parent, status = 'dead'})
          if #next_dependents > 0 then work[#work + 1] = {dep, 'dead', nil, next_dependents} end
        elseif redis.call('SCARD', wait) == 0 then
          redis.call('ZREM', sub(base, CTL.waiting), dep)
          push_pending(base, dep)
          publish(channel, {key = team, op = 'ready', version = bump(base), task = dep, status = 'pending'})
        end
      end
    end
  end
end

-- Settle `id`'s dependents if it has any (its hash says so).
local function flow_finished(base, team, id, outcome, result, now, channel, limits)
  if redis.call('HGET', tkey(base, id), 'flow') == '1' then
    flow_settle(base, team, id, outcome, result, now, channel, limits)
  end
end

-- Where a dependency stands for a new dependent: 'done' (completed: its result JSON second),
-- 'failed' (dead or cancelled), 'open' (not finished), 'gone' (finished and deleted) or 'unknown'.
local function flow_dep_state(base, dep)
  local f = redis.call('HMGET', tkey(base, dep), 'status', 'result')
  if not f[1] then
    if is_gone(base, dep) then return 'gone' end
    return 'unknown'
  end
  if f[1] == 'completed' then return 'done', f[2] or 'null' end
  if f[1] == 'dead' or f[1] == 'cancelled' then return 'failed', f[1] end
  return 'open'
end

-- Wire the new task `id` (created pending, not yet woken for) to its dependencies `deps` (ids; each
-- one's state from flow_dep_state already checked as usable). Returns its status: 'pending' when
-- nothing is left to wait for, 'waiting', or 'dead' (a dependency had already failed, policy 'fail').
local function flow_attach(base, id, cap, deps, policy, now, limits)
  local t = tkey(base, id)
  local wait, _, inputs = flow_keys(base, id)
  redis.call('HSET', t, 'deps', table.concat(deps, '\n'), 'on_dep_fail', policy)
  local failed = nil
  for _, dep in ipairs(deps) do
    local state, detail = flow_dep_state(base, dep)
    local _, parent_dependents = flow_keys(base, dep)
    redis.call('SADD', parent_dependents, id)
    redis.call('HSET', tkey(base, dep), 'flow', '1')
    if state == 'done' then redis.call('HSET', inputs, dep, detail)
    elseif state == 'failed' then
      if policy ~= 'ignore' and not failed then failed = 'dependency ' .. dep .. ' ended ' .. detail end
    else redis.call('SADD', wait, dep) end
  end
  if failed then
    take_pending(base, id, cap)
    redis.call('DEL', wait)
    add_error(base, id, failed)
    redis.call('HSET', t, 'last_error', failed)
    dead_one(base, id, now, limits)
    return 'dead'
  end
  if redis.call('SCARD', wait) == 0 then return 'pending' end
  take_pending(base, id, cap)
  redis.call('HSET', t, 'status', 'waiting')
  redis.call('ZADD', sub(base, CTL.waiting), redis.call('HGET', t, 'score'), id)
  return 'waiting'
end

-- The graph around task `id`: every task linked to it through dependencies either way, at most
-- `limit` of them, breadth first. Each node: {id, status ('gone' = finished and deleted, 'unknown'),
-- deps = [...], dependents = [...]}; `truncated` when the limit cut it short.
local function flow_view(base, id, limit)
  local seen, order, nodes = {[id] = true}, {id}, {}
  local i, truncated = 1, false
  while order[i] do
    local cur = order[i]
    i = i + 1
    local f = redis.call('HMGET', tkey(base, cur), 'status', 'deps')
    local status = f[1]
    if not status then status = is_gone(base, cur) and 'gone' or 'unknown' end
    local deps = {}
    if f[2] and f[2] ~= '' then
      for dep in string.gmatch(f[2], '[^\n]+') do deps[#deps + 1] = dep end
    end
    local _, dependents_key = flow_keys(base, cur)
    local dependents = redis.call('SMEMBERS', dependents_key)
    table.sort(dependents)
    nodes[#nodes + 1] = {id = cur, status = status, deps = deps, dependents = dependents}
    for _, list in ipairs({deps, dependents}) do
      for _, other in ipairs(list) do
        if not seen[other] then
          if #order >= limit then truncated = true else
            seen[other] = true
            order[#order + 1] = other
          end
        end
      end
    end
  end
  return nodes, truncated
end
