-- Claiming, shared by orchestration/claim and orchestration/complete_claim
-- (needs lib/core.lua, lib/orchestration.lua and lib/orchestration_limits.lua first).
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.

-- The wake-up histogram (team hash fields, read by orchestration/counters): every claim observes how
-- long its task had been claimable, server clock, in ms: now - the task's ready_at (set by push_pending:
-- a retry's or delay's due time, or when it was put back or its dependencies finished), or its
-- enqueued_at when it never left pending (every task has one). Field wake_le_<b> counts observations
-- in (previous b, b], wake_le_inf those above the last; wake_sum_ms their sum. The buckets' total is
-- also the number of claims made here (claims_total = it + assigned_total, which orchestration/assign
-- counts): the claim path pays one read and two HINCRBYs. Mirrored by
-- agentstate_redis/orchestration/counters.py WAKEUP_BUCKETS_MS.
local WAKE_BUCKETS_MS = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000}

-- From this many candidate capabilities on, a claim asks :caps which of them have pending tasks first.
local CAPS_FILTER_FROM = 3

-- Count the claim of task `id` at `now` in the wake-up histogram.
-- `ready_at`, `enqueued_at`: the task's fields (as start_task read them).
local function count_claim(base, now, ready_at, enqueued_at)
  local ms = math.max(0, now - (tonumber(ready_at or '') or tonumber(enqueued_at or '') or now))
  local le = 'inf'
  for _, bound in ipairs(WAKE_BUCKETS_MS) do
    if ms <= bound then le = bound; break end
  end
  redis.call('HINCRBY', base, 'wake_le_' .. le, 1)
  redis.call('HINCRBY', base, 'wake_sum_ms', ms)
end

-- Claim for `agent` the best pending task it can do, at server time `now`.
-- Nothing while the team is paused (the reply's wake list is :wake-resume). Otherwise, once the
-- team's due_at has come, first moves expired leases back to pending and due retries to pending
-- (at most REAP_LIMIT each), and due delayed tasks too when the team has any (has_delayed), then
-- looks at the head of the generic pending zset and of one zset per candidate capability:
-- O(C log n) for C capabilities, never a scan of pending tasks.
-- `mode` 'given' = the capabilities in the list `given`; 'agent' = the agent's registered ones
-- (none registered = any task). `opts` = {lease_ms = lease (> 0), max_stalls = stalls before a
-- dead letter, limits = {dead_keep =, window_ms =}, channel = event channel ('' = none)}.
-- Returns (id, token) of the claimed task, its claim event published; or (nil, {wait_ms = ms until
-- the next lease/retry event (-1 none), wake = [marker lists to BLPOP on]}) when nothing matches.
-- With limits (has_limits): a team-wide limit reached claims nothing; a capability at its limit is
-- skipped. A claim that found nothing while a limit held something back says so (limited = true)
-- and its wait_ms is at most the time until that limit may let a claim through.
local function claim_next(base, team, agent, mode, given, now, opts)
  local channel = opts.channel
  local gate = redis.call('HMGET', base, CTL_FIELDS.paused, CTL_FIELDS.has_delayed, CTL_FIELDS.has_limits,
    CTL_FIELDS.due_at)
  if gate[1] == '1' then
    if redis.call('EXISTS', akey(base, agent)) == 1 then redis.call('HSET', akey(base, agent), 'heartbeat_at', now) end
    return nil, {wait_ms = -1, wake = {sub(base, CTL.wake_resume)}, paused = true}
  end
  local due = tonumber(gate[4] or '')
  if not due or now >= due then
    local stalled = reap_expired(base, team, now, opts.max_stalls, channel, opts.limits)
    if stalled > 0 then redis.call('HINCRBY', base, 'stalls_total', stalled) end
    promote_due(base, team, now, channel)
    due = due_reset(base, now)
  end
  if gate[2] == '1' then promote_delayed(base, team, now, channel) end
  local lim = nil
  if gate[3] == '1' then lim = limits_read(base) end
  local held_ms = nil     -- the soonest a limit that held a task back may let one through
  local function held(ms) if ms and (not held_ms or ms < held_ms) then held_ms = ms end return ms end

  local caps = {}
  local any = false
  local known = false   -- the agent's hash was read: it exists
  local given_text = '\n'
  if mode == 'given' then
    for _, cap in ipairs(given) do caps[#caps + 1] = cap; given_text = given_text .. cap .. '\n' end
  else
    local stored = redis.call('HGET', akey(base, agent), 'caps')
    known = stored ~= false   -- every agent hash has caps
    for cap in string.gmatch(stored or '\n', '[^\n]+') do caps[#caps + 1] = cap end
    any = #caps == 0
  end
  if any then caps = redis.call('SMEMBERS', sub(base, 'caps')) end

  local best_id, best_score, best_cap = nil, nil, nil
  local function consider(cap)
    local head = redis.call('ZRANGE', pkey(base, cap), 0, 0, 'WITHSCORES')
    if head[1] and lim and cap ~= '' and held(limit_wait(base, lim, cap, now, true)) then head = {} end
    if head[1] then
      local score = tonumber(head[2])
      if not best_score or score < best_score then best_id, best_score, best_cap = head[1], score, cap end
    end
  end
  if not (lim and held(limit_wait(base, lim, '', now, true))) then
    consider('')
    if #caps >= CAPS_FILTER_FROM and not any then
      -- one SMISMEMBER against :caps (every capability with pending tasks is in it) instead of one
      -- ZRANGE per capability: an agent with 50 capabilities reads only the queues that hold tasks
      for first = 1, #caps, 500 do   -- chunks keep unpack() under Lua's stack limit
        local last = math.min(first + 499, #caps)
        local has = redis.call('SMISMEMBER', sub(base, 'caps'), unpack(caps, first, last))
        for i = first, last do
          if has[i - first + 1] == 1 then consider(caps[i]) end
        end
      end
    else
      for _, cap in ipairs(caps) do consider(cap) end
    end
  end

  if not best_id then
    -- a waiting worker is alive: its claims count as heartbeats (no event for an empty claim)
    if redis.call('EXISTS', akey(base, agent)) == 1 then redis.call('HSET', akey(base, agent), 'heartbeat_at', now) end
    local wake = {sub(base, 'wake')}
    if any then
      wake[2] = sub(base, 'wake-any')
    else
      for _, cap in ipairs(caps) do wake[#wake + 1] = sub(base, 'wake:' .. cap) end
    end
    local wait_ms = next_event_ms(base, now)
    if held_ms and (wait_ms < 0 or held_ms < wait_ms) then wait_ms = held_ms end
    return nil, {wait_ms = wait_ms, wake = wake, limited = held_ms ~= nil}
  end

  take_pending(base, best_id, best_cap)
  local new_caps = nil
  if mode == 'given' then new_caps = given_text end
  hold(base, agent, best_id, new_caps, now, true, known)
  local token, ready_at, enqueued_at = start_task(base, best_id, agent, opts.lease_ms, 'claim', now, due)
  count_claim(base, now, ready_at, enqueued_at)
  if lim then limits_record(base, lim, best_id, best_cap, token, now) end
  publish(channel, {key = team, op = 'claim', version = bump(base), task = best_id, agent = agent, token = token,
    status = 'in_progress'})
  return best_id, token
end
