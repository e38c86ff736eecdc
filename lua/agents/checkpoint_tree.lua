-- agents/checkpoint_tree: every checkpoint's place in the agent's lineage, newest first, and the line's head.
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
-- Reply: {head ('<born>|<id>' or ''), then per checkpoint: id, step, lineage envelope (cjson of ours:
--   b, p, pa, pb, f; '' for one saved before lineage existed), born seq}
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua

local out = {redis.call('HGET', K.meta, 'head') or ''}
local members = redis.call('ZREVRANGE', K.ckpt_order, 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local id = agent_member_id(members[i])
  out[#out + 1] = id
  out[#out + 1] = members[i + 1]
  out[#out + 1] = redis.call('HGET', K.ckpts, 'l:' .. id) or ''
  out[#out + 1] = tostring(agent_born(id))
end
return out
