-- orchestration/prune_agents: remove the agents silent for longer than a given time that hold no task.
-- KEYS[1] team hash (base of every team key)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- ARGV[1] op id
-- ARGV[2] event channel ('' = no event)
-- ARGV[3] team id
-- ARGV[4] ms: an agent last heard of (heartbeat, update or creation, server clock) longer ago is removed
-- ARGV[5] SSCAN cursor of :agents ('0' to start)
-- Reply: JSON {cursor = next SSCAN cursor ('0': the scan is complete), removed = [agent ids, sorted]}
-- Mode: write
-- Memory: allowed; deletes agents
-- Retry: safe; a replayed op id returns the first reply; any other repeat finds the removed agents gone.
--
-- Bounded work: one call examines one SSCAN COUNT PRUNE_SCAN (500) step of :agents (Redis may hand
-- back a few more from one hash bucket; a small set comes back whole); the caller loops on the cursor.
-- An agent holding an in-progress task is kept, however silent (its lease decides, then reap).

--@include lib/core.lua
--@include lib/orchestration.lua

local PRUNE_SCAN = 500

local base, ops, ops_prev = KEYS[1], KEYS[2], KEYS[3]
local op_id, channel, team, offline_ms, cursor = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5]

local stop = team_begin(base, ops, ops_prev, op_id, team)
if stop then return stop end

local now = now_ms()
local scan = redis.call('SSCAN', sub(base, 'agents'), cursor, 'COUNT', PRUNE_SCAN)
local removed = {}
for _, agent in ipairs(scan[2]) do
  if now - agent_last_seen(base, agent) > offline_ms and not held_task(base, agent) then
    if drop_agent(base, agent) then removed[#removed + 1] = agent end
  end
end
table.sort(removed)

if #removed > 0 then
  publish(channel, {key = team, op = 'agents_pruned', version = bump(base), agents = removed})
end
local reply = cjson.encode({cursor = scan[1], removed = removed})
op_remember(ops, ops_prev, op_id, reply)
return reply
