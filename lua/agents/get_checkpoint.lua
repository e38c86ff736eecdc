-- agents/get_checkpoint: one checkpoint by id, or the newest ('latest': highest step, then latest server save).
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
-- ARGV[1] agent id (for errors)
-- ARGV[2] checkpoint id, or '' for the latest
-- Reply: the checkpoint JSON document; NOT_FOUND if there is none
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua


local agent_id, id = ARGV[1], ARGV[2]
if id == '' then
  local top = redis.call('ZREVRANGE', K.ckpt_order, 0, 0)
  if #top == 0 then return fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/latest', agent_id = agent_id}) end
  id = member_id(top[1])
end
local doc = redis.call('HGET', K.ckpts, 'd:' .. id)
if not doc then return fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/' .. id, agent_id = agent_id}) end
return doc
