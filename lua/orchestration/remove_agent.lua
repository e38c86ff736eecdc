-- orchestration/remove_agent: remove an agent from a team (its hash, held set and :agents membership).
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] agent id
-- Reply: '1' removed, '0' no such agent (nothing changed)
-- Mode: write
-- Memory: allowed; deletes an agent
-- Retry: safe; a replayed op id returns the first reply, and a second removal finds no agent ('0').
--
-- Refused (TRANSITION, details task = the task) while the agent holds an in-progress task: complete,
-- fail or release it first (or let its lease run out and reap). Task history naming the agent
-- (completed_by, errors) is left as it is.

--@include lib/core.lua
--@include lib/orchestration.lua

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local a = akey(base, agent)
local old_status = redis.call('HGET', a, 'status')
if not old_status and redis.call('SISMEMBER', sub(base, 'agents'), agent) == 0 then
  op_remember(ops, ops_prev, op_id, '0')
  return '0'
end
local task = held_task(base, agent)
if task then
  return fail('TRANSITION', {kind = 'agent', id = agent, team = team, task = task,
    status = old_status or 'working', op = 'remove'})
end

drop_agent(base, agent)
publish(channel, {key = team, op = 'agent_removed', version = bump(base), agent = agent, old = old_status or false})
op_remember(ops, ops_prev, op_id, '1')
return '1'
