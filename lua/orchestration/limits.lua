-- orchestration/limits: set (or clear) a team's claim limits for the whole team or one capability.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] scope: '' = the whole team, else a capability (the tasks that require it)
-- ARGV[5] max tasks in progress ('' = no such limit)
-- ARGV[6] max claims per second ('' = no such limit)
-- Reply: JSON {capability, max_in_progress, max_per_second, in_progress, last_second, retry_ms}
-- Mode: write
-- Memory: allowed; a few fields; limiting is how an operator sheds load
-- Retry: safe; setting the same limits again changes nothing, and a replayed op id returns the first reply.
--
-- Both values replace the scope's limits: '' for both clears the scope. The team hash's has_limits
-- flag follows whether any limit is left, so claims of a team without limits never read :limits.
-- A new capability concurrency limit counts the tasks of that capability already in progress
-- (one pass over :running). Blocked claimers are woken, so a loosened limit lets them through now.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_limits.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, scope = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local key = sub(base, CTL.limits)
local inflight = sub(base, CTL.inflight .. scope)
local had_in_progress = redis.call('HEXISTS', key, 'in_progress:' .. scope) == 1
for field, value in pairs({['in_progress:' .. scope] = ARGV[5], ['per_second:' .. scope] = ARGV[6]}) do
  if value == '' then redis.call('HDEL', key, field) else redis.call('HSET', key, field, value) end
end
if ARGV[6] == '' then redis.call('DEL', sub(base, CTL.rate .. scope)) end
if scope ~= '' and ARGV[5] == '' then redis.call('DEL', inflight) end
if scope ~= '' and ARGV[5] ~= '' and not had_in_progress then
  redis.call('DEL', inflight)
  for _, id in ipairs(redis.call('ZRANGE', sub(base, 'running'), 0, -1)) do
    local f = redis.call('HMGET', tkey(base, id), 'cap', 'token')
    if f[1] == scope and f[2] then redis.call('ZADD', inflight, f[2], id) end
  end
end
if redis.call('EXISTS', key) == 1 then redis.call('HSET', base, CTL_FIELDS.has_limits, '1')
else redis.call('HDEL', base, CTL_FIELDS.has_limits) end
wake(base, '', WAKE_KEEP)

local row = limits_row(base, limits_read(base) or {}, scope, now_ms())
publish(channel, {key = team, op = 'team_limits', version = bump(base), capability = scope,
  max_in_progress = row.max_in_progress, max_per_second = row.max_per_second})
local out = cjson.encode(row)
op_remember(ops, ops_prev, op_id, out)
return out
