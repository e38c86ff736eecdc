-- agents/list_checkpoints: checkpoints, newest first (highest step, then latest server save).
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
-- ARGV[1] how many (0 = all)
-- Reply: array of checkpoints' parts (agent_parts in lib/agents.lua, bodies inline)
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua


local limit = tonumber(ARGV[1])
local members = redis.call('ZREVRANGE', K.ckpt_order, 0, limit > 0 and limit - 1 or -1)
local out = {}
for i = 1, #members do out[i] = agent_parts(agent_member_id(members[i]), -1) end
return out
