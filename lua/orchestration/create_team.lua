-- orchestration/create_team: create a team with its agents and initial pending tasks.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] '1' = an existing team is fine (nothing is changed), '0' = fail with EXISTS
-- ARGV[5] team metadata (opaque JSON)
-- ARGV[6] number of agents A; then A x (agent id, status, '\n'-joined capabilities, current task, metadata JSON)
-- ARGV[..] then task fields, 6 per task (see enqueue.lua)
-- Reply: '1' created, '0' it already existed
-- Mode: write
-- Memory: guarded; creates a team and its tasks
-- Retry: safe; a replayed op id returns the first reply, and an existing team is never overwritten.

--@include lib/core.lua
--@include lib/orchestration.lua
--@include lib/orchestration_enqueue.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team = ARGV[1], ARGV[2], ARGV[3]

local replay = op_replay(ops, ops_prev, op_id)
if replay then return replay end

if not team_missing(base) then
  if ARGV[4] ~= '1' then return fail('EXISTS', {kind = 'team', id = team}) end
  op_remember(ops, ops_prev, op_id, '0')
  return '0'
end

local now = now_ms()
redis.call('HSET', base, 'id', team, 'created_at', now, 'meta', ARGV[5], '#v', 1, 'seq', 0, 'fence', 0,
  'completed_total', 0, 'dead_total', 0)
local n = tonumber(ARGV[6])
local i = 7
for _ = 1, n do
  local agent = ARGV[i]
  redis.call('HSET', akey(base, agent), 'id', agent, 'status', ARGV[i + 1], 'caps', ARGV[i + 2],
    'current_task', ARGV[i + 3], 'meta', ARGV[i + 4], 'created_at', now, 'updated_at', now)
  redis.call('SADD', sub(base, 'agents'), agent)
  i = i + 5
end
local created = enqueue_tasks(base, now, i)

publish(channel, {key = team, op = 'create', version = 1, agents = n, tasks = #created})
op_remember(ops, ops_prev, op_id, '1')
return '1'
