-- agents/fork_source: what a fork copies from a checkpoint, read in one script (step 1 of a fork into another agent).
-- KEYS[1] agent meta hash (v, seq)
-- KEYS[2] ops hash (current generation)
-- KEYS[3] ops of the previous generation (hash)
-- KEYS[4] lease hash
-- KEYS[5] snapshots hash
-- KEYS[6] snapshot order zset
-- KEYS[7] checkpoints hash
-- KEYS[8] checkpoint order zset
-- KEYS[9] approvals stream
-- KEYS[10] standing decisions hash
-- KEYS[11] tool usage hash
-- KEYS[12] workflow state hash
-- KEYS[13] recovery hash
-- KEYS[14] checkpoint body key prefix (body of checkpoint <id>: this .. ":" .. <id>, a string)
-- KEYS[15] staging key prefix (a large body SET by the client at this .. ":" .. <op id>, PX)
-- ARGV[1] agent id (for errors)
-- ARGV[2] checkpoint id, or '' for the latest
-- Reply: {parts (agent_parts in lib/agents.lua, body inline), order member, raw tracking (our envelope), born seq, checkpoint id}; NOT_FOUND if there is none
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua

local id, missing = agent_find_checkpoint(ARGV[1], ARGV[2])
if not id then return missing end
return {agent_parts(id, -1), redis.call('HGET', K.ckpts, 'm:' .. id), redis.call('HGET', K.ckpts, 'x:' .. id),
  tostring(agent_born(id)), id}
