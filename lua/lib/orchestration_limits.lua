-- Claim limits of a team (concurrency and claims per second, team-wide or per capability), shared by
-- orchestration/claim, complete_claim, assign, limits and get_limits (after lib/orchestration.lua).
-- KEYS: the including script's KEYS[1] (the team base key); sub-keys derive from it.
-- The limits live in the :limits hash; the claim path reads it only while the team hash's has_limits
-- is '1', so a team without limits pays nothing. Scope '' is the whole team, any other a capability
-- (the tasks that require it). Everything is decided on the server clock (now_ms: TIME).
--   in_progress:<scope>  at most this many tasks in progress (team: ZCARD :running; a capability:
--                        its :inflight:<cap> zset, whose stale members are dropped when counted)
--   per_second:<scope>   at most this many claims in any window of 1000 ms (:rate:<scope> zset of
--                        the claims' tokens scored by their server ms; a claim drops the older ones)

local LIMIT_WINDOW_MS = 1000
local LIMIT_POLL_MS = 50     -- a claimer held back by a concurrency limit looks again this soon

-- The team's limits as {[field] = number}, or nil when it has none (one HMGET's flag decides).
local function limits_read(base)
  local flat = redis.call('HGETALL', sub(base, CTL.limits))
  if #flat == 0 then return nil end
  local lim = {}
  for i = 1, #flat, 2 do lim[flat[i]] = tonumber(flat[i + 1]) end
  return lim
end

-- Tasks needing `cap` in progress now. With `prune`, members of :inflight:<cap> whose task finished
-- or was claimed again (another token) are dropped. O(members), at most about the limit.
local function inflight_count(base, cap, prune)
  local key = sub(base, CTL.inflight .. cap)
  local rows = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local n = 0
  for i = 1, #rows, 2 do
    local f = redis.call('HMGET', tkey(base, rows[i]), 'status', 'token')
    if f[1] == 'in_progress' and f[2] == rows[i + 1] then n = n + 1
    elseif prune then redis.call('ZREM', key, rows[i]) end
  end
  return n
end

local function in_progress_of(base, scope, prune)
  if scope == '' then return redis.call('ZCARD', sub(base, 'running')) end
  return inflight_count(base, scope, prune)
end

-- Claims of `scope` in the window (now - LIMIT_WINDOW_MS, now], and the score of the oldest (nil: none).
local function recent_claims(base, scope, now)
  local key, since = sub(base, CTL.rate .. scope), '(' .. num(now - LIMIT_WINDOW_MS)
  local head = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return redis.call('ZCOUNT', key, since, '+inf'), tonumber(head[2])
end

-- nil when a claim of `scope` may go now, else the ms to wait before trying again.
local function limit_wait(base, lim, scope, now, prune)
  local wait = nil
  local most = lim['in_progress:' .. scope]
  if most and in_progress_of(base, scope, prune) >= most then wait = LIMIT_POLL_MS end
  local rate = lim['per_second:' .. scope]
  if rate then
    local n, oldest = recent_claims(base, scope, now)
    if n >= rate then wait = math.max(wait or 0, oldest + LIMIT_WINDOW_MS - now) end
  end
  return wait
end

-- Count a claim (or assign) of task `id` needing `cap` with fencing token `token` against the limits.
local function limits_record(base, lim, id, cap, token, now)
  for _, scope in ipairs({'', cap}) do
    if lim['per_second:' .. scope] then
      local key = sub(base, CTL.rate .. scope)
      redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - LIMIT_WINDOW_MS))
      redis.call('ZADD', key, num(now), token)
      redis.call('PEXPIRE', key, 2 * LIMIT_WINDOW_MS)
    end
    if scope ~= '' and lim['in_progress:' .. scope] then redis.call('ZADD', sub(base, CTL.inflight .. scope), token, id) end
    if cap == '' then break end
  end
end

-- One scope as a JSON-able row (reads only): its limits, tasks in progress, claims in the last
-- second, and the ms until a claim of it could pass (0 = now).
local function limits_row(base, lim, scope, now)
  local n = recent_claims(base, scope, now)
  return {capability = scope, max_in_progress = lim['in_progress:' .. scope] or cjson.null,
    max_per_second = lim['per_second:' .. scope] or cjson.null, in_progress = in_progress_of(base, scope, false),
    last_second = n, retry_ms = limit_wait(base, lim, scope, now, false) or 0}
end
