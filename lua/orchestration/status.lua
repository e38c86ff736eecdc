-- orchestration/status: one consistent view of a team's queue (and optionally team and agents).
-- KEYS[1] team hash (base of every team key)
-- ARGV[1] team id
-- ARGV[2] page size: tasks listed per queue
-- ARGV[3] ms without a heartbeat after which an agent that has sent heartbeats is offline
-- ARGV[4] '1' = include the team hash and every agent
-- Reply: JSON {now, paused, counts = {...}, pending, in_progress, retry, completed, dead, delayed,
--   cancelled, waiting = [task views],
--   team = [flat], agents = [flat agent + online]}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, team, page, offline_ms = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if team_missing(base) then return fail('NOT_FOUND', {kind = 'team', id = team}) end

local now = now_ms()
local pend, caps = pending_ids(base, page)
local out = {
  now = now,
  counts = {
    pending = pending_count(base, caps),
    in_progress = redis.call('ZCARD', sub(base, 'running')),
    retry = redis.call('ZCARD', sub(base, 'retry')),
    completed = redis.call('ZCARD', sub(base, 'done')),
    dead = redis.call('ZCARD', sub(base, 'dead')),
    delayed = redis.call('ZCARD', sub(base, CTL.delayed)),
    cancelled = redis.call('ZCARD', sub(base, CTL.cancelled)),
    waiting = redis.call('ZCARD', sub(base, CTL.waiting)),
    cancelled_total = tonumber(redis.call('HGET', base, 'cancelled_total') or '0'),
    completed_total = tonumber(redis.call('HGET', base, 'completed_total') or '0'),
  },
  pending = task_views(base, pend),
  paused = redis.call('HGET', base, CTL_FIELDS.paused) == '1',
}
for _, which in ipairs({'in_progress', 'retry', 'completed', 'dead', 'delayed', 'cancelled', 'waiting'}) do
  out[which] = task_views(base, queue_ids(base, which, 0, page))
end
if ARGV[4] == '1' then
  out.team = redis.call('HGETALL', base)
  local agents = {}
  local ids = redis.call('SMEMBERS', sub(base, 'agents'))
  table.sort(ids)
  for i, id in ipairs(ids) do agents[i] = agent_view(base, id, now, offline_ms) end
  out.agents = agents
end
return cjson.encode(out)
