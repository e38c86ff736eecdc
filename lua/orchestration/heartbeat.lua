-- orchestration/heartbeat: mark an agent alive and extend the leases of the tasks it holds.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id ('' from the facade: nothing is remembered, so heartbeats use no op-id memory)
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] agent id (registered as idle if new)
-- ARGV[5] lease in ms (0 = each task's own lease length)
-- Reply: JSON {tasks = [task id, lease deadline ms, ...]} for the leases now held,
--   cancelled = [task id, reason, ...] for tasks it held that orchestration/cancel ended (each reported once)
-- Mode: write
-- Memory: allowed; keeps the fleet's leases (deadline fields)
-- Retry: safe; idempotent without an op id: extending to now + lease twice is extending once (a
--   later retry extends from a later now, never wrongly). A non-empty op id is still honoured.
--
-- A lease that expired but was not yet handed back is extended too (nobody holds it since);
-- tasks without a lease (assigned without one) stay without.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, agent, lease_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
local a = akey(base, agent)
if redis.call('EXISTS', a) == 0 then
  redis.call('HSET', a, 'id', agent, 'status', 'idle', 'caps', '\n', 'current_task', '', 'meta', '{}',
    'created_at', now)
  redis.call('SADD', sub(base, 'agents'), agent)
end
redis.call('HSET', a, 'heartbeat_at', now)

local held = sub(base, 'held:' .. agent)
local running = sub(base, 'running')
local out = {}
local cancelled = {}
local soonest = nil   -- the earliest new deadline (a shorter lease may bring due_at forward)
for _, id in ipairs(redis.call('SMEMBERS', held)) do
  local f = redis.call('HMGET', tkey(base, id), 'status', 'agent', 'lease_ms', 'cancel_reason')
  if f[1] == 'cancelled' and f[2] == agent then
    cancelled[#cancelled + 1] = id
    cancelled[#cancelled + 1] = f[4] or ''
    redis.call('SREM', held, id)
  elseif f[1] == 'in_progress' and f[2] == agent then
    local ttl = lease_ms
    if ttl <= 0 then ttl = tonumber(f[3] or '0') end
    if ttl > 0 and tonumber(f[3] or '0') > 0 then
      local at = now + ttl
      local deadline = num(at)
      redis.call('ZADD', running, deadline, id)
      if not soonest or at < soonest then soonest = at end
      redis.call('HSET', tkey(base, id), 'lease_until', deadline)
      out[#out + 1] = id
      out[#out + 1] = deadline
    end
  else
    redis.call('SREM', held, id)
  end
end
if soonest then due_lower(base, soonest, false) end

publish(channel, {key = team, op = 'heartbeat', version = bump(base), agent = agent, leases = #out / 2})
local reply = cjson.encode({tasks = out, cancelled = cancelled})
op_remember(ops, ops_prev, op_id, reply)
return reply
