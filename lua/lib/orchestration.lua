-- The team task queue, pasted in by `--@include lib/orchestration.lua` (after lib/core.lua).
--
-- Every key lives under the team's hash tag; scripts get the team's base key
-- (`prefix{team:<id>}`) as KEYS[1] and name sub-keys `base .. ':' .. suffix`,
-- exactly as keys.EntityKeys does:
--   base                 team hash: id, created_at, meta, #v (version), seq, fence (last token, next_fence),
--                        completed_total, dead_total
--                        assigned_total, failures_total, stalls_total, wake_le_<ms>, wake_sum_ms (counted by the
--                        assign, fail, reap and claim scripts; see lib/orchestration_claim.lua count_claim)
--   :agents              set of agent ids;  :agent:<id>  agent hash
--   :held:<agent>        set of task ids the agent holds
--   :pending             pending tasks with no required capability (zset)
--   :pending:<cap>       pending tasks that need <cap> (zset); :caps lists non-empty ones
--   :running             in-progress tasks scored by lease deadline (ms, '+inf' = no lease)
--   :retry               failed tasks scored by the time their retry is due
--   :dead                dead letters (capped at the manager's dead_retention)
--   :done                completed tasks (capped at the manager's completed_retention)
--   :gone                tombstones: ids of finished tasks whose hash was deleted (trimmed from
--                        :done or :dead, or purged), scored by the server time (ms) they went;
--                        kept for the dedupe window (ARGV of the script, default 24 h) and at
--                        most GONE_KEEP, so enqueue does not run a finished id again
--   :task:<id>           task hash;  :errors:<id>  list of error strings (capped)
--   :wake, :wake:<cap>, :wake-any   marker lists a blocked claimer BLPOPs on (at most
--                        WAKE_KEEP markers, gone WAKE_TTL_MS after the push that created the list)
-- Task control (delayed tasks, cancels, team pause): its sub-keys and team-hash fields are named
-- here only, in CTL and CTL_FIELDS (mirrored by agentstate_redis/orchestration/layout.py):
--   :delayed             tasks not claimable before their run_at, scored by it (ms, server clock)
--   :cancelled           cancelled tasks (history zset like :done, capped at completed_retention)
--   :wake-resume         marker list claimers BLPOP on while the team is paused (resume pushes)
--   :logs:<id>           a task's log lines (list, the newest max_task_log_lines kept; deleted with the task)
--   :limits              hash of the team's claim limits (lib/orchestration_limits.lua): fields
--                        'in_progress:<cap>' and 'per_second:<cap>' ('' cap = the whole team)
--   :rate:<cap>          claims of the last second of a per_second limit (zset: token -> server ms)
--   :inflight:<cap>      in-progress tasks needing <cap> while <cap> has a concurrency limit
--                        (zset: id -> token; a member whose task moved on is dropped when counted)
--   :waiting             tasks waiting for their dependencies (zset scored like pending; see
--                        lib/orchestration_flow.lua for :wait:<id>, :dependents:<id>, :inputs:<id>)
--   field paused         '1' while the team is paused: claims return nothing
--   field has_limits     '1' while :limits holds a limit: only then does a claim read it
--   field has_delayed    '1' once a task was delayed: only then does a claim look at :delayed
--                        (the claim that finds :delayed empty clears it); cancelled_total counts
--   field due_at         no lease expires and no retry falls due before this server ms (a lower
--                        bound; absent = unknown): a claim reaps and promotes only once it has
--                        come, then sets it again (at most DUE_RECHECK_MS ahead); see due_lower
-- A pending score is (1000 - priority) * 2^40 + seq: higher priority first, FIFO within one.
-- :done and :dead scores only grow (history_score): the server time in ms, or one more than
-- the newest when several land in one millisecond, so trimming the oldest is exact.
-- :agents holds every agent that joined the team (registered, claimed, assigned or sent a
-- heartbeat) until orchestration/remove_agent or orchestration/prune_agents drops it: without
-- them it grows with every pod hostname ever seen, so a fleet's coordinator prunes silent ones.
-- An agent is indexed by :agents, :agent:<id> (status, caps, current task: the availability and
-- capability filters read these fields) and :held:<id>; nothing else names it.

local SEQ_SPAN = 1099511627776
local PRIO_OFFSET = 1000
local REAP_LIMIT = 100
local WAKE_KEEP = 256
local WAKE_TTL_MS = 60000       -- a marker older than any blocked claim (5 s at most) only wakes in vain
local ERRORS_KEEP = 50
local GONE_KEEP = 100000        -- tombstones per team, whatever the dedupe window
local DUE_RECHECK_MS = 1000     -- due_at is never set further ahead: a lease or retry written by a
                                -- script that does not lower it (an older release) waits at most this

local CTL = {delayed = 'delayed', cancelled = 'cancelled', wake_resume = 'wake-resume', logs = 'logs:',
  limits = 'limits', rate = 'rate:', inflight = 'inflight:', waiting = 'waiting', wait = 'wait:',
  dependents = 'dependents:', inputs = 'inputs:'}
local CTL_FIELDS = {paused = 'paused', has_delayed = 'has_delayed', has_limits = 'has_limits', due_at = 'due_at'}

local function num(x) return string.format('%.0f', x) end
local function sub(base, suffix) return base .. ':' .. suffix end
local function tkey(base, id) return base .. ':task:' .. id end
local function akey(base, id) return base .. ':agent:' .. id end
local function pkey(base, cap)
  if cap == '' then return base .. ':pending' end
  return base .. ':pending:' .. cap
end

local function bump(base) return redis.call('HINCRBY', base, '#v', 1) end

local function has_cap(caps, cap)
  return cap == '' or string.find(caps, '\n' .. cap .. '\n', 1, true) ~= nil
end

local function wake(base, cap, n)
  local keys
  if cap == '' then keys = {sub(base, 'wake')} else keys = {sub(base, 'wake:' .. cap), sub(base, 'wake-any')} end
  local pushed = math.min(n, WAKE_KEEP)
  for _, key in ipairs(keys) do
    local len = 0
    for _ = 1, pushed do len = redis.call('LPUSH', key, '1') end
    if len > WAKE_KEEP then redis.call('LTRIM', key, 0, WAKE_KEEP - 1) end
    -- a list that held markers already has its expiry (only this function creates these lists)
    if len <= pushed then redis.call('PEXPIRE', key, WAKE_TTL_MS) end
  end
end

-- A score for a new member of a history zset (:done, :dead) above every score in it: `now`, or
-- the newest score + 1 when it is not older (same millisecond, or the clock stepped back).
local function history_score(key, now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] and tonumber(top[2]) >= now then return num(tonumber(top[2]) + 1) end
  return num(now)
end

-- Drop tombstones older than the dedupe window (ms). Only forget_tasks adds tombstones; it also keeps
-- at most GONE_KEEP (oldest dropped first).
local function trim_gone(base, now, window_ms)
  redis.call('ZREMRANGEBYSCORE', sub(base, 'gone'), '-inf', '(' .. num(now - window_ms))
end

-- Delete finished tasks (hash and error list) and leave a tombstone for each.
local function forget_tasks(base, ids, now, window_ms)
  if #ids == 0 then return end
  local gone = sub(base, 'gone')
  for _, id in ipairs(ids) do
    redis.call('DEL', tkey(base, id), sub(base, 'errors:' .. id), sub(base, CTL.logs .. id),
      sub(base, CTL.wait .. id), sub(base, CTL.dependents .. id), sub(base, CTL.inputs .. id))
    redis.call('ZADD', gone, num(now), id)
  end
  trim_gone(base, now, window_ms)
  redis.call('ZREMRANGEBYRANK', gone, 0, -(GONE_KEEP + 1))
end

-- Keep the newest `keep` members of a history zset; the older ones are forgotten. `newest`
-- (the id just added) is never dropped.
local function trim_history(base, key, keep, newest, now, window_ms)
  local excess = redis.call('ZCARD', key) - keep
  if excess <= 0 then return end
  local old = redis.call('ZRANGE', key, 0, excess - 1)
  local drop = {}
  for _, id in ipairs(old) do
    if id ~= newest then
      redis.call('ZREM', key, id)
      drop[#drop + 1] = id
    end
  end
  forget_tasks(base, drop, now, window_ms)
end

-- Was task `id` finished and forgotten within the dedupe window (already trimmed by trim_gone)?
local function is_gone(base, id)
  return redis.call('ZSCORE', sub(base, 'gone'), id) ~= false
end

-- Put a task (whose hash exists) into its pending zset, keeping its place in line.
local function push_pending(base, id)
  local t = tkey(base, id)
  local f = redis.call('HMGET', t, 'cap', 'score')
  local cap = f[1] or ''
  redis.call('ZADD', pkey(base, cap), f[2], id)
  if cap ~= '' then redis.call('SADD', sub(base, 'caps'), cap) end
  -- ready_at: since when it is claimable (a past retry or delay due time, else now), for the wake-up histogram
  local now, due = now_ms(), tonumber(redis.call('HGET', t, 'next_run_at') or '')
  redis.call('HSET', t, 'ready_at', num((due and due < now) and due or now))
  redis.call('HSET', t, 'status', 'pending', 'agent', '', 'lease_until', '', 'next_run_at', '')
  wake(base, cap, 1)
end

local function take_pending(base, id, cap)
  local key = pkey(base, cap)
  redis.call('ZREM', key, id)
  if cap ~= '' and redis.call('ZCARD', key) == 0 then redis.call('SREM', sub(base, 'caps'), cap) end
end

local function add_error(base, id, text)
  local key = sub(base, 'errors:' .. id)
  redis.call('RPUSH', key, text)
  redis.call('LTRIM', key, -ERRORS_KEEP, -1)
end

-- Make task `id` (already out of its queue) a dead letter; older dead letters are forgotten.
-- `limits` = {dead_keep = dead letters kept, window_ms = dedupe window}. to_dead also settles its
-- dependents; dead_one is the step alone (what lib/orchestration_flow.lua uses inside a cascade).
local function dead_one(base, id, now, limits)
  redis.call('HSET', tkey(base, id), 'status', 'dead', 'finished_at', now, 'agent', '', 'lease_until', '',
    'next_run_at', '')
  local dead = sub(base, 'dead')
  redis.call('ZADD', dead, history_score(dead, now), id)
  redis.call('HINCRBY', base, 'dead_total', 1)
  trim_history(base, dead, limits.dead_keep, id, now, limits.window_ms)
end

--@include lib/orchestration_flow.lua

local function to_dead(base, team, id, now, limits, channel)
  dead_one(base, id, now, limits)
  flow_finished(base, team, id, 'dead', nil, now, channel, limits)
end

-- The task no longer occupies `agent`: drop it from the agent's held set and current task.
local function release_agent(base, agent, id)
  if agent == '' then return end
  local held = sub(base, 'held:' .. agent)
  redis.call('SREM', held, id)
  local a = akey(base, agent)
  local f = redis.call('HMGET', a, 'current_task', 'status')
  if f[1] == id then
    local others = redis.call('SRANDMEMBER', held)
    if not others and f[2] == 'working' then
      redis.call('HSET', a, 'current_task', '', 'status', 'idle')
    else
      redis.call('HSET', a, 'current_task', others or '')
    end
  end
end

-- Make `agent` hold task `id` (registering the agent if needed; `known` = the caller read its hash).
local function hold(base, agent, id, caps, now, seen, known)
  local a = akey(base, agent)
  if not known and redis.call('EXISTS', a) == 0 then
    redis.call('HSET', a, 'id', agent, 'caps', caps or '\n', 'meta', '{}', 'created_at', now)
    redis.call('SADD', sub(base, 'agents'), agent)
  end
  if seen then
    redis.call('HSET', a, 'status', 'working', 'current_task', id, 'updated_at', now, 'heartbeat_at', now)
  else
    redis.call('HSET', a, 'status', 'working', 'current_task', id, 'updated_at', now)
  end
  redis.call('SADD', sub(base, 'held:' .. agent), id)
end

-- A lease deadline or retry time `at` (server ms) was just written: the team's due_at comes down to
-- it if it is later. `known` is due_at as the caller read it (a number, or nil = absent); pass
-- false to have it read here. An absent due_at stays absent: the next claim works it out.
local function due_lower(base, at, known)
  if known == false then known = tonumber(redis.call('HGET', base, CTL_FIELDS.due_at) or '') end
  if known and at < known then redis.call('HSET', base, CTL_FIELDS.due_at, num(at)) end
end

-- The soonest finite score (server ms) at the heads of the team's zsets named in `names`; nil: none.
local function soonest_due(base, names)
  local best = nil
  for _, name in ipairs(names) do
    local head = redis.call('ZRANGE', sub(base, name), 0, 0, 'WITHSCORES')
    if head[2] and head[2] ~= 'inf' then
      local at = tonumber(head[2])
      if not best or at < best then best = at end
    end
  end
  return best
end

-- due_at from the heads of :running and :retry, at most DUE_RECHECK_MS after `now`; stored and returned.
local function due_reset(base, now)
  local due = now + DUE_RECHECK_MS
  local at = soonest_due(base, {'running', 'retry'})
  if at and at < due then due = at end
  redis.call('HSET', base, CTL_FIELDS.due_at, num(due))
  return due
end

-- Give the task a lease (ttl_ms 0 = none) and a fresh fencing token. `due` is the team's due_at as
-- the caller read it (see due_lower; false = not read). Returns the token (a string) and the
-- task's ready_at and enqueued_at (for count_claim).
local function start_task(base, id, agent, ttl_ms, mode, now, due)
  local t = tkey(base, id)
  local token = next_fence(base, 'fence')
  local deadline = '+inf'
  local until_ms = ''
  if ttl_ms > 0 then deadline = num(now + ttl_ms); until_ms = deadline end
  local f = redis.call('HMGET', t, 'attempts', 'ready_at', 'enqueued_at')
  redis.call('HSET', t, 'attempts', (tonumber(f[1] or '') or 0) + 1, 'status', 'in_progress', 'agent', agent,
    'token', token, 'mode', mode, 'lease_ms', ttl_ms, 'lease_until', until_ms, 'started_at', now, 'next_run_at', '')
  redis.call('ZADD', sub(base, 'running'), deadline, id)
  if ttl_ms > 0 then due_lower(base, now + ttl_ms, due) end
  return token, f[2], f[3]
end

-- Expired leases go back to pending (or to the dead letters after max_stalls); bounded.
local function reap_expired(base, team, now, max_stalls, channel, limits)
  local running = sub(base, 'running')
  local ids = redis.call('ZRANGEBYSCORE', running, '-inf', num(now), 'LIMIT', 0, REAP_LIMIT)
  for _, id in ipairs(ids) do
    local t = tkey(base, id)
    redis.call('ZREM', running, id)
    local agent = redis.call('HGET', t, 'agent') or ''
    release_agent(base, agent, id)
    local stalls = redis.call('HINCRBY', t, 'stalls', 1)
    local status = 'pending'
    if stalls > max_stalls then
      add_error(base, id, 'lease expired ' .. stalls .. ' times (held by ' .. agent .. '); stalled too often')
      redis.call('HSET', t, 'last_error', 'stalled')
      to_dead(base, team, id, now, limits, channel)
      status = 'dead'
    else
      push_pending(base, id)
    end
    publish(channel, {key = team, op = 'stalled', version = bump(base), task = id, agent = agent,
      status = status, stalls = stalls})
  end
  return #ids
end

-- The tasks of zset `key` (scored by due time) whose time has come become pending, each with an
-- event `op`; bounded. Returns how many.
local function promote_from(base, team, key, op, now, channel)
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', num(now), 'LIMIT', 0, REAP_LIMIT)
  for _, id in ipairs(ids) do
    redis.call('ZREM', key, id)
    push_pending(base, id)
    publish(channel, {key = team, op = op, version = bump(base), task = id, status = 'pending'})
  end
  return #ids
end

-- Retries whose time has come become pending again; bounded.
local function promote_due(base, team, now, channel)
  return promote_from(base, team, sub(base, 'retry'), 'retry_due', now, channel)
end

-- Delayed tasks whose run_at has come become pending; bounded. Clears has_delayed once :delayed is empty.
local function promote_delayed(base, team, now, channel)
  local delayed = sub(base, CTL.delayed)
  local promoted = promote_from(base, team, delayed, 'delayed_due', now, channel)
  if redis.call('ZCARD', delayed) == 0 then redis.call('HDEL', base, CTL_FIELDS.has_delayed) end
  return promoted
end

-- Make task `id` (already out of its queue) cancelled: into the capped :cancelled history; its
-- dependents are settled. `limits` = {keep = cancelled tasks kept, window_ms = dedupe window,
-- dead_keep = dead letters kept (dependents that fail)}.
local function to_cancelled(base, team, id, now, reason, limits, channel)
  redis.call('HSET', tkey(base, id), 'status', 'cancelled', 'finished_at', now, 'cancel_reason', reason,
    'lease_until', '', 'next_run_at', '')
  local cancelled = sub(base, CTL.cancelled)
  redis.call('ZADD', cancelled, history_score(cancelled, now), id)
  redis.call('HINCRBY', base, 'cancelled_total', 1)
  flow_finished(base, team, id, 'cancelled', nil, now, channel, limits)
  trim_history(base, cancelled, limits.keep, id, now, limits.window_ms)
end

-- Milliseconds until the next lease deadline, retry or delayed due time (-1: none).
local function next_event_ms(base, now)
  local at = soonest_due(base, {'running', 'retry', CTL.delayed})
  if not at then return -1 end
  return math.max(0, at - now)
end

-- The stored task as {flat hash, error list}; the flat hash names the id (new tasks do not store it: it is in
-- the key), and is empty when the task does not exist.
local function task_view(base, id)
  local flat = redis.call('HGETALL', tkey(base, id))
  if #flat == 0 then return {flat, {}} end
  local failed = false   -- every add_error comes with last_error: without it there is no error list
  for i = 1, #flat, 2 do
    if flat[i] == 'last_error' then failed = true; break end
  end
  flat[#flat + 1] = 'id'
  flat[#flat + 1] = id
  if not failed then return {flat, {}} end
  return {flat, redis.call('LRANGE', sub(base, 'errors:' .. id), 0, -1)}
end

-- Replies that carry a task are remembered as task_memo(id, token) = '@<id>\n<token or empty>'
-- (not the whole task, which may be megabytes); a replayed op id gets the task as it is now, with
-- the fencing token that op was given. The token is what follows the LAST newline, so any id
-- parses back whole. A task trimmed from the history shows as completed.
local function task_memo(id, token)
  return '@' .. id .. '\n' .. (token and tostring(token) or '')
end
-- The completed dependencies' results of a task whose flat hash is `flat` (nil: it has no dependencies).
local function task_inputs(base, id, flat)
  for i = 1, #flat, 2 do
    if flat[i] == 'deps' then return redis.call('HGETALL', sub(base, CTL.inputs .. id)) end
  end
  return nil
end

local function task_reply(base, id, token)
  local view = task_view(base, id)
  if #view[1] == 0 then view[1] = {'id', id, 'status', 'completed'} end
  if token then
    local flat, found = view[1], false
    for i = 1, #flat, 2 do
      if flat[i] == 'token' then
        flat[i + 1] = token
        found = true
      end
    end
    if not found then
      flat[#flat + 1] = 'token'
      flat[#flat + 1] = token
    end
  end
  return cjson.encode({task = view[1], errors = view[2], inputs = task_inputs(base, id, view[1])})
end

local function task_replay(base, ops, ops_prev, op_id)
  local r = op_replay(ops, ops_prev, op_id)
  if r and string.sub(r, 1, 1) == '@' then
    local id, token = string.match(r, '^@(.*)\n(%d*)$')   -- greedy: splits at the last newline
    if not id then return task_reply(base, string.sub(r, 2), nil) end   -- '@<id>' of older versions
    if token == '' then token = nil end
    return task_reply(base, id, token)
  end
  return r
end

local function team_missing(base)
  return redis.call('EXISTS', base) == 0
end

-- The start of a team write: the first reply of a replayed op id, NOT_FOUND when the team does not
-- exist (as fail builds it), or nil to go on: `local stop = team_begin(base, ops, ops_prev, op_id, team)`.
local function team_begin(base, ops, ops_prev, op_id, team)
  local replay = op_replay(ops, ops_prev, op_id)
  if replay then return replay end
  if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end
  return nil
end

-- Ids of the first `n` pending tasks in claim order, across every pending zset.
local function pending_ids(base, n)
  local rows = {}
  local caps = redis.call('SMEMBERS', sub(base, 'caps'))
  table.insert(caps, 1, '')
  if n <= 0 then return {}, caps end
  for _, cap in ipairs(caps) do
    local got = redis.call('ZRANGE', pkey(base, cap), 0, n - 1, 'WITHSCORES')
    for i = 1, #got, 2 do rows[#rows + 1] = {got[i], tonumber(got[i + 1])} end
  end
  table.sort(rows, function(x, y) return x[2] < y[2] end)
  local ids = {}
  for i = 1, math.min(n, #rows) do ids[i] = rows[i][1] end
  return ids, caps
end

local function pending_count(base, caps)
  local total = 0
  for _, cap in ipairs(caps) do total = total + redis.call('ZCARD', pkey(base, cap)) end
  return total
end

-- Ids of a queue in display order: 'pending', 'waiting' (claim order), 'in_progress', 'retry', 'delayed' (soonest first),
-- 'completed', 'dead', 'cancelled' (newest first), from `offset`, at most `limit`.
local function queue_ids(base, which, offset, limit)
  if limit <= 0 then return {} end
  if which == 'pending' then
    local ids = pending_ids(base, offset + limit)
    local out = {}
    for i = offset + 1, #ids do out[#out + 1] = ids[i] end
    return out
  end
  local key, rev = nil, false
  if which == 'in_progress' then key = 'running'
  elseif which == 'retry' then key = 'retry'
  elseif which == 'delayed' then key = CTL.delayed
  elseif which == 'waiting' then key = CTL.waiting
  elseif which == 'completed' then key = 'done'; rev = true
  elseif which == 'cancelled' then key = CTL.cancelled; rev = true
  else key = 'dead'; rev = true end
  if rev then return redis.call('ZREVRANGE', sub(base, key), offset, offset + limit - 1) end
  return redis.call('ZRANGE', sub(base, key), offset, offset + limit - 1)
end

local function task_views(base, ids)
  local out = {}
  for i, id in ipairs(ids) do out[i] = task_view(base, id) end
  return out
end

-- An agent's stored hash plus 'online' ('1', or '0' when its heartbeats stopped for offline_ms).
local function agent_view(base, id, now, offline_ms)
  local flat = redis.call('HGETALL', akey(base, id))
  local hb = tonumber(redis.call('HGET', akey(base, id), 'heartbeat_at') or '')
  local online = '1'
  if hb and now - hb > offline_ms then online = '0' end
  flat[#flat + 1] = 'online'
  flat[#flat + 1] = online
  return flat, online == '1'
end

-- The first task `agent` holds in progress (nil: none). Stale members of :held:<agent> (tasks
-- finished or handed to someone else) do not count.
local function held_task(base, agent)
  local ids = redis.call('SMEMBERS', sub(base, 'held:' .. agent))
  table.sort(ids)
  for _, id in ipairs(ids) do
    local f = redis.call('HMGET', tkey(base, id), 'status', 'agent')
    if f[1] == 'in_progress' and f[2] == agent then return id end
  end
  return nil
end

-- The server time (ms) an agent was last heard of: its newest heartbeat, update or creation (0: never).
local function agent_last_seen(base, agent)
  local f = redis.call('HMGET', akey(base, agent), 'heartbeat_at', 'updated_at', 'created_at')
  local seen = 0
  for i = 1, 3 do seen = math.max(seen, tonumber(f[i] or '') or 0) end
  return seen
end

-- Forget `agent`: its hash, its held set, its membership of :agents. True if it was a member.
local function drop_agent(base, agent)
  redis.call('DEL', akey(base, agent), sub(base, 'held:' .. agent))
  return redis.call('SREM', sub(base, 'agents'), agent) == 1
end
