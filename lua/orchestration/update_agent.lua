-- orchestration/update_agent: set fields of one agent of a team (status, capabilities, current task, metadata).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] agent id
-- ARGV[5] '1' = register the agent if new (defaults: idle, no capabilities), '0' = fail with NOT_FOUND
-- ARGV[6..] field, value pairs; fields: status, caps ('\n'-joined), current_task, meta (opaque JSON)
-- Reply: JSON flat agent hash
-- Mode: write
-- Memory: guarded; stores agent fields and metadata
-- Retry: safe; setting the same fields twice leaves the same agent, and a replayed op id returns the first reply.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, agent, create = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
local a = akey(base, agent)
local old_status = redis.call('HGET', a, 'status')
if not old_status then
  if create ~= '1' then return fail('NOT_FOUND', {kind = 'agent', id = agent, team = team}) end
  redis.call('HSET', a, 'id', agent, 'status', 'idle', 'caps', '\n', 'current_task', '', 'meta', '{}',
    'created_at', now)
  redis.call('SADD', sub(base, 'agents'), agent)
end
for i = 6, #ARGV, 2 do redis.call('HSET', a, ARGV[i], ARGV[i + 1]) end
redis.call('HSET', a, 'updated_at', now)
local new_status = redis.call('HGET', a, 'status')

publish(channel, {key = team, op = 'agent', version = bump(base), agent = agent, old = old_status or false,
  new = new_status})
local reply = cjson.encode(redis.call('HGETALL', a))
op_remember(ops, ops_prev, op_id, reply)
return reply
