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

local doc, found = agent_find_checkpoint(ARGV[1], ARGV[2])
if not doc then return found end
return doc
