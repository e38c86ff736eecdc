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
-- KEYS[14] checkpoint body key prefix (body of checkpoint <id>: this .. ":" .. <id>, a string)
-- KEYS[15] staging key prefix (a large body SET by the client at this .. ":" .. <op id>, PX)
-- ARGV[1] agent id (for errors)
-- ARGV[2] checkpoint id, or '' for the latest
-- ARGV[3] the largest body returned inline (bytes; -1 = any): a larger one comes back as '', for the client
--   to GET (it sends that GET beside this script when it knows the id, and checks the body's tag)
-- Reply: the checkpoint's parts (agent_parts in lib/agents.lua: {'d', id, doc} for one the previous
--   release stored, {'s', id, server members, tag, body or ''}); NOT_FOUND if there is none
-- Mode: read
-- Retry: safe; reads only.

--@include lib/core.lua
--@include lib/agents.lua

local agent_id, id = ARGV[1], ARGV[2]
if id == '' then
  local found, missing = agent_find_checkpoint(agent_id, '')
  if not found then return missing end
  id = found
end
return agent_parts(id, tonumber(ARGV[3])) or
  fail('NOT_FOUND', {kind = 'checkpoint', id = agent_id .. '/' .. id, agent_id = agent_id})
